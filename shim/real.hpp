// The table of real libc functions, each resolved lazily with dlsym(RTLD_NEXT) on
// first use. This is the only way the shim calls a function it also hooks.
#pragma once

#include <netdb.h>
#include <poll.h>
#include <resolv.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <atomic>

namespace socksify::shim::real {

// X(name, return type, parameter list, argument list). A missing symbol fails the
// call with ENOSYS instead of exiting (docs/ARCHITECTURE.md, Hooks and real functions).
#define SOCKSIFY_REAL_FUNCTIONS(X)                                                                 \
    X(connect, int, (int fd, const sockaddr* a, socklen_t n), (fd, a, n))                          \
    X(close, int, (int fd), (fd))                                                                  \
    X(dup, int, (int fd), (fd))                                                                    \
    X(dup2, int, (int fd, int to), (fd, to))                                                       \
    X(dup3, int, (int fd, int to, int flags), (fd, to, flags))                                     \
    X(close_range, int, (unsigned first, unsigned last, int flags), (first, last, flags))          \
    X(getpeername, int, (int fd, sockaddr* a, socklen_t* n), (fd, a, n))                           \
    X(send, ssize_t, (int fd, const void* b, size_t n, int flags), (fd, b, n, flags))              \
    X(recv, ssize_t, (int fd, void* b, size_t n, int flags), (fd, b, n, flags))                    \
    X(write, ssize_t, (int fd, const void* b, size_t n), (fd, b, n))                               \
    X(read, ssize_t, (int fd, void* b, size_t n), (fd, b, n))                                      \
    X(poll, int, (pollfd * fds, nfds_t n, int timeout), (fds, n, timeout))                         \
    X(ppoll, int, (pollfd * fds, nfds_t n, const timespec* t, const sigset_t* m), (fds, n, t, m))  \
    X(select, int, (int n, fd_set* r, fd_set* w, fd_set* e, timeval* t), (n, r, w, e, t))          \
    X(pselect, int,                                                                                \
      (int n, fd_set* r, fd_set* w, fd_set* e, const timespec* t, const sigset_t* m),              \
      (n, r, w, e, t, m))                                                                          \
    X(epoll_create1, int, (int flags), (flags))                                                    \
    X(epoll_ctl, int, (int ep, int op, int fd, epoll_event* ev), (ep, op, fd, ev))                 \
    X(epoll_wait, int, (int ep, epoll_event* ev, int n, int t), (ep, ev, n, t))                    \
    X(epoll_pwait, int, (int ep, epoll_event* ev, int n, int t, const sigset_t* m),                \
      (ep, ev, n, t, m))                                                                           \
    X(epoll_pwait2, int, (int ep, epoll_event* ev, int n, const timespec* t, const sigset_t* m),   \
      (ep, ev, n, t, m))                                                                           \
    X(getsockopt, int, (int fd, int l, int o, void* v, socklen_t* n), (fd, l, o, v, n))            \
    X(socket, int, (int domain, int type, int protocol), (domain, type, protocol))                 \
    X(sendto, ssize_t,                                                                             \
      (int fd, const void* b, size_t n, int flags, const sockaddr* to, socklen_t tolen),           \
      (fd, b, n, flags, to, tolen))                                                                \
    X(recvfrom, ssize_t,                                                                           \
      (int fd, void* b, size_t n, int flags, sockaddr* from, socklen_t* fromlen),                  \
      (fd, b, n, flags, from, fromlen))                                                            \
    X(sendmsg, ssize_t, (int fd, const msghdr* m, int flags), (fd, m, flags))                      \
    X(recvmsg, ssize_t, (int fd, msghdr* m, int flags), (fd, m, flags))                            \
    X(sendmmsg, int, (int fd, mmsghdr* v, unsigned n, int flags), (fd, v, n, flags))               \
    X(recvmmsg, int, (int fd, mmsghdr* v, unsigned n, int flags, timespec* t),                     \
      (fd, v, n, flags, t))                                                                        \
    X(writev, ssize_t, (int fd, const iovec* v, int n), (fd, v, n))                                \
    X(readv, ssize_t, (int fd, const iovec* v, int n), (fd, v, n))                                 \
    X(getaddrinfo, int,                                                                            \
      (const char* node, const char* service, const addrinfo* hints, addrinfo** res),              \
      (node, service, hints, res))                                                                 \
    X(freeaddrinfo, void, (addrinfo * res), (res))                                                 \
    X(getnameinfo, int,                                                                            \
      (const sockaddr* sa, socklen_t salen, char* host, socklen_t hostlen, char* serv,             \
       socklen_t servlen, int flags),                                                              \
      (sa, salen, host, hostlen, serv, servlen, flags))                                            \
    X(gethostbyname2_r, int,                                                                       \
      (const char* name, int af, hostent* ret, char* buf, size_t buflen, hostent** result,         \
       int* h_errnop),                                                                             \
      (name, af, ret, buf, buflen, result, h_errnop))                                              \
    X(gethostbyname_r, int,                                                                        \
      (const char* name, hostent* ret, char* buf, size_t buflen, hostent** result, int* h_errnop), \
      (name, ret, buf, buflen, result, h_errnop))                                                  \
    X(gethostbyname, hostent*, (const char* name), (name))                                         \
    X(gethostbyname2, hostent*, (const char* name, int af), (name, af))                            \
    X(gethostbyaddr_r, int,                                                                        \
      (const void* addr, socklen_t len, int type, hostent* ret, char* buf, size_t buflen,          \
       hostent** result, int* h_errnop),                                                           \
      (addr, len, type, ret, buf, buflen, result, h_errnop))                                       \
    X(gethostbyaddr, hostent*, (const void* addr, socklen_t len, int type), (addr, len, type))     \
    X(res_query, int, (const char* d, int c, int t, unsigned char* a, int n), (d, c, t, a, n))     \
    X(res_search, int, (const char* d, int c, int t, unsigned char* a, int n), (d, c, t, a, n))    \
    X(res_querydomain, int,                                                                        \
      (const char* d, const char* dom, int c, int t, unsigned char* a, int n),                     \
      (d, dom, c, t, a, n))                                                                        \
    X(res_send, int, (const unsigned char* m, int ml, unsigned char* a, int n), (m, ml, a, n))     \
    X(res_nquery, int, (res_state s, const char* d, int c, int t, unsigned char* a, int n),        \
      (s, d, c, t, a, n))                                                                          \
    X(res_nsearch, int, (res_state s, const char* d, int c, int t, unsigned char* a, int n),       \
      (s, d, c, t, a, n))                                                                          \
    X(res_nquerydomain, int,                                                                       \
      (res_state s, const char* d, const char* dom, int c, int t, unsigned char* a, int n),        \
      (s, d, dom, c, t, a, n))                                                                     \
    X(res_nsend, int, (res_state s, const unsigned char* m, int ml, unsigned char* a, int n),      \
      (s, m, ml, a, n))                                                                            \
    X(__nss_lookup, int, (void* ni, const char* f, const char* f2, void** fp), (ni, f, f2, fp))    \
    X(__nss_next2, int, (void* ni, const char* f, const char* f2, void** fp, int st, int all),     \
      (ni, f, f2, fp, st, all))                                                                    \
    X(__nss_lookup_function, void*, (void* ni, const char* f), (ni, f))                            \
    X(__nss_configure_lookup, int, (const char* db, const char* line), (db, line))                 \
    X(execve, int, (const char* p, char* const* a, char* const* e), (p, a, e))                     \
    X(execv, int, (const char* p, char* const* a), (p, a))                                         \
    X(execvp, int, (const char* f, char* const* a), (f, a))                                        \
    X(execvpe, int, (const char* f, char* const* a, char* const* e), (f, a, e))                    \
    X(fexecve, int, (int fd, char* const* a, char* const* e), (fd, a, e))                          \
    X(execveat, int, (int d, const char* p, char* const* a, char* const* e, int fl),               \
      (d, p, a, e, fl))                                                                            \
    X(posix_spawn, int,                                                                            \
      (pid_t * pid, const char* p, const posix_spawn_file_actions_t* fa,                           \
       const posix_spawnattr_t* at, char* const* a, char* const* e),                               \
      (pid, p, fa, at, a, e))                                                                      \
    X(posix_spawnp, int,                                                                           \
      (pid_t * pid, const char* f, const posix_spawn_file_actions_t* fa,                           \
       const posix_spawnattr_t* at, char* const* a, char* const* e),                               \
      (pid, f, fa, at, a, e))                                                                      \
    X(system, int, (const char* c), (c))                                                           \
    X(popen, FILE*, (const char* c, const char* m), (c, m))

// Each real function is one atomic load and an indirect tail call, inlined into the
// hook; the first call takes the cold path that runs dlsym (real.cpp).
#define SOCKSIFY_DECLARE_REAL(name, ret, params, args)                 \
    namespace detail {                                                 \
    inline constinit std::atomic<ret(*) params> slot_##name{nullptr};  \
    [[gnu::cold, gnu::noinline]] ret slow_##name params;               \
    }                                                                  \
    inline ret name params {                                           \
        auto fn = detail::slot_##name.load(std::memory_order_acquire); \
        if (fn == nullptr) [[unlikely]]                                \
            return detail::slow_##name args;                           \
        return fn args;                                                \
    }
SOCKSIFY_REAL_FUNCTIONS(SOCKSIFY_DECLARE_REAL)
#undef SOCKSIFY_DECLARE_REAL

// syscall is variadic too; six register-sized arguments cover every call.
long syscall(long number, long a, long b, long c, long d, long e, long f);

// fcntl is variadic; its argument travels as one register-sized value.
int fcntl(int fd, int cmd, long arg);

}  // namespace socksify::shim::real
