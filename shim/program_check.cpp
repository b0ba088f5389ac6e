// Inspects a program before it runs, as the kernel will load it: an ELF file without
// PT_INTERP has no dynamic loader to honour LD_PRELOAD; setuid/setgid and file
// capabilities make the loader run in secure mode, which ignores it (ld.so(8)); a
// program of another ELF class or machine cannot load this library, and one that names
// another loader (a static helper, another libc's) need not honour LD_PRELOAD at all.
// What cannot be read cannot be judged, so it is reported too, as unchecked.
#include "shim/program_check.hpp"

#include <elf.h>
#include <limits.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace socksify::shim {
namespace {

// The ELF identity this code was built for, and the system's dynamic loader for it.
constexpr unsigned char kNativeClass = __ELF_NATIVE_CLASS == 64 ? ELFCLASS64 : ELFCLASS32;
constexpr unsigned char kNativeData =
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;
#if defined(__x86_64__) && defined(__ILP32__)
constexpr unsigned kNativeMachine = EM_X86_64;
constexpr const char* kArchLoader = "/libx32/ld-linux-x32.so.2";
#elif defined(__x86_64__)
constexpr unsigned kNativeMachine = EM_X86_64;
constexpr const char* kArchLoader = "/lib64/ld-linux-x86-64.so.2";
#elif defined(__aarch64__)
constexpr unsigned kNativeMachine = EM_AARCH64;
constexpr const char* kArchLoader = "/lib/ld-linux-aarch64.so.1";
#elif defined(__i386__)
constexpr unsigned kNativeMachine = EM_386;
constexpr const char* kArchLoader = "/lib/ld-linux.so.2";
#elif defined(__arm__)
constexpr unsigned kNativeMachine = EM_ARM;
constexpr const char* kArchLoader = "/lib/ld-linux-armhf.so.3";
#elif defined(__riscv) && __riscv_xlen == 64
constexpr unsigned kNativeMachine = EM_RISCV;
constexpr const char* kArchLoader = "/lib/ld-linux-riscv64-lp64d.so.1";
#else
#error "add this architecture's ELF machine and dynamic loader"
#endif

using Ehdr = ElfW(Ehdr);
using Phdr = ElfW(Phdr);

// What stands in the way, before it is worded.
enum class Kind : uint8_t {
    kNone,
    kStatic,
    kSetuid,
    kSetgid,
    kCapabilities,
    kOtherClass,
    kOtherMachine,
    kOtherLoader,
    kUnreadable,
    kNoProc,
};

struct Wording {
    const char* direct;
    const char* via;  // when a "#!" interpreter (at any depth) is the program that has it
    bool unchecked;
    bool supervisable = false;
    bool foreign_class = false;  // the supervisor's filter refuses its every network call
};

// Indexed by Kind.
constexpr Wording kWording[] = {
    {nullptr, nullptr, false},
    {"statically linked", "run by a statically linked interpreter", false, true},
    {"setuid", "run by a setuid interpreter", false},
    {"setgid", "run by a setgid interpreter", false},
    {"given file capabilities", "run by an interpreter with file capabilities", false},
    {kNativeClass == ELFCLASS64 ? "a 32-bit program" : "a 64-bit program",
     kNativeClass == ELFCLASS64 ? "run by a 32-bit interpreter" : "run by a 64-bit interpreter",
     false, true, true},
    {"built for another machine", "run by an interpreter built for another machine", false},
    {"linked to a dynamic loader other than the system's",
     "run by an interpreter linked to a dynamic loader other than the system's", false, true},
    {"unreadable", "run by an unreadable interpreter", true},
    {"open only through a descriptor that cannot be read (and /proc is missing)",
     "run by an interpreter that cannot be read", true},
};

// The kernel follows at most this many "#!" interpreters (BINPRM_MAX_RECURSION), reads
// this much of a script's first line (BINPRM_BUF_SIZE) and this much program header
// table (load_elf_phdrs).
constexpr int kMaxInterpreters = 4;
constexpr size_t kScriptLine = 256;
constexpr size_t kMaxPhdrBytes = 65536;
constexpr size_t kHead = 1024;

// close() by number: the library hooks close(), and this file is shared with it.
void close_fd(int fd) { (void)syscall(SYS_close, fd); }

bool read_at(int fd, void* out, size_t n, uint64_t at) {
    return pread(fd, out, n, static_cast<off_t>(at)) == static_cast<ssize_t>(n);
}

// Whether [at, at + len) lies in the first n bytes (no wrap-around for a crafted at).
bool in_head(uint64_t at, uint64_t len, size_t n) { return at <= n && len <= n - at; }

bool same_file(const struct stat& a, const struct stat& b) {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// The loader of the running process (its PT_INTERP, in memory): it loaded this very
// code, so what it loads, this library can act in. Null when the process was started
// by running the loader itself.
const char* running_loader() {
    auto* ph = reinterpret_cast<const Phdr*>(getauxval(AT_PHDR));
    size_t n = getauxval(AT_PHNUM);
    if (ph == nullptr) return nullptr;
    uintptr_t bias = 0;
    bool have_bias = false;
    for (size_t i = 0; i < n; ++i) {
        if (ph[i].p_type == PT_PHDR) {
            bias = reinterpret_cast<uintptr_t>(ph) - ph[i].p_vaddr;
            have_bias = true;
        }
    }
    for (size_t i = 0; have_bias && i < n; ++i) {
        if (ph[i].p_type == PT_INTERP) return reinterpret_cast<const char*>(bias + ph[i].p_vaddr);
    }
    return nullptr;
}

// Whether interp (a PT_INTERP's text, from cwd) is the system's loader: this
// architecture's standard path or the running process's loader, or the same file by
// another path (symbolic links, merged /usr). The same text needs no stat.
bool is_system_loader(const char* interp, int cwd) {
    const char* known[] = {kArchLoader, running_loader()};
    for (const char* path : known)
        if (path != nullptr && std::strcmp(path, interp) == 0) return true;
    struct stat st {};
    if (fstatat(cwd, interp, &st, 0) != 0) return true;  // exec fails (ENOENT): nothing runs
    for (const char* path : known) {
        struct stat k {};
        if (path != nullptr && stat(path, &k) == 0 && same_file(k, st)) return true;
    }
    return false;
}

// The verdict on an ELF file, whose first bytes are head: class, byte order and
// machine must be ours, and its PT_INTERP (the kernel takes the first) the system's
// loader.
Kind judge_elf(int fd, const unsigned char* head, size_t n, int cwd) {
    if (head[EI_CLASS] != ELFCLASS32 && head[EI_CLASS] != ELFCLASS64) return Kind::kNone;
    if (head[EI_CLASS] != kNativeClass) return Kind::kOtherClass;
    if (head[EI_DATA] != kNativeData) return Kind::kOtherMachine;
    Ehdr eh{};
    if (n < sizeof eh) return Kind::kNone;  // too short: ENOEXEC
    std::memcpy(&eh, head, sizeof eh);
    if (eh.e_machine != kNativeMachine) return Kind::kOtherMachine;
    // The kernel refuses these with ENOEXEC: nothing runs.
    if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) return Kind::kNone;
    if (eh.e_phentsize != sizeof(Phdr) || eh.e_phnum == 0 ||
        size_t{eh.e_phnum} * sizeof(Phdr) > kMaxPhdrBytes)
        return Kind::kNone;
    for (unsigned i = 0; i < eh.e_phnum; ++i) {
        Phdr ph{};
        uint64_t at = eh.e_phoff + uint64_t{i} * sizeof ph;
        if (in_head(at, sizeof ph, n))  // usually the first few: already read
            std::memcpy(&ph, head + at, sizeof ph);
        else if (!read_at(fd, &ph, sizeof ph, at))
            return Kind::kNone;
        if (ph.p_type != PT_INTERP) continue;
        char interp[PATH_MAX];
        // The kernel takes p_filesz bytes ending in a NUL, at most PATH_MAX.
        if (ph.p_filesz < 2 || ph.p_filesz > sizeof interp) return Kind::kNone;
        if (in_head(ph.p_offset, ph.p_filesz, n))
            std::memcpy(interp, head + ph.p_offset, ph.p_filesz);
        else if (!read_at(fd, interp, ph.p_filesz, ph.p_offset))
            return Kind::kNone;
        if (interp[ph.p_filesz - 1] != '\0') return Kind::kNone;
        return is_system_loader(interp, cwd) ? Kind::kNone : Kind::kOtherLoader;
    }
    return Kind::kStatic;
}

// The interpreter of a "#!" script (whose first bytes are head) into out, or false
// when it is not one.
bool script_interpreter(const unsigned char* head, size_t n, char (&out)[kScriptLine]) {
    if (n < 3 || head[0] != '#' || head[1] != '!') return false;
    const char* p = reinterpret_cast<const char*>(head) + 2;
    const char* end = reinterpret_cast<const char*>(head) + n;
    while (p < end && (*p == ' ' || *p == '\t')) ++p;
    size_t len = 0;
    while (p + len < end && p[len] != '\0' && p[len] != ' ' && p[len] != '\t' && p[len] != '\n')
        ++len;
    if (len == 0 || len >= sizeof out) return false;
    std::memcpy(out, p, len);
    out[len] = '\0';
    return true;
}

struct Verdict {
    Kind kind = Kind::kNone;
    bool via = false;  // an interpreter's
};

Verdict check_path(const char* path, ExecSite where, int depth);

// The verdict on an open regular file fd, whose status is st.
Verdict check_open(int fd, const struct stat& st, int cwd, int depth) {
    if (st.st_mode & S_ISUID) return {Kind::kSetuid};
    if (st.st_mode & S_ISGID) return {Kind::kSetgid};
    if (fgetxattr(fd, "security.capability", nullptr, 0) > 0) return {Kind::kCapabilities};
    // One read for what the kernel looks at first: the ELF header, program headers and
    // (in a usual layout) PT_INTERP's text, or a "#!" line.
    unsigned char head[kHead];
    ssize_t got = pread(fd, head, sizeof head, 0);
    if (got < 0) return {Kind::kUnreadable};
    auto n = static_cast<size_t>(got);
    char interp[kScriptLine];
    if (n >= EI_NIDENT && std::memcmp(head, ELFMAG, SELFMAG) == 0)
        return {judge_elf(fd, head, n, cwd)};
    if (depth < kMaxInterpreters && script_interpreter(head, std::min(n, kScriptLine), interp)) {
        Verdict v = check_path(interp, ExecSite{cwd, cwd, 0}, depth + 1);
        return {v.kind, v.kind != Kind::kNone};
    }
    return {};  // no format the kernel knows: ENOEXEC (execvp then runs it with /bin/sh)
}

Verdict check_path(const char* path, ExecSite where, int depth) {
    struct stat st {};
    int nofollow = where.flags & AT_SYMLINK_NOFOLLOW;
    // Only a regular file the caller may execute can run; anything else (a directory,
    // a FIFO that open() would block on, a file without x) is exec's to refuse.
    if (fstatat(where.dir, path, &st, nofollow) != 0 || !S_ISREG(st.st_mode)) return {};
    if (faccessat(where.dir, path, X_OK, AT_EACCESS) != 0) return {};
    // Judged before opening: a setuid program need not be readable to be refused.
    if (st.st_mode & S_ISUID) return {Kind::kSetuid};
    if (st.st_mode & S_ISGID) return {Kind::kSetgid};
    int fd = openat(where.dir, path,
                    O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (nofollow ? O_NOFOLLOW : 0));
    if (fd < 0) return {Kind::kUnreadable};
    Verdict v{Kind::kUnreadable};
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) v = check_open(fd, st, where.cwd, depth);
    close_fd(fd);
    return v;
}

