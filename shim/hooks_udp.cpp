// Exported datagram entry points. On an fd the shim does not own each costs one
// byte load and a branch before the real call (DESIGN.md, Fast path); owned UDP
// sockets go through udp_assoc.cpp. Every send form builds one msghdr and shares
// send_common; every receive form shares recv_common.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

#include "shim/audit.hpp"
#include "shim/dns_intercept.hpp"
#include "shim/export.hpp"
#include "shim/fd_table.hpp"
#include "shim/guard.hpp"
#include "shim/init.hpp"
#include "shim/io.hpp"
#include "shim/log.hpp"
#include "shim/real.hpp"
#include "shim/resolver.hpp"
#include "shim/route.hpp"
#include "shim/tcp_connect.hpp"
#include "shim/udp_assoc.hpp"

using namespace socksify::shim;

namespace {

bool is_inet(const sockaddr* a, socklen_t len) {
    return a != nullptr && ((a->sa_family == AF_INET && len >= sizeof(sockaddr_in)) ||
                            (a->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)));
}

int socket_type(int fd) {
    int type = 0;
    socklen_t len = sizeof type;
    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 ? type : -1;
}

// An fd the shim has not seen created (inherited across exec, made before we were
// loaded) sending to a proxied address: adopt it if it is UDP; a TCP Fast Open
// send is a connect in disguise and goes through the proxy first.
// Returns false when the call should go to libc unchanged.
bool claim_unknown(int fd, const msghdr* msg, int& flags, int& err) {
    const auto* dest = static_cast<const sockaddr*>(msg->msg_name);
    if (!is_inet(dest, msg->msg_namelen)) return false;
    ensure_ready();
    const Config& cfg = config();
    if (cfg.valid && (is_direct(cfg, dest) || is_remembered_direct(dest)) &&
        !is_intercepted_nameserver(cfg, dest, msg->msg_namelen))
        return false;
    int type = socket_type(fd);
    if (type == SOCK_DGRAM) {
        adopt_udp(fd);
        // An fd beyond the table cannot carry an association: refuse, never go direct.
        if (kind_of(fd) != FdKind::kUdp) err = EACCES;
        return true;
    }
    if (type == SOCK_STREAM && (flags & MSG_FASTOPEN)) {
        int domain = 0;
        socklen_t len = sizeof domain;
        // Another family is the kernel's error to give, as for connect.
        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != dest->sa_family)
            return false;
        err = proxied_tcp_connect(fd, dest, msg->msg_namelen, cfg);
        flags &= ~MSG_FASTOPEN;
        return true;
    }
    return false;
}

// One msghdr-shaped send for every send form. Returns what sendmsg would.
ssize_t send_common(int fd, const msghdr* msg, int flags) {
    int saved = errno;
    int err = 0;
    ssize_t n = 0;
    bool handled = false;
    {
        ShimScope scope;
        if (kind_of(fd) == FdKind::kNone && !claim_unknown(fd, msg, flags, err)) {
            handled = false;
        } else if (err == 0 && kind_of(fd) == FdKind::kUdp) {
            ensure_ready();
            handled = dns_udp_send(fd, msg, config(), n, err);  // DNS to a nameserver
            if (!handled) n = udp_sendmsg(fd, msg, flags, config(), err, handled);
        } else if (err == 0 && kind_of(fd) == FdKind::kDnsStream) {
            n = dns_stream_send(fd, msg, config(), err);
            handled = true;
        } else if (err == 0 && kind_of(fd) == FdKind::kTcpProxied) {
            // After a Fast Open connect: the data goes on the now-connected socket.
            msghdr plain = *msg;
            plain.msg_name = nullptr;
            plain.msg_namelen = 0;
            n = real::sendmsg(fd, &plain, flags);
            if (n < 0) err = errno;
            handled = true;
        } else {
            handled = err != 0;
            n = -1;
        }
    }
    if (!handled) {
        errno = saved;
        return real::sendmsg(fd, msg, flags);
    }
    if (n < 0) {
        errno = err;
        return -1;
    }
    errno = saved;
    return n;
}

