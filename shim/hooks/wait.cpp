// Exported readiness entry points: poll, ppoll, select, pselect, epoll_create*, epoll_ctl,
// epoll_wait/epoll_pwait/epoll_pwait2, and getsockopt(SO_ERROR). With no exchange in
// flight (any_pending) each is one load and a branch, then the real call. Otherwise
// a pending socket is watched for what its exchange needs, advanced when ready, and
// shown to the program only once the exchange is over (shim/proxy/pending.hpp).
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>

#include <cerrno>
#include <climits>

#include "shim/fd_table.hpp"
#include "shim/guard.hpp"
#include "shim/hooks/export.hpp"
#include "shim/io.hpp"
#include "shim/proxy/pending.hpp"
#include "shim/real.hpp"

using namespace socksify::shim;

namespace {

// A wait of the program's: its end on the monotonic clock (-1: forever).
struct Until {
    int64_t end_ns = -1;
    static Until after_ns(int64_t ns) { return {ns < 0 ? -1 : monotonic_ns() + ns}; }
    int ms_left() const {
        if (end_ns < 0) return -1;
        int64_t left = end_ns - monotonic_ns();
        if (left <= 0) return 0;
        int64_t ms = (left + 999999) / 1000000;
        return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
    }
};

int64_t ns_of(const timespec* t) {
    return t == nullptr ? -1 : static_cast<int64_t>(t->tv_sec) * 1000000000 + t->tv_nsec;
}
int64_t ns_of_ms(int ms) { return ms < 0 ? -1 : static_cast<int64_t>(ms) * 1000000; }

// The shorter of two waits in ms (-1: forever).
int shorter(int a, int b) {
    if (a < 0) return b;
    if (b < 0) return a;
    return a < b ? a : b;
}

constexpr int kSwapped = kPendingSlots;  // every pending socket fits in one call

// poll/ppoll with pending sockets among fds: each is polled for what its exchange
// needs and reported (with the socket's real state) only once the exchange is over.
int poll_pending(pollfd* fds, nfds_t n, Until until, const sigset_t* mask) {
    ShimScope scope;
    bool now = false;  // an exchange just ended: look at the real state at once
    for (;;) {
        int ms = now ? 0 : until.ms_left();
        now = false;
        nfds_t at[kSwapped];
        short theirs[kSwapped];
        int swapped = 0;
        for (nfds_t i = 0; i < n && swapped < kSwapped; ++i) {
            if (kind_of(fds[i].fd) != FdKind::kTcpPending) continue;
            int left = -1;
            short ev = advance_pending(fds[i].fd, left);
            if (ev == 0) {
                now = true;  // ended here: the real call below reports its state
                continue;
            }
            at[swapped] = i;
            theirs[swapped++] = fds[i].events;
            fds[i].events = ev;
            ms = shorter(ms, left);
        }
        if (now) ms = 0;
        timespec ts{ms / 1000, (ms % 1000) * 1000000L};
        int rc = real::ppoll(fds, n, ms < 0 ? nullptr : &ts, mask);
        int saved = errno;
        bool progressed = false;
        for (int j = 0; j < swapped; ++j) {
            pollfd& p = fds[at[j]];
            p.events = theirs[j];
            if (rc > 0 && p.revents != 0) {
                --rc;
                progressed = true;
            }
            p.revents = 0;
        }
        errno = saved;
        if (rc != 0) return rc;
        if (!progressed && !now && until.ms_left() == 0) return 0;
    }
}

int epoll_pending(int ep, epoll_event* events, int max, Until until, const sigset_t* mask) {
    ShimScope scope;
    bool now = false;
    for (;;) {
        int ms = now ? 0 : shorter(until.ms_left(), pending_soonest_ms());
        now = false;
        // epoll_pwait, not epoll_pwait2: kernels before 5.11 lack the latter.
        int rc = real::epoll_pwait(ep, events, max, ms, mask);
        if (rc < 0) return -1;
        int out = 0;
        for (int i = 0; i < rc; ++i) {
            if (!is_epoll_tag(events[i].data.u64)) {
                events[out++] = events[i];
                continue;
            }
            int left = -1;
            // EPOLLIN/OUT/ERR/HUP have the values of their POLL* twins.
            short ready = static_cast<short>(events[i].events & 0xffff);
            if (advance_pending(static_cast<int>(events[i].data.u64 & 0xffffffffu), left, ready) ==
                0)
                now = true;  // its own registration is back: the next call reports it
        }
        if (out > 0) return out;
        if (!now && until.ms_left() == 0) return 0;
    }
}

int select_pending(int nfds, fd_set* r, fd_set* w, fd_set* e, Until until, const sigset_t* mask) {
    if (nfds < 0 || nfds > FD_SETSIZE) {
        errno = EINVAL;
        return -1;
    }
    pollfd fds[FD_SETSIZE];
    nfds_t n = 0;
    for (int fd = 0; fd < nfds; ++fd) {
        short ev = 0;
        if (r != nullptr && FD_ISSET(fd, r)) ev |= POLLIN;
        if (w != nullptr && FD_ISSET(fd, w)) ev |= POLLOUT;
        if (e != nullptr && FD_ISSET(fd, e)) ev |= POLLPRI;
        if (ev != 0) fds[n++] = {fd, ev, 0};
    }
    int rc = poll_pending(fds, n, until, mask);
    if (rc < 0) return -1;
    for (nfds_t i = 0; i < n; ++i) {
        if (fds[i].revents & POLLNVAL) {
            errno = EBADF;
            return -1;
        }
    }
    int count = 0;
    for (nfds_t i = 0; i < n; ++i) {
        int fd = fds[i].fd;
        short re = fds[i].revents;
        auto mark = [&](fd_set* s, bool on) {
            if (s == nullptr || !FD_ISSET(fd, s)) return;
            if (on) {
                ++count;
            } else {
                FD_CLR(fd, s);
            }
        };
        mark(r, re & (POLLIN | POLLHUP | POLLERR));
        mark(w, re & (POLLOUT | POLLERR));
        mark(e, re & POLLPRI);
    }
    return count;
}

}  // namespace

