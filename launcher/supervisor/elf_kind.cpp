// The verdicts are the library's (shim/program_check.hpp): the launcher and the exec
// hooks of a preloaded shell or make decide alike which programs the supervisor takes.
#include "launcher/supervisor/elf_kind.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim/program_check.hpp"

namespace socksify::launcher {

bool is_go_program(const char* path) { return shim::is_go_program(path); }

bool is_foreign_class(const char* path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // never hang on a FIFO
    if (fd < 0) return false;
    struct stat st {};
    unsigned char ident[EI_NIDENT] = {};
    bool foreign = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                   pread(fd, ident, sizeof ident, 0) == sizeof ident && ident[EI_MAG0] == ELFMAG0 &&
                   ident[EI_MAG1] == ELFMAG1 && ident[EI_MAG2] == ELFMAG2 &&
                   ident[EI_MAG3] == ELFMAG3 && ident[EI_CLASS] != ELFCLASS64;
    close(fd);
    return foreign;
}

const char* supervision_reason(const char* path) { return shim::supervision_reason(path); }

}  // namespace socksify::launcher