// A UDP socket without an association yet: the receive runs here, outside the guard
// (it may block for long), and is looked at afterwards, since another thread's first
// send may open the association meanwhile and the relay's reply arrive here.
ssize_t recv_unassociated(int fd, msghdr* msg, int flags) {
    for (int drops = 0;; ++drops) {
        sockaddr_storage from{};
        msghdr in = *msg;
        in.msg_name = &from;
        in.msg_namelen = sizeof from;
        ssize_t n = real::recvmsg(fd, &in, flags);
        if (n < 0) return -1;
        ShimScope scope;
        dns_udp_source(fd, from, in.msg_namelen);  // an answer the shim wrote
        ssize_t m = udp_after_recv(fd, msg, in, n, flags, config());
        if (m >= 0 || drops == 64) return m >= 0 ? m : (errno = EAGAIN, -1);
        if (flags & MSG_PEEK) (void)real::recv(fd, &from, 0, MSG_DONTWAIT);  // consume it
    }
}

ssize_t recv_common(int fd, msghdr* msg, int flags, bool& handled) {
    int saved = errno;
    int err = 0;
    ssize_t n;
    bool unassociated = false;
    {
        ShimScope scope;
        ensure_ready();
        n = udp_recvmsg(fd, msg, flags, config(), err, handled);
        unassociated = !handled && udp_unassociated(fd);
    }
    if (unassociated) {
        handled = true;
        n = recv_unassociated(fd, msg, flags);
        if (n >= 0) errno = saved;
        return n;
    }
    if (!handled) return 0;
    if (n < 0) {
        errno = err;
        return -1;
    }
    errno = saved;
    return n;
}

msghdr one_buffer(iovec& iov, const void* buf, size_t len, const sockaddr* addr,
                  socklen_t addr_len) {
    iov = {const_cast<void*>(buf), len};
    msghdr m{};
    m.msg_name = const_cast<sockaddr*>(addr);
    m.msg_namelen = addr_len;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    return m;
}

// Only sockets the shim owns, or unknown ones sending to an address, leave the
// fast path.
bool send_fast(int fd, const void* addr) {
    FdKind k = kind_of(fd);
    if (k == FdKind::kNone) [[likely]]
        return addr == nullptr || inside_shim();
    return k == FdKind::kTcpProxied || inside_shim();
}

bool recv_fast(int fd) { return !is_udp(kind_of(fd)) || inside_shim(); }

// Sockets whose traffic the shim carries or that stay on this host: local, netlink,
// kernel crypto, and TCP/UDP over IPv4/IPv6.
bool is_carried(int domain, int type, int protocol) {
    int base = type & 0xff;
    switch (domain) {
        case AF_UNIX:
        case AF_NETLINK:
        case AF_ALG: return true;
        case AF_INET:
        case AF_INET6:
            if (base == SOCK_STREAM)
                return protocol == 0 || protocol == IPPROTO_TCP || protocol == IPPROTO_MPTCP;
            if (base == SOCK_DGRAM) return protocol == 0 || protocol == IPPROTO_UDP;
            return false;
        default: return false;
    }
}

// Strict mode refuses every other socket (raw, packet, ICMP ping, SCTP, vsock, …):
// it could reach the network around the proxy. Returns 0 or EACCES.
int refuse_in_strict_mode(int domain, int type, int protocol) {
    ensure_ready();
    const Config& cfg = config();
    if (!cfg.strict) return 0;
    log_line(LogLevel::kError,
             "refusing socket(domain %d, type %d, protocol %d): it could bypass the proxy "
             "(--strict)",
             domain, type & 0xff, protocol);
    audit_denied(cfg, audit_event(AuditKind::kRefusal, nullptr), "strict");
    return EACCES;
}

}  // namespace

SOCKSIFY_EXPORT int socket(int domain, int type, int protocol) {
    if (!inside_shim() && !is_carried(domain, type, protocol)) {
        int err = 0;
        {
            ShimScope scope;
            err = refuse_in_strict_mode(domain, type, protocol);
        }
        if (err != 0) {
            errno = err;
            return -1;
        }
    }
    int fd = real::socket(domain, type, protocol);
    // A record under this number outlived its fd (closed by fclose(), or by a system
    // call we do not see): it describes nothing now.
    if (kind_of(fd) != FdKind::kNone) [[unlikely]] {
        int saved = errno;
        release_fd(fd);
        errno = saved;
    }
    if (fd >= 0 && (domain == AF_INET || domain == AF_INET6) && (type & 0xff) == SOCK_DGRAM &&
        (protocol == 0 || protocol == IPPROTO_UDP))
        adopt_udp(fd);
    return fd;
}