Blocker worded(Verdict v) {
    const Wording& w = kWording[static_cast<size_t>(v.kind)];
    return {v.via ? w.via : w.direct, w.unchecked, w.supervisable, w.foreign_class};
}

// Whether the ELF file fd has a section named .go.buildinfo or .note.go.buildid (the
// Go linker writes one of them, also into a stripped binary). Every exec in a run with
// a supervisor asks this: the table and the names are read in a few large reads.
bool has_go_section(int fd) {
    using Shdr = ElfW(Shdr);
    Ehdr eh{};
    if (!read_at(fd, &eh, sizeof eh, 0) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != kNativeClass)
        return false;
    constexpr unsigned kMaxSections = 4096;
    if (eh.e_shnum == 0 || eh.e_shnum > kMaxSections || eh.e_shstrndx >= eh.e_shnum ||
        eh.e_shentsize != sizeof(Shdr))
        return false;
    Shdr names{};
    if (!read_at(fd, &names, sizeof names, eh.e_shoff + uint64_t{eh.e_shstrndx} * sizeof names))
        return false;
    char strtab[4096];  // the section names; a longer table is read name by name past it
    ssize_t got = pread(fd, strtab, std::min<uint64_t>(sizeof strtab, names.sh_size),
                        static_cast<off_t>(names.sh_offset));
    size_t have = got > 0 ? static_cast<size_t>(got) : 0;
    constexpr unsigned kChunk = 32;
    Shdr table[kChunk];
    for (unsigned first = 0; first < eh.e_shnum; first += kChunk) {
        unsigned n = std::min(kChunk, eh.e_shnum - first);
        if (!read_at(fd, table, n * sizeof(Shdr), eh.e_shoff + uint64_t{first} * sizeof(Shdr)))
            return false;
        for (unsigned i = 0; i < n; ++i) {
            uint64_t at = table[i].sh_name;
            if (at >= names.sh_size) continue;
            char name[20] = {};
            if (at + sizeof name - 1 <= have || (at < have && have == names.sh_size))
                std::memcpy(name, strtab + at, std::min<size_t>(sizeof name - 1, have - at));
            else if (pread(fd, name, sizeof name - 1, static_cast<off_t>(names.sh_offset + at)) <=
                     0)
                continue;
            if (std::strcmp(name, ".go.buildinfo") == 0 ||
                std::strcmp(name, ".note.go.buildid") == 0)
                return true;
        }
    }
    return false;
}

}  // namespace

