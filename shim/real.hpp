// The table of real libc functions, each resolved lazily with dlsym(RTLD_NEXT) on
// first use. This is the only way the shim calls a function it also hooks.
#pragma once

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

namespace socksify::shim::real {

// X(name, return type, parameter list, argument list). A missing symbol fails the
// call with ENOSYS instead of exiting (STYLE.md habit 7).
#define SOCKSIFY_REAL_FUNCTIONS(X)                                                          \
    X(connect, int, (int fd, const sockaddr* a, socklen_t n), (fd, a, n))                   \
    X(close, int, (int fd), (fd))                                                            \
    X(dup, int, (int fd), (fd))                                                              \
    X(dup2, int, (int fd, int to), (fd, to))                                                 \
    X(dup3, int, (int fd, int to, int flags), (fd, to, flags))                               \
    X(close_range, int, (unsigned first, unsigned last, int flags), (first, last, flags))    \
    X(getpeername, int, (int fd, sockaddr* a, socklen_t* n), (fd, a, n))                     \
    X(send, ssize_t, (int fd, const void* b, size_t n, int flags), (fd, b, n, flags))        \
    X(recv, ssize_t, (int fd, void* b, size_t n, int flags), (fd, b, n, flags))              \
    X(write, ssize_t, (int fd, const void* b, size_t n), (fd, b, n))                         \
    X(read, ssize_t, (int fd, void* b, size_t n), (fd, b, n))                                \
    X(poll, int, (pollfd * fds, nfds_t n, int timeout), (fds, n, timeout))                   \
    X(getaddrinfo, int,                                                                      \
      (const char* node, const char* service, const addrinfo* hints, addrinfo** res),        \
      (node, service, hints, res))                                                           \
    X(freeaddrinfo, void, (addrinfo * res), (res))

#define SOCKSIFY_DECLARE_REAL(name, ret, params, args) ret name params;
SOCKSIFY_REAL_FUNCTIONS(SOCKSIFY_DECLARE_REAL)
#undef SOCKSIFY_DECLARE_REAL

// fcntl is variadic; the shim only needs the int-argument form.
int fcntl(int fd, int cmd, int arg);

}  // namespace socksify::shim::real