SOCKSIFY_EXPORT ssize_t sendto(int fd, const void* buf, size_t len, int flags, const sockaddr* to,
                               socklen_t tolen) {
    if (send_fast(fd, to)) [[likely]]
        return real::sendto(fd, buf, len, flags, to, tolen);
    iovec iov;
    msghdr m = one_buffer(iov, buf, len, to, tolen);
    return send_common(fd, &m, flags);
}

SOCKSIFY_EXPORT ssize_t send(int fd, const void* buf, size_t len, int flags) {
    if (send_fast(fd, nullptr)) [[likely]]
        return real::send(fd, buf, len, flags);
    iovec iov;
    msghdr m = one_buffer(iov, buf, len, nullptr, 0);
    return send_common(fd, &m, flags);
}

SOCKSIFY_EXPORT ssize_t write(int fd, const void* buf, size_t len) {
    if (send_fast(fd, nullptr)) [[likely]]
        return real::write(fd, buf, len);
    iovec iov;
    msghdr m = one_buffer(iov, buf, len, nullptr, 0);
    return send_common(fd, &m, 0);
}

SOCKSIFY_EXPORT ssize_t writev(int fd, const iovec* iov, int n) {
    if (send_fast(fd, nullptr) || n < 0) [[likely]]
        return real::writev(fd, iov, n);
    msghdr m{};
    m.msg_iov = const_cast<iovec*>(iov);
    m.msg_iovlen = static_cast<size_t>(n);
    return send_common(fd, &m, 0);
}

SOCKSIFY_EXPORT ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
    if (msg == nullptr || send_fast(fd, msg->msg_name)) [[likely]]
        return real::sendmsg(fd, msg, flags);
    return send_common(fd, msg, flags);
}

SOCKSIFY_EXPORT int sendmmsg(int fd, mmsghdr* vec, unsigned vlen, int flags) {
    bool any_addr = false;
    for (unsigned i = 0; vec != nullptr && i < vlen && !any_addr; ++i)
        any_addr = vec[i].msg_hdr.msg_name != nullptr;
    if (vec == nullptr || send_fast(fd, any_addr ? vec : nullptr)) [[likely]]
        return real::sendmmsg(fd, vec, vlen, flags);
    // One datagram at a time: each may need its own header and route. A partial
    // result is a success: errno stays as it was, as with the kernel's sendmmsg.
    int saved = errno;
    for (unsigned i = 0; i < vlen; ++i) {
        ssize_t n = send_common(fd, &vec[i].msg_hdr, flags);
        if (n < 0) {
            if (i == 0) return -1;
            errno = saved;
            return static_cast<int>(i);
        }
        vec[i].msg_len = static_cast<unsigned>(n);
    }
    return static_cast<int>(vlen);
}

SOCKSIFY_EXPORT ssize_t recvfrom(int fd, void* buf, size_t len, int flags, sockaddr* from,
                                 socklen_t* fromlen) {
    if (recv_fast(fd)) [[likely]]
        return real::recvfrom(fd, buf, len, flags, from, fromlen);
    iovec iov;
    msghdr m = one_buffer(iov, buf, len, from, fromlen != nullptr ? *fromlen : 0);
    if (fromlen == nullptr) m.msg_name = nullptr;
    bool handled = false;
    ssize_t n = recv_common(fd, &m, flags, handled);
    if (!handled) return real::recvfrom(fd, buf, len, flags, from, fromlen);
    if (n >= 0 && fromlen != nullptr) *fromlen = m.msg_namelen;
    return n;
}

SOCKSIFY_EXPORT ssize_t recv(int fd, void* buf, size_t len, int flags) {
    if (recv_fast(fd)) [[likely]]
        return real::recv(fd, buf, len, flags);
    iovec iov;
    msghdr m = one_buffer(iov, buf, len, nullptr, 0);
    bool handled = false;
    ssize_t n = recv_common(fd, &m, flags, handled);
    return handled ? n : real::recv(fd, buf, len, flags);
}

