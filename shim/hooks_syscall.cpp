// syscall(2): libuv (dig, node) calls sendmmsg/recvmmsg through syscall() rather
// than through their libc wrappers; those numbers are routed to our hooks, every
// other number passes straight through.
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdarg>

#include "shim/export.hpp"
#include "shim/fd_table.hpp"
#include "shim/real.hpp"

SOCKSIFY_EXPORT int sendmmsg(int fd, mmsghdr* vec, unsigned vlen, int flags);
SOCKSIFY_EXPORT int recvmmsg(int fd, mmsghdr* vec, unsigned vlen, int flags, timespec* timeout);

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
    if ((number == SYS_sendmmsg || number == SYS_recvmmsg) &&
        kind_of(static_cast<int>(a)) == FdKind::kUdp) {
        auto* vec = reinterpret_cast<mmsghdr*>(b);
        if (number == SYS_sendmmsg)
            return sendmmsg(static_cast<int>(a), vec, static_cast<unsigned>(c),
                            static_cast<int>(d));
        return recvmmsg(static_cast<int>(a), vec, static_cast<unsigned>(c), static_cast<int>(d),
                        reinterpret_cast<timespec*>(e));
    }
    return socksify::shim::real::syscall(number, a, b, c, d, e, f);
}
