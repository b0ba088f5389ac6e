// Inspects a program before it runs: an ELF file without PT_INTERP has no dynamic
// loader to honour LD_PRELOAD; setuid/setgid and file capabilities make the loader
// run in secure mode, which ignores it (ld.so(8)).
#include "shim/program_check.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

namespace socksify::shim {
namespace {

// close() by number: the library hooks close(), and this file is shared with it.
void close_fd(int fd) { (void)syscall(SYS_close, fd); }

// True/false for an ELF file; has_interp says whether it asks for a dynamic loader.
template <typename Ehdr, typename Phdr>
bool scan_elf(int fd, bool& has_interp) {
    Ehdr eh;
    if (pread(fd, &eh, sizeof eh, 0) != static_cast<ssize_t>(sizeof eh)) return false;
    has_interp = false;
    for (unsigned i = 0; i < eh.e_phnum && i < 512; ++i) {
        Phdr ph;
        off_t at = static_cast<off_t>(eh.e_phoff + static_cast<uint64_t>(i) * eh.e_phentsize);
        if (pread(fd, &ph, sizeof ph, at) != static_cast<ssize_t>(sizeof ph)) return false;
        if (ph.p_type == PT_INTERP) has_interp = true;
    }
    return true;
}

// The interpreter of a "#!" script into out, or false when fd is not one.
bool script_interpreter(int fd, char (&out)[256]) {
    char line[256] = {};
    ssize_t n = pread(fd, line, sizeof line - 1, 0);
    if (n < 3 || line[0] != '#' || line[1] != '!') return false;
    const char* p = line + 2;
    while (*p == ' ' || *p == '\t') ++p;
    size_t len = 0;
    while (p[len] != '\0' && p[len] != ' ' && p[len] != '\t' && p[len] != '\n') ++len;
    if (len == 0) return false;
    std::memcpy(out, p, len);
    out[len] = '\0';
    return true;
}

// The kernel follows at most this many "#!" interpreters (BINPRM_MAX_RECURSION).
constexpr int kMaxInterpreters = 4;

// A script's reason names its interpreter: "program 'x.sh' is run by a setuid
// interpreter", not "is setuid".
const char* via_interpreter(const char* reason) {
    if (reason == nullptr) return nullptr;
    if (std::strcmp(reason, "statically linked") == 0)
        return "run by a statically linked interpreter";
    if (std::strcmp(reason, "setuid") == 0) return "run by a setuid interpreter";
    if (std::strcmp(reason, "setgid") == 0) return "run by a setgid interpreter";
    if (std::strcmp(reason, "has file capabilities") == 0)
        return "run by an interpreter with file capabilities";
    return reason;  // already an interpreter's, further down the chain
}

const char* check(const char* path, int depth) {
    struct stat st {};
    // Only a regular file can be run; anything else (a directory, a FIFO that open()
    // would block on) is exec's to refuse.
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return nullptr;
    if (st.st_mode & S_ISUID) return "setuid";
    if (st.st_mode & S_ISGID) return "setgid";
    if (getxattr(path, "security.capability", nullptr, 0) > 0) return "has file capabilities";
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return nullptr;
    unsigned char ident[EI_NIDENT] = {};
    const char* reason = nullptr;
    char interp[256];
    if (pread(fd, ident, sizeof ident, 0) == EI_NIDENT && memcmp(ident, ELFMAG, SELFMAG) == 0) {
        bool has_interp = true;
        bool ok = ident[EI_CLASS] == ELFCLASS64 ? scan_elf<Elf64_Ehdr, Elf64_Phdr>(fd, has_interp)
                                                : scan_elf<Elf32_Ehdr, Elf32_Phdr>(fd, has_interp);
        if (ok && !has_interp) reason = "statically linked";
    } else if (depth < kMaxInterpreters && script_interpreter(fd, interp)) {
        reason = via_interpreter(check(interp, depth + 1));
    }
    close_fd(fd);
    return reason;
}

}  // namespace

bool find_program(const char* name, const char* dirs, char* out, size_t cap) {
    size_t name_len = std::strlen(name);
    if (std::strchr(name, '/') != nullptr) {
        if (name_len + 1 > cap) return false;
        std::memcpy(out, name, name_len + 1);
        return true;
    }
    if (dirs == nullptr) dirs = "/bin:/usr/bin";  // glibc's default (confstr _CS_PATH)
    for (const char* start = dirs;; ++start) {
        const char* colon = std::strchr(start, ':');
        size_t dir_len = colon != nullptr ? static_cast<size_t>(colon - start) : std::strlen(start);
        const char* dir = dir_len == 0 ? "." : start;
        if (dir_len == 0) dir_len = 1;
        if (dir_len + 1 + name_len + 1 <= cap) {
            std::memcpy(out, dir, dir_len);
            out[dir_len] = '/';
            std::memcpy(out + dir_len + 1, name, name_len + 1);
            // execvp goes on past what execve refuses with EACCES or ENOENT (a
            // directory, a file without x): the first regular executable file runs.
            struct stat st {};
            if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0) return true;
        }
        if (colon == nullptr) return false;
        start = colon;
    }
}

const char* preload_blocker(const char* path) { return check(path, 0); }

}  // namespace socksify::shim
