// Appending one record by path: O_APPEND and one write(2), like the library's own log.
#include "shim/audit_file.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "shim/settings/audit_format.hpp"

namespace socksify::shim {

void append_refusal(const char* log_path, const char* program_path, const char* reason) {
    if (log_path == nullptr || log_path[0] == '\0') return;
    int saved = errno;
    int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd >= 0) {
        timespec now{};
        clock_gettime(CLOCK_REALTIME, &now);
        AuditRecord r;
        r.time_ms = static_cast<int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
        r.pid = static_cast<long>(getpid());
        const char* slash = std::strrchr(program_path, '/');
        r.program = slash != nullptr ? slash + 1 : program_path;
        r.kind = "refusal";
        r.verdict = "deny";
        r.reason = reason;
        char line[kAuditRecordMax];
        size_t n = format_audit_record(r, line, sizeof line);
        // write and close by number: the library hooks both.
        (void)syscall(SYS_write, fd, line, n);
        (void)syscall(SYS_close, fd);
    }
    errno = saved;
}

}  // namespace socksify::shim
