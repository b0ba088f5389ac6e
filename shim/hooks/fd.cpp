// Exported fd-lifetime entry points: keep the fd table right across close, dup and
// fcntl(F_DUPFD*), and keep the shim's own control connections out of the
// program's reach. The fast path is one byte load, then the real call.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>

#include "shim/dns/names.hpp"
#include "shim/fd_table.hpp"
#include "shim/guard.hpp"
#include "shim/hooks/export.hpp"
#include "shim/proxy/udp_assoc.hpp"
#include "shim/real.hpp"

using namespace socksify::shim;

namespace {

// Forgets whatever the shim knew about fd before it is closed or replaced.
// fd `to` is now a duplicate of `from`.
void duplicated(int from, int to) {
    if (kind_of(from) == FdKind::kUdp)
        share_udp(from, to);
    else
        copy_fd_state(from, to);
    FdRecord* rec = kind_of(to) != FdKind::kNone ? fd_record(to) : nullptr;
    if (rec != nullptr) record_repin(to, *rec);  // the copy's own pin on its fake peer
}

// dup2 and dup3 differ only in the flags argument.
int dup_onto(int fd, int to, int flags, bool is_dup3) {
    if (kind_of(fd) == FdKind::kNone && kind_of(to) == FdKind::kNone) [[likely]]
        return is_dup3 ? real::dup3(fd, to, flags) : real::dup2(fd, to);
    if (is_hidden(kind_of(fd))) {
        errno = EBADF;  // not an fd the program opened
        return -1;
    }
    int rc = is_dup3 ? real::dup3(fd, to, flags) : real::dup2(fd, to);
    if (rc >= 0 && fd != to) {
        int saved = errno;
        // A control connection overwritten by the program is simply gone; its
        // association is noticed dead and re-opened on the next send.
        release_fd(to);
        duplicated(fd, to);
        errno = saved;
    }
    return rc;
}

// close_range/closefrom without touching the shim's hidden fds.
int close_span(unsigned first, unsigned last, int flags) {
    unsigned limit = last < static_cast<unsigned>(kMaxFds) ? last : kMaxFds - 1;
    unsigned from = first;
    int rc = 0;
    for (unsigned fd = first; fd <= limit && from <= last; ++fd) {
        FdKind k = kind_of(static_cast<int>(fd));
        if (k == FdKind::kNone) continue;
        if (is_hidden(k)) {
            if (fd > from && real::close_range(from, fd - 1, flags) != 0) rc = -1;
            from = fd + 1;
        } else if ((flags & CLOSE_RANGE_CLOEXEC) == 0) {
            release_fd(static_cast<int>(fd));
        }
    }
    if (from <= last && real::close_range(from, last, flags) != 0) rc = -1;
    return rc;
}

}  // namespace

SOCKSIFY_EXPORT int close(int fd) {
    FdKind k = kind_of(fd);
    if (k == FdKind::kNone) [[likely]]
        return real::close(fd);
    if (is_hidden(k) && !inside_shim()) {
        errno = EBADF;  // hidden: to the program this fd is not open
        return -1;
    }
    release_fd(fd);
    return real::close(fd);
}

SOCKSIFY_EXPORT int dup(int fd) {
    if (is_hidden(kind_of(fd))) {
        errno = EBADF;
        return -1;
    }
    int to = real::dup(fd);
    if (to >= 0 && kind_of(fd) != FdKind::kNone) {
        int saved = errno;
        duplicated(fd, to);
        errno = saved;
    }
    return to;
}

SOCKSIFY_EXPORT int dup2(int fd, int to) { return dup_onto(fd, to, 0, false); }

SOCKSIFY_EXPORT int dup3(int fd, int to, int flags) { return dup_onto(fd, to, flags, true); }

SOCKSIFY_EXPORT int close_range(unsigned first, unsigned last, int flags) {
    if (first > last) return real::close_range(first, last, flags);
    int saved = errno;
    int rc = close_span(first, last, flags);
    if (rc == 0) errno = saved;
    return rc;
}

SOCKSIFY_EXPORT void closefrom(int low) {
    // glibc's closefrom calls close_range internally, past our hook.
    int saved = errno;
    if (low < 0) low = 0;
    (void)close_span(static_cast<unsigned>(low), ~0u, 0);
    errno = saved;
}

namespace {

int fcntl_common(int fd, int cmd, long arg) {
    bool dups = cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC;
    if (!dups || kind_of(fd) == FdKind::kNone) [[likely]]
        return real::fcntl(fd, cmd, arg);
    if (is_hidden(kind_of(fd))) {
        errno = EBADF;
        return -1;
    }
    int to = real::fcntl(fd, cmd, arg);
    if (to >= 0) {
        int saved = errno;
        duplicated(fd, to);
        errno = saved;
    }
    return to;
}

}  // namespace

SOCKSIFY_EXPORT int fcntl(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    long arg = va_arg(ap, long);
    va_end(ap);
    return fcntl_common(fd, cmd, arg);
}

SOCKSIFY_EXPORT int fcntl64(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    long arg = va_arg(ap, long);
    va_end(ap);
    return fcntl_common(fd, cmd, arg);
}