SOCKSIFY_EXPORT int poll(pollfd* fds, nfds_t n, int timeout) {
    if (!any_pending() || inside_shim()) [[likely]]
        return real::poll(fds, n, timeout);
    return poll_pending(fds, n, Until::after_ns(ns_of_ms(timeout)), nullptr);
}

SOCKSIFY_EXPORT int ppoll(pollfd* fds, nfds_t n, const timespec* t, const sigset_t* mask) {
    if (!any_pending() || inside_shim()) [[likely]]
        return real::ppoll(fds, n, t, mask);
    return poll_pending(fds, n, Until::after_ns(ns_of(t)), mask);
}

SOCKSIFY_EXPORT int select(int n, fd_set* r, fd_set* w, fd_set* e, timeval* t) {
    if (!any_pending() || inside_shim()) [[likely]]
        return real::select(n, r, w, e, t);
    int64_t ns =
        t == nullptr ? -1 : static_cast<int64_t>(t->tv_sec) * 1000000000 + t->tv_usec * 1000;
    Until until = Until::after_ns(ns);
    int rc = select_pending(n, r, w, e, until, nullptr);
    if (t != nullptr) {  // Linux reports the time not slept
        int64_t left = until.end_ns - monotonic_ns();
        if (left < 0) left = 0;
        t->tv_sec = left / 1000000000;
        t->tv_usec = (left % 1000000000) / 1000;
    }
    return rc;
}

SOCKSIFY_EXPORT int pselect(int n, fd_set* r, fd_set* w, fd_set* e, const timespec* t,
                            const sigset_t* mask) {
    if (!any_pending() || inside_shim()) [[likely]]
        return real::pselect(n, r, w, e, t, mask);
    return select_pending(n, r, w, e, Until::after_ns(ns_of(t)), mask);
}

// Epoll sets are noted so that a socket registered before its connect is found.
SOCKSIFY_EXPORT int epoll_create1(int flags) {
    int ep = real::epoll_create1(flags);
    if (ep >= 0) {
        int saved = errno;
        ShimScope scope;
        note_epoll_set(ep);
        errno = saved;
    }
    return ep;
}

SOCKSIFY_EXPORT int epoll_create(int size) {
    if (size <= 0) {  // the size is only checked, as the kernel does
        errno = EINVAL;
        return -1;
    }
    return epoll_create1(0);
}

SOCKSIFY_EXPORT int epoll_ctl(int ep, int op, int fd, epoll_event* ev) {
    if (kind_of(fd) != FdKind::kTcpPending || inside_shim()) [[likely]]
        return real::epoll_ctl(ep, op, fd, ev);
    bool handled = false;
    int rc;
    {
        ShimScope scope;
        rc = pending_epoll_ctl(ep, op, fd, ev, handled);
    }
    return handled ? rc : real::epoll_ctl(ep, op, fd, ev);
}

SOCKSIFY_EXPORT int epoll_wait(int ep, epoll_event* events, int max, int timeout) {
    if (!any_pending() || inside_shim()) [[likely]]
        return real::epoll_wait(ep, events, max, timeout);
    return epoll_pending(ep, events, max, Until::after_ns(ns_of_ms(timeout)), nullptr);
}

SOCKSIFY_EXPORT int epoll_pwait(int ep, epoll_event* events, int max, int timeout,
                                const sigset_t* mask) {
    if (!any_pending() || inside_shim()) [[likely]]
        return real::epoll_pwait(ep, events, max, timeout, mask);
    return epoll_pending(ep, events, max, Until::after_ns(ns_of_ms(timeout)), mask);
}

SOCKSIFY_EXPORT int epoll_pwait2(int ep, epoll_event* events, int max, const timespec* t,
                                 const sigset_t* mask) {
    if (!any_pending() || inside_shim()) [[likely]]
        return real::epoll_pwait2(ep, events, max, t, mask);
    return epoll_pending(ep, events, max, Until::after_ns(ns_of(t)), mask);
}

// A socket still connecting reports no error yet; a failed exchange reports its
// errno once, as the kernel clears SO_ERROR when it is read.
SOCKSIFY_EXPORT int getsockopt(int fd, int level, int opt, void* val, socklen_t* len) {
    if (!is_pending(kind_of(fd)) || level != SOL_SOCKET || opt != SO_ERROR || val == nullptr ||
        len == nullptr || *len < sizeof(int) || inside_shim()) [[likely]]
        return real::getsockopt(fd, level, opt, val, len);
    int err = 0;
    if (kind_of(fd) == FdKind::kTcpFailed) {
        if (FdRecord* rec = fd_record(fd)) {
            err = rec->aux;
            rec->aux = 0;
        }
    }
    *static_cast<int*>(val) = err;
    *len = sizeof(int);
    return 0;
}
