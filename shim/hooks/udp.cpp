// Exported datagram entry points. On an fd the shim does not own each costs one
// byte load and a branch before the real call (docs/ARCHITECTURE.md, Fast path); owned UDP
// sockets go through udp_assoc.cpp. Every send form builds one msghdr and shares
// send_common; every receive form shares recv_common.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string_view>

#include "shim/address_form.hpp"
#include "shim/audit.hpp"
#include "shim/direct_memory.hpp"
#include "shim/dns/dns_intercept.hpp"
#include "shim/fd_table.hpp"
#include "shim/guard.hpp"
#include "shim/hooks/export.hpp"
#include "shim/init.hpp"
#include "shim/io.hpp"
#include "shim/log.hpp"
#include "shim/proxy/tcp_connect.hpp"
#include "shim/proxy/udp_assoc.hpp"
#include "shim/real.hpp"

using namespace socksify::shim;

namespace {

// What send_common did with a send.
struct Sent {
    bool pass = false;  // nothing done: the caller makes its own libc call, unchanged
    ssize_t n = 0;      // else the result, -1 with err
    int err = 0;
};

Sent done(ssize_t n, int err) { return {false, n, err}; }

// A form the kernel refuses goes to it with the address zeroed, through the same
// entry (sendto and sendmsg read a zero length differently): its own errno.
Sent neutral_send(int fd, const msghdr* msg, int flags, Entry entry) {
    sockaddr_storage zeroed;
    msghdr m = *msg;
    m.msg_namelen =
        neutral_copy(static_cast<const sockaddr*>(msg->msg_name), msg->msg_namelen, zeroed);
    m.msg_name = &zeroed;
    ssize_t n = entry == Entry::kSendto  // one_buffer made msg: one iovec
                    ? real::sendto(fd, m.msg_iov[0].iov_base, m.msg_iov[0].iov_len, flags,
                                   reinterpret_cast<sockaddr*>(&zeroed), m.msg_namelen)
                    : real::sendmsg(fd, &m, flags);
    return done(n, n < 0 ? errno : 0);
}

// A send to a destination on a socket the shim did not own yet (made before it was
// loaded, or a TCP socket): a datagram socket is adopted; a TCP Fast Open send is a
// connect in disguise and goes through the proxy first, then its data.
Sent claim(int fd, const SocketShape& shape, const msghdr* msg, const AddressForm& f, int flags,
           const Config& cfg) {
    const auto* dest = reinterpret_cast<const sockaddr*>(&f.dest);
    if (shape.proto == Proto::kTcp) {
        if (int err = proxied_tcp_connect(fd, dest, f.dest_len, cfg)) return done(-1, err);
        msghdr plain = *msg;
        plain.msg_name = nullptr;
        plain.msg_namelen = 0;
        ssize_t n = real::sendmsg(fd, &plain, flags & ~MSG_FASTOPEN);
        return done(n, n < 0 ? errno : 0);
    }
    adopt_udp(fd);
    if (kind_of(fd) != FdKind::kUdp) {
        // An fd beyond the table cannot carry an association: refuse, never go direct.
        log_line(LogLevel::kError, "refusing datagram on fd %d: beyond the fd table", fd);
        audit_denied(cfg, audit_event(AuditKind::kRefusal, dest), "fd-table");
        return done(-1, EACCES);
    }
    return {true};  // now ours: the UDP path takes it
}

// The route of one send on fd (not on the fast path). flags may lose MSG_FASTOPEN.
// A record is checked against its socket (live_kind) only where it is acted on: a
// datagram wrapped or unwrapped, a refused form, an answer from the record. A call
// passed to libc unchanged is right whatever the number names by now.
Sent route_send(int fd, const msghdr* msg, int flags, Entry entry) {
    FdKind k = kind_of(fd);
    const auto* name = static_cast<const sockaddr*>(msg->msg_name);
    socklen_t name_len = msg->msg_namelen;
    bool fastopen = (flags & MSG_FASTOPEN) != 0;
    // Still connecting through the proxy: nothing of the program's may reach it yet.
    if (k == FdKind::kTcpPending) return done(-1, fastopen ? EALREADY : EAGAIN);
    if (k == FdKind::kTcpProxied) {
        sockaddr_storage peer;
        socklen_t peer_len = sizeof peer;
        // Connected (through the proxy): the kernel ignores the name, or refuses a Fast
        // Open with EISCONN. Dissolved: a socket like any other.
        if (name == nullptr || !fastopen ||
            real::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0)
            return {true};
        release_fd(fd);
        k = FdKind::kNone;
    }
    if (is_hidden(k)) return {true};
    ensure_ready();
    const Config& cfg = config();
    // Supervised: the supervisor judges every addressed send; only a socket of ours
    // wraps its datagrams for the relay, which the supervisor re-judges and sends
    // (udp_assoc.hpp, supervised runs).
    if (cfg.supervised && k != FdKind::kUdp) return {true};
    if (k == FdKind::kDnsStream) {  // queries to a nameserver, answered into the stream
        int err = 0;
        ssize_t n = dns_stream_send(fd, msg, cfg, err);
        return done(n, err);
    }
    msghdr routed = *msg;
    AddressForm f;
    if (k == FdKind::kNone) {
        if (!may_be_inet(name, name_len)) return {true};  // the kernel's own refusal, or no name
        SocketShape shape;
        if (!socket_shape(fd, shape)) return {true};
        f = classify_fd(fd, shape, entry, fastopen, name, name_len);
        switch (f.form) {
            case Form::kDest: break;
            case Form::kRejected: return neutral_send(fd, msg, flags, entry);
            case Form::kUnknown: {
                int err = refuse_unclassified(fd, shape, "send");
                return err != 0 ? done(-1, err) : Sent{true};
            }
            default: return {true};  // ignored, or no destination: the socket's own peer
        }
        const auto* dest = reinterpret_cast<const sockaddr*>(&f.dest);
        // A nameserver under remote DNS is DNS whatever its direct status.
        if (goes_direct(cfg, dest) && !is_intercepted_nameserver(cfg, dest, f.dest_len))
            return {true};
        Sent claimed = claim(fd, shape, msg, f, flags, cfg);
        if (!claimed.pass) return claimed;
        routed.msg_name = &f.dest;
        routed.msg_namelen = f.dest_len;
    } else if (name != nullptr) {
        FdRecord* rec = fd_record(fd);
        SocketShape shape{rec != nullptr ? rec->domain : AF_UNSPEC, Proto::kUdp, false};
        f = classify_fd(fd, shape, entry, false, name, name_len);
        switch (f.form) {
            case Form::kDest:
                routed.msg_name = &f.dest;
                routed.msg_namelen = f.dest_len;
                break;
            case Form::kNoDest:  // to the connected peer, which may be proxied
                routed.msg_name = nullptr;
                routed.msg_namelen = 0;
                break;
            default:
                if (live_kind(fd) == FdKind::kNone) return {true};  // not the socket it was
                return neutral_send(fd, msg, flags, entry);
        }
    }
    int err = 0;
    ssize_t n = 0;
    if (!cfg.supervised && dns_udp_send(fd, &routed, cfg, n, err))
        return done(n, err);  // DNS to a nameserver (supervised: the supervisor's)
    bool handled = false;
    n = udp_sendmsg(fd, &routed, flags, cfg, err, handled);
    if (!handled) return {true};  // direct, or not connected through the proxy
    return done(n, err);
}

// One msghdr-shaped send for every send form: the route, or pass (the caller's own
// libc call, so write() on a number that turned out not to be a socket stays write()).
Sent send_common(int fd, const msghdr* msg, int flags, Entry entry) {
    int saved = errno;
    Sent r;
    {
        ShimScope scope;
        r = route_send(fd, msg, flags, entry);
    }
    if (r.pass) {
        errno = saved;
    } else if (r.n < 0) {
        errno = r.err;
    } else {
        errno = saved;
    }
    return r;
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
    if (kind_of(fd) == FdKind::kTcpPending) {  // a socket still connecting has nothing yet
        handled = true;
        errno = EAGAIN;
        return -1;
    }
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
        if (n >= 0) {
            errno = saved;
        } else if (errno == ENOTSOCK) {
            // The record outlived its socket (a close the shim did not see): the
            // caller's own call on whatever the number names now.
            ShimScope scope;
            (void)live_kind(fd);
            handled = false;
            errno = saved;
            return 0;
        }
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
// A proxied TCP socket leaves it only for a Fast Open send to an address (it may
// have been dissolved since).
bool send_fast(int fd, const void* addr, int flags) {
    FdKind k = kind_of(fd);
    if (k == FdKind::kNone) [[likely]]
        return addr == nullptr || inside_shim();
    if (k == FdKind::kTcpProxied)
        return addr == nullptr || !(flags & MSG_FASTOPEN) || inside_shim();
    return inside_shim();
}

bool recv_fast(int fd) {
    FdKind k = kind_of(fd);
    return (!is_udp(k) && k != FdKind::kTcpPending) || inside_shim();
}

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

// Supervised (--strict): UDP sockets are the kernel's and the supervisor's alone.
bool supervised_run() {
    if (inside_shim()) return config().supervised;  // never wait for our own start
    ShimScope scope;
    ensure_ready();
    return config().supervised;
}

// Strict mode refuses every other socket (raw, packet, ICMP ping, SCTP, vsock, …):
// it could reach the network around the proxy. Returns 0 or EACCES.
int refuse_in_strict_mode(int domain, int type, int protocol) {
    ensure_ready();
    const Config& cfg = config();
    if (!cfg.strict) return 0;
    char dom[24], typ[48], what[96];
    format_domain(domain, dom, sizeof dom);
    format_socket_type(type, typ, sizeof typ);
    log_line(LogLevel::kError,
             "refusing socket(domain %d, type %d, protocol %d): %s %s could bypass the proxy "
             "(--strict)",
             domain, type & 0xff, protocol, dom, typ);
    // The record names what was refused: socket(AF_PACKET, SOCK_RAW, 768).
    int n = std::snprintf(what, sizeof what, "socket(%s, %s, %d)", dom, typ, protocol);
    std::string_view name(what, n > 0 ? static_cast<size_t>(n) : 0);
    audit_denied(cfg, audit_event(AuditKind::kRefusal, nullptr, name), "strict");
    return EACCES;
}

}  // namespace

SOCKSIFY_EXPORT int socket(int domain, int type, int protocol) {
    // Supervised, the kernel's filter refuses and the supervisor records it.
    if (!inside_shim() && !is_carried(domain, type, protocol) && !supervised_run()) {
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
    // Its shape, so connect() routes it without asking the kernel (issue 15).
    if (fd >= 0 && !inside_shim()) {
        int saved = errno;
        remember_new_socket(fd, domain, type, protocol);
        errno = saved;
    }
    return fd;
}

SOCKSIFY_EXPORT ssize_t sendto(int fd, const void* buf, size_t len, int flags, const sockaddr* to,
                               socklen_t tolen) {
    if (send_fast(fd, to, flags)) [[likely]]
        return real::sendto(fd, buf, len, flags, to, tolen);
    iovec iov;
    msghdr m = one_buffer(iov, buf, len, to, tolen);
    Sent r = send_common(fd, &m, flags, Entry::kSendto);
    return r.pass ? real::sendto(fd, buf, len, flags, to, tolen) : r.n;
}

SOCKSIFY_EXPORT ssize_t send(int fd, const void* buf, size_t len, int flags) {
    if (send_fast(fd, nullptr, flags)) [[likely]]
        return real::send(fd, buf, len, flags);
    iovec iov;
    msghdr m = one_buffer(iov, buf, len, nullptr, 0);
    Sent r = send_common(fd, &m, flags, Entry::kSendmsg);
    return r.pass ? real::send(fd, buf, len, flags) : r.n;
}

SOCKSIFY_EXPORT ssize_t write(int fd, const void* buf, size_t len) {
    if (send_fast(fd, nullptr, 0)) [[likely]]
        return real::write(fd, buf, len);
    iovec iov;
    msghdr m = one_buffer(iov, buf, len, nullptr, 0);
    Sent r = send_common(fd, &m, 0, Entry::kSendmsg);
    return r.pass ? real::write(fd, buf, len) : r.n;
}

SOCKSIFY_EXPORT ssize_t writev(int fd, const iovec* iov, int n) {
    if (send_fast(fd, nullptr, 0) || n < 0) [[likely]]
        return real::writev(fd, iov, n);
    msghdr m{};
    m.msg_iov = const_cast<iovec*>(iov);
    m.msg_iovlen = static_cast<size_t>(n);
    Sent r = send_common(fd, &m, 0, Entry::kSendmsg);
    return r.pass ? real::writev(fd, iov, n) : r.n;
}

SOCKSIFY_EXPORT ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
    if (msg == nullptr || send_fast(fd, msg->msg_name, flags)) [[likely]]
        return real::sendmsg(fd, msg, flags);
    Sent r = send_common(fd, msg, flags, Entry::kSendmsg);
    return r.pass ? real::sendmsg(fd, msg, flags) : r.n;
}

SOCKSIFY_EXPORT int sendmmsg(int fd, mmsghdr* vec, unsigned vlen, int flags) {
    bool any_addr = false;
    for (unsigned i = 0; vec != nullptr && i < vlen && !any_addr; ++i)
        any_addr = vec[i].msg_hdr.msg_name != nullptr;
    if (vec == nullptr || send_fast(fd, any_addr ? vec : nullptr, flags)) [[likely]]
        return real::sendmmsg(fd, vec, vlen, flags);
    // One datagram at a time: each may need its own header and route. A partial
    // result is a success: errno stays as it was, as with the kernel's sendmmsg.
    int saved = errno;
    for (unsigned i = 0; i < vlen; ++i) {
        Sent r = send_common(fd, &vec[i].msg_hdr, flags, Entry::kSendmsg);
        ssize_t n = r.pass ? real::sendmsg(fd, &vec[i].msg_hdr, flags) : r.n;
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
