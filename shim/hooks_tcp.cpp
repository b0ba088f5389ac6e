// Exported TCP entry points: connect and getpeername. They only route; the work is
// in tcp_connect.cpp.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "shim/dns_intercept.hpp"
#include "shim/export.hpp"
#include "shim/fd_table.hpp"
#include "shim/guard.hpp"
#include "shim/init.hpp"
#include "shim/real.hpp"
#include "shim/resolver.hpp"
#include "shim/route.hpp"
#include "shim/tcp_connect.hpp"
#include "shim/udp_assoc.hpp"

namespace socksify::shim {
namespace {

bool is_inet(const sockaddr* a, socklen_t len) {
    if (a == nullptr) return false;
    if (a->sa_family == AF_INET) return len >= sizeof(sockaddr_in);
    if (a->sa_family == AF_INET6) return len >= sizeof(sockaddr_in6);
    return false;
}

bool is_stream_of_family(int fd, int family) {
    int type = 0;
    int domain = 0;
    socklen_t n = sizeof type;
    socklen_t m = sizeof domain;
    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &n) == 0 && type == SOCK_STREAM &&
           getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &m) == 0 && domain == family;
}

bool is_datagram(int fd) {
    int type = 0;
    socklen_t n = sizeof type;
    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &n) == 0 && type == SOCK_DGRAM;
}

// Returns 0 or an errno; *handled is false when the call must go to libc unchanged.
int proxied_connect(int fd, const sockaddr* dest, socklen_t len, bool& handled) {
    handled = false;
    ensure_ready();
    const Config& cfg = config();
    int dns_err = 0;
    if (dns_intercept_connect(fd, dest, len, cfg, dns_err)) {
        handled = true;  // a nameserver under remote DNS: answered here, never reached
        return dns_err;
    }
    if (kind_of(fd) != FdKind::kUdp && cfg.valid &&
        (is_direct(cfg, dest) || is_remembered_direct(dest)))
        return 0;
    if (kind_of(fd) == FdKind::kUdp) return udp_connect(fd, dest, len, cfg, handled);
    // A stream socket of another family, or not a stream socket: the kernel's own
    // answer.
    if (!is_stream_of_family(fd, dest->sa_family)) {
        if (is_datagram(fd)) {
            adopt_udp(fd);  // made before the shim was loaded
            return udp_connect(fd, dest, len, cfg, handled);
        }
        return 0;
    }
    handled = true;
    if (kind_of(fd) == FdKind::kTcpProxied) {
        sockaddr_storage peer;
        socklen_t peer_len = sizeof peer;
        if (real::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0)
            return EISCONN;
        release_fd(fd);  // a stale record: this socket is new under an old number
    }
    return proxied_tcp_connect(fd, dest, len, cfg);
}

}  // namespace
}  // namespace socksify::shim

using namespace socksify::shim;

SOCKSIFY_EXPORT int connect(int fd, const sockaddr* addr, socklen_t len) {
    if (inside_shim()) return real::connect(fd, addr, len);
    if (!is_inet(addr, len)) {
        // AF_UNSPEC dissolves a UDP socket's connection, proxied or not.
        if (kind_of(fd) == FdKind::kUdp && addr != nullptr && addr->sa_family == AF_UNSPEC)
            if (FdRecord* rec = fd_record(fd)) rec->udp.connected = false;
        return real::connect(fd, addr, len);
    }
    int saved = errno;
    bool handled = false;
    int err;
    {
        ShimScope scope;
        err = proxied_connect(fd, addr, len, handled);
    }
    if (!handled) {
        errno = saved;
        return real::connect(fd, addr, len);
    }
    if (err != 0) {
        errno = err;
        return -1;
    }
    errno = saved;
    return 0;
}

SOCKSIFY_EXPORT int getpeername(int fd, sockaddr* addr, socklen_t* len) {
    FdKind k = kind_of(fd);
    bool ours = k == FdKind::kTcpProxied || k == FdKind::kDnsStream ||
                (k == FdKind::kUdp && udp_connected(fd));
    if (!ours || inside_shim() || addr == nullptr || len == nullptr)
        return real::getpeername(fd, addr, len);
    FdRecord* rec = fd_record(fd);
    if (rec == nullptr) return real::getpeername(fd, addr, len);
    // POSIX: truncate to the caller's buffer and report the full length.
    memcpy(addr, &rec->peer, *len < rec->peer_len ? *len : rec->peer_len);
    *len = rec->peer_len;
    return 0;
}

// glibc's public aliases: a program calling them by name must meet the same hooks.
SOCKSIFY_EXPORT_ALIAS(connect, __connect)
