// syscall(2): libuv (dig, node) calls sendmmsg/recvmmsg through syscall() rather than
// through their libc wrappers, and a program may do the same with socket, connect or
// sendto, or execve and execveat (which must meet the same exec checks as the libc
// calls). Those numbers go to our hooks, which return -1 and set errno exactly as
// syscall() does; every other number passes straight through.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdarg>

#include "shim/fd_table.hpp"
#include "shim/hooks/export.hpp"
#include "shim/real.hpp"

SOCKSIFY_EXPORT long syscall(long number, ...) {
    va_list ap;
    va_start(ap, number);
    long a = va_arg(ap, long);
    long b = va_arg(ap, long);
    long c = va_arg(ap, long);
    long d = va_arg(ap, long);
    long e = va_arg(ap, long);
    long f = va_arg(ap, long);
    va_end(ap);
    using socksify::shim::FdKind;
    using socksify::shim::kind_of;
    auto fd = static_cast<int>(a);
    auto addr = reinterpret_cast<sockaddr*>(e);
    auto addr_len = static_cast<socklen_t>(f);
    switch (number) {
        // Creation and connection: strict mode, UDP adoption and the proxy apply.
        case SYS_socket:
            return socket(static_cast<int>(a), static_cast<int>(b), static_cast<int>(c));
        case SYS_close: return close(fd);
        case SYS_connect:
            return connect(fd, reinterpret_cast<const sockaddr*>(b), static_cast<socklen_t>(c));
        // Sends: a datagram may need its header, a socket made before we were loaded
        // adopting, a TCP Fast Open send the proxy. Receives: only a UDP socket of ours
        // has headers to remove.
        case SYS_sendto:
            return sendto(fd, reinterpret_cast<const void*>(b), static_cast<size_t>(c),
                          static_cast<int>(d), addr, addr_len);
        case SYS_sendmsg:
            return sendmsg(fd, reinterpret_cast<const msghdr*>(b), static_cast<int>(c));
        case SYS_sendmmsg:
            return sendmmsg(fd, reinterpret_cast<mmsghdr*>(b), static_cast<unsigned>(c),
                            static_cast<int>(d));
        case SYS_recvfrom:
            if (kind_of(fd) != FdKind::kUdp) break;
            return recvfrom(fd, reinterpret_cast<void*>(b), static_cast<size_t>(c),
                            static_cast<int>(d), addr, reinterpret_cast<socklen_t*>(f));
        case SYS_recvmsg:
            if (kind_of(fd) != FdKind::kUdp) break;
            return recvmsg(fd, reinterpret_cast<msghdr*>(b), static_cast<int>(c));
        case SYS_recvmmsg:
            if (kind_of(fd) != FdKind::kUdp) break;
            return recvmmsg(fd, reinterpret_cast<mmsghdr*>(b), static_cast<unsigned>(c),
                            static_cast<int>(d), reinterpret_cast<timespec*>(e));
        // A program the preload cannot act in must not start this way either.
        case SYS_execve:
            return execve(reinterpret_cast<const char*>(a), reinterpret_cast<char* const*>(b),
                          reinterpret_cast<char* const*>(c));
        case SYS_execveat:
            return execveat(fd, reinterpret_cast<const char*>(b), reinterpret_cast<char* const*>(c),
                            reinterpret_cast<char* const*>(d), static_cast<int>(e));
        default: break;
    }
    return socksify::shim::real::syscall(number, a, b, c, d, e, f);
}
