// Exported fd-lifetime entry points: keep the fd table right across close and dup.
// The fast path is one byte load, then the real call.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "shim/export.hpp"
#include "shim/fd_table.hpp"
#include "shim/real.hpp"

using namespace socksify::shim;

SOCKSIFY_EXPORT int close(int fd) {
    if (kind_of(fd) != FdKind::kNone) set_kind(fd, FdKind::kNone);
    return real::close(fd);
}

SOCKSIFY_EXPORT int dup(int fd) {
    int to = real::dup(fd);
    if (to >= 0 && kind_of(fd) != FdKind::kNone) copy_fd_state(fd, to);
    return to;
}

namespace {
// dup2 and dup3 differ only in the flags argument.
int dup_onto(int fd, int to, int flags, bool is_dup3) {
    int rc = is_dup3 ? real::dup3(fd, to, flags) : real::dup2(fd, to);
    if (rc >= 0 && (kind_of(fd) != FdKind::kNone || kind_of(to) != FdKind::kNone)) {
        int saved = errno;
        copy_fd_state(fd, to);
        errno = saved;
    }
    return rc;
}
}  // namespace

SOCKSIFY_EXPORT int dup2(int fd, int to) { return dup_onto(fd, to, 0, false); }

SOCKSIFY_EXPORT int dup3(int fd, int to, int flags) { return dup_onto(fd, to, flags, true); }

SOCKSIFY_EXPORT int close_range(unsigned first, unsigned last, int flags) {
    int rc = real::close_range(first, last, flags);
    // CLOSE_RANGE_CLOEXEC only marks the fds; they stay open and ours.
    if (rc == 0 && (flags & CLOSE_RANGE_CLOEXEC) == 0) {
        int saved = errno;
        clear_range(first, last);
        errno = saved;
    }
    return rc;
}