SOCKSIFY_EXPORT ssize_t read(int fd, void* buf, size_t len) {
    if (recv_fast(fd)) [[likely]]
        return real::read(fd, buf, len);
    iovec iov;
    msghdr m = one_buffer(iov, buf, len, nullptr, 0);
    bool handled = false;
    ssize_t n = recv_common(fd, &m, 0, handled);
    return handled ? n : real::read(fd, buf, len);
}

SOCKSIFY_EXPORT ssize_t readv(int fd, const iovec* iov, int cnt) {
    if (recv_fast(fd) || cnt < 0) [[likely]]
        return real::readv(fd, iov, cnt);
    msghdr m{};
    m.msg_iov = const_cast<iovec*>(iov);
    m.msg_iovlen = static_cast<size_t>(cnt);
    bool handled = false;
    ssize_t n = recv_common(fd, &m, 0, handled);
    return handled ? n : real::readv(fd, iov, cnt);
}

SOCKSIFY_EXPORT ssize_t recvmsg(int fd, msghdr* msg, int flags) {
    if (msg == nullptr || recv_fast(fd)) [[likely]]
        return real::recvmsg(fd, msg, flags);
    bool handled = false;
    ssize_t n = recv_common(fd, msg, flags, handled);
    return handled ? n : real::recvmsg(fd, msg, flags);
}

SOCKSIFY_EXPORT int recvmmsg(int fd, mmsghdr* vec, unsigned vlen, int flags, timespec* timeout) {
    if (vec == nullptr || recv_fast(fd)) [[likely]]
        return real::recvmmsg(fd, vec, vlen, flags, timeout);
    // One datagram at a time, keeping recvmmsg's rules: MSG_WAITFORONE makes every
    // datagram after the first non-blocking, and the timeout is checked after each
    // datagram (recvmmsg(2), BUGS: it does not bound the wait for one).
    int saved = errno;
    int64_t end_ns =
        timeout != nullptr ? monotonic_ns() + timeout->tv_sec * 1000000000LL + timeout->tv_nsec : 0;
    for (unsigned i = 0; i < vlen; ++i) {
        int f = flags & ~MSG_WAITFORONE;
        if (i > 0 && (flags & MSG_WAITFORONE)) f |= MSG_DONTWAIT;
        bool handled = false;
        ssize_t n = recv_common(fd, &vec[i].msg_hdr, f, handled);
        if (!handled) {
            if (i > 0) return static_cast<int>(i);
            return real::recvmmsg(fd, vec, vlen, flags, timeout);
        }
        if (n < 0) {
            if (i == 0) return -1;
            errno = saved;
            return static_cast<int>(i);
        }
        vec[i].msg_len = static_cast<unsigned>(n);
        if (timeout != nullptr && monotonic_ns() >= end_ns) return static_cast<int>(i + 1);
    }
    return static_cast<int>(vlen);
}

// glibc's public aliases of the hooks above (callable by name through dlsym or ctypes).
SOCKSIFY_EXPORT_ALIAS(socket, __socket)
SOCKSIFY_EXPORT_ALIAS(send, __send)
SOCKSIFY_EXPORT_ALIAS(sendmmsg, __sendmmsg)
SOCKSIFY_EXPORT_ALIAS(recv, __recv)
SOCKSIFY_EXPORT_ALIAS(read, __read)
SOCKSIFY_EXPORT_ALIAS(write, __write)

// _FORTIFY_SOURCE turns read/recv/recvfrom with a known buffer size into these
// (glibc debug/*_chk.c): the size check, then the same hooks.
extern "C" [[noreturn]] void __chk_fail(void);

SOCKSIFY_EXPORT ssize_t __read_chk(int fd, void* buf, size_t len, size_t buflen) {
    if (len > buflen) __chk_fail();
    return read(fd, buf, len);
}

SOCKSIFY_EXPORT ssize_t __recv_chk(int fd, void* buf, size_t len, size_t buflen, int flags) {
    if (len > buflen) __chk_fail();
    return recv(fd, buf, len, flags);
}

SOCKSIFY_EXPORT ssize_t __recvfrom_chk(int fd, void* buf, size_t len, size_t buflen, int flags,
                                       sockaddr* from, socklen_t* fromlen) {
    if (len > buflen) __chk_fail();
    return recvfrom(fd, buf, len, flags, from, fromlen);
}
