// Inspects the program before it runs: an ELF file without PT_INTERP has no dynamic
// loader to honour LD_PRELOAD; setuid/setgid and file capabilities make the loader
// run in secure mode, which ignores it (ld.so(8)).
#include "shim/launcher_program.hpp"

#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>

namespace socksify::shim {
namespace {

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

// The interpreter of a "#!" script, or "" when path is not one.
std::string script_interpreter(int fd) {
    char line[256] = {};
    ssize_t n = pread(fd, line, sizeof line - 1, 0);
    if (n < 3 || line[0] != '#' || line[1] != '!') return "";
    const char* p = line + 2;
    while (*p == ' ' || *p == '\t') ++p;
    const char* end = p;
    while (*end != '\0' && *end != ' ' && *end != '\t' && *end != '\n') ++end;
    return std::string(p, end);
}

const char* check(const std::string& path, int depth) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return nullptr;  // spawning reports it
    if (st.st_mode & S_ISUID) return "setuid";
    if (st.st_mode & S_ISGID) return "setgid";
    if (getxattr(path.c_str(), "security.capability", nullptr, 0) > 0)
        return "has file capabilities";
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nullptr;
    unsigned char ident[EI_NIDENT] = {};
    const char* reason = nullptr;
    if (pread(fd, ident, sizeof ident, 0) == EI_NIDENT && memcmp(ident, ELFMAG, SELFMAG) == 0) {
        bool interp = true;
        bool ok = ident[EI_CLASS] == ELFCLASS64 ? scan_elf<Elf64_Ehdr, Elf64_Phdr>(fd, interp)
                                                : scan_elf<Elf32_Ehdr, Elf32_Phdr>(fd, interp);
        if (ok && !interp) reason = "statically linked";
    } else if (depth == 0) {
        std::string interp = script_interpreter(fd);
        if (!interp.empty()) reason = check(interp, depth + 1);
    }
    close(fd);
    return reason;
}

}  // namespace

std::string find_program(const std::string& name) {
    if (name.find('/') != std::string::npos) return name;
    const char* path = getenv("PATH");
    std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
    size_t start = 0;
    while (start <= dirs.size()) {
        size_t colon = dirs.find(':', start);
        std::string dir =
            dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
        std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
        if (access(candidate.c_str(), X_OK) == 0) return candidate;
        if (colon == std::string::npos) break;
        start = colon + 1;
    }
    return "";
}

const char* preload_blocker(const std::string& path) { return check(path, 0); }

}  // namespace socksify::shim