const char* blocker_effect(Blocker b) {
    return b.unchecked ? "socksify cannot check that the preloaded library can act in it"
                       : "the preloaded library cannot act in it";
}

bool find_program_at(int dirfd, const char* name, const char* dirs, char* out, size_t cap) {
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
            if (fstatat(dirfd, out, &st, 0) == 0 && S_ISREG(st.st_mode) &&
                faccessat(dirfd, out, X_OK, AT_EACCESS) == 0)
                return true;
        }
        if (colon == nullptr) return false;
        start = colon;
    }
}

Blocker program_blocker(const char* path, ExecSite where) {
    return worded(check_path(path, where, 0));
}

Blocker program_blocker_fd(int fd, int cwd) {
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0) return {};
    long flags = syscall(SYS_fcntl, fd, F_GETFL);
    if (flags >= 0 && (flags & O_PATH) == 0 && (flags & O_ACCMODE) != O_WRONLY)
        return worded(check_open(fd, st, cwd, 0));
    // Not readable as it is: the same file opened anew, which needs /proc.
    char path[64];
    std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int again = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (again < 0)
        return worded({access("/proc/self/fd", F_OK) == 0 ? Kind::kUnreadable : Kind::kNoProc});
    Verdict v{Kind::kUnreadable};
    struct stat now {};
    if (fstat(again, &now) == 0 && same_file(now, st)) v = check_open(again, now, cwd, 0);
    close_fd(again);
    return worded(v);
}

bool is_go_program(const char* path, ExecSite where) {
    int fd = openat(where.dir, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return false;
    struct stat st {};
    bool go = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && has_go_section(fd);
    close_fd(fd);
    return go;
}

bool is_go_program_fd(int fd) {
    // Opened anew: fd may be O_PATH, write-only or shared with an offset in use.
    char path[64];
    std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return is_go_program(path);
}

const char* supervision_reason(const char* path, ExecSite where) {
    Blocker b = program_blocker(path, where);
    if (b) return b.supervisable ? b.why : nullptr;  // setuid and the like: the warning stays
    return is_go_program(path, where) ? "a Go program" : nullptr;
}

}  // namespace socksify::shim
