// Reads an ELF file's section names to tell a Go program (the linker always writes
// .go.buildinfo or .note.go.buildid) and its header's class.
#include "launcher/supervisor/elf_kind.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "shim/program_check.hpp"

namespace socksify::launcher {
namespace {

constexpr unsigned kMaxSections = 4096;

bool read_at(int fd, void* buf, size_t n, uint64_t off) {
    return pread(fd, buf, n, static_cast<off_t>(off)) == static_cast<ssize_t>(n);
}

bool has_go_section(int fd) {
    Elf64_Ehdr eh{};
    if (!read_at(fd, &eh, sizeof eh, 0) || eh.e_ident[EI_CLASS] != ELFCLASS64) return false;
    if (eh.e_shnum == 0 || eh.e_shnum > kMaxSections || eh.e_shstrndx >= eh.e_shnum ||
        eh.e_shentsize != sizeof(Elf64_Shdr))
        return false;
    Elf64_Shdr names{};
    if (!read_at(fd, &names, sizeof names, eh.e_shoff + uint64_t{eh.e_shstrndx} * sizeof names))
        return false;
    for (unsigned i = 0; i < eh.e_shnum; ++i) {
        Elf64_Shdr sh{};
        if (!read_at(fd, &sh, sizeof sh, eh.e_shoff + uint64_t{i} * sizeof sh)) return false;
        char name[20] = {};
        if (sh.sh_name >= names.sh_size) continue;
        if (pread(fd, name, sizeof name - 1, static_cast<off_t>(names.sh_offset + sh.sh_name)) <= 0)
            continue;
        if (std::strcmp(name, ".go.buildinfo") == 0 || std::strcmp(name, ".note.go.buildid") == 0)
            return true;
    }
    return false;
}

int open_elf(const char* path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // never hang on a FIFO
    if (fd < 0) return -1;
    struct stat st {};
    unsigned char ident[EI_NIDENT] = {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !read_at(fd, ident, sizeof ident, 0) ||
        std::memcmp(ident, ELFMAG, SELFMAG) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

}  // namespace

bool is_go_program(const char* path) {
    int fd = open_elf(path);
    if (fd < 0) return false;
    bool go = has_go_section(fd);
    close(fd);
    return go;
}

bool is_foreign_class(const char* path) {
    int fd = open_elf(path);
    if (fd < 0) return false;
    unsigned char ident[EI_NIDENT] = {};
    bool foreign = read_at(fd, ident, sizeof ident, 0) && ident[EI_CLASS] != ELFCLASS64;
    close(fd);
    return foreign;
}

const char* supervision_reason(const char* path) {
    if (is_go_program(path)) return "a Go program";
    if (is_foreign_class(path)) return "a 32-bit program";
    const char* why = shim::preload_blocker(path);
    if (why == nullptr) return nullptr;
    if (std::strcmp(why, "statically linked") == 0 ||
        std::strcmp(why, "run by a statically linked interpreter") == 0)
        return why;
    return nullptr;  // setuid, setgid, capabilities: the warning stays
}

}  // namespace socksify::launcher
