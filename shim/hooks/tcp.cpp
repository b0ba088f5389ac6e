// Exported TCP entry points: connect and getpeername. They only route; the work is
// in tcp_connect.cpp.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "shim/address_form.hpp"
#include "shim/direct_memory.hpp"
#include "shim/dns/dns_intercept.hpp"
#include "shim/fd_table.hpp"
#include "shim/guard.hpp"
#include "shim/hooks/export.hpp"
#include "shim/init.hpp"
#include "shim/proxy/tcp_connect.hpp"
#include "shim/proxy/udp_assoc.hpp"
#include "shim/real.hpp"

namespace socksify::shim {
namespace {

// What the connect hook does with a call.
struct ConnectRoute {
    enum What : uint8_t {
        kPass,        // libc's connect, unchanged
        kNeutral,     // libc's connect with the address zeroed: a form the kernel refuses
        kDisconnect,  // libc's connect, then the records follow (AF_UNSPEC)
        kDone,        // answered here: err
    } what = kPass;
    int err = 0;
};

// fresh: fd's record names its socket now (see proxied_tcp_connect).
ConnectRoute connect_tcp(int fd, FdKind k, const sockaddr* dest, socklen_t len, const Config& cfg,
                         bool fresh) {
    if (goes_direct(cfg, dest)) return {};
    if (k == FdKind::kTcpPending) return {ConnectRoute::kDone, EALREADY};  // as the kernel's
    if (k == FdKind::kTcpProxied) {
        sockaddr_storage peer;
        socklen_t peer_len = sizeof peer;
        if (real::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0)
            return {ConnectRoute::kDone, EISCONN};
        release_fd(fd);  // dissolved, or reset: no longer connected through the proxy
    }
    return {ConnectRoute::kDone, proxied_tcp_connect(fd, dest, len, cfg, fresh)};
}

ConnectRoute route_connect(int fd, const sockaddr* addr, socklen_t len) {
    FdKind k = live_kind(fd);
    SocketShape shape;
    // The shape the socket() hook recorded, while the record names this socket (an
    // owned one live_kind just checked); else the kernel's answer: fds made by calls
    // the shim does not see, inherited, received or dup'ed.
    bool fresh = false;
    if (!recorded_shape(fd, k != FdKind::kNone && !is_hidden(k), shape, fresh) &&
        !socket_shape(fd, shape))
        return {};  // not an AF_INET/AF_INET6 socket
    AddressForm f = classify_fd(fd, shape, Entry::kConnect, false, addr, len);
    switch (f.form) {
        case Form::kDest: break;
        case Form::kRejected: return {ConnectRoute::kNeutral};
        case Form::kDisconnect: return {ConnectRoute::kDisconnect};
        case Form::kUnknown: {
            int err = refuse_unclassified(fd, shape, "connect");
            return err != 0 ? ConnectRoute{ConnectRoute::kDone, err} : ConnectRoute{};
        }
        default: return {};
    }
    ensure_ready();
    const Config& cfg = config();
    // The supervisor decides and makes the connection from its own copy of the address
    // (a nameserver's included: it answers from its own fake-DNS table). A UDP socket
    // of ours only notes its proxied peer: its datagrams go to the relay by address.
    const auto* dest = reinterpret_cast<const sockaddr*>(&f.dest);
    if (cfg.supervised) {
        if (shape.proto != Proto::kUdp || k != FdKind::kUdp) return {};
        bool handled = false;
        int err = udp_connect(fd, dest, f.dest_len, cfg, handled);
        return handled ? ConnectRoute{ConnectRoute::kDone, err} : ConnectRoute{};
    }
    // A nameserver under remote DNS, whatever its direct status: answered here (the
    // socket talks to itself), never reached.
    int dns_err = 0;
    if (dns_intercept_connect(fd, dest, f.dest_len, cfg, dns_err))
        return {ConnectRoute::kDone, dns_err};
    if (shape.proto == Proto::kTcp) return connect_tcp(fd, k, dest, f.dest_len, cfg, fresh);
    if (k != FdKind::kUdp) adopt_udp(fd);  // made before the shim was loaded
    bool handled = false;
    int err = udp_connect(fd, dest, f.dest_len, cfg, handled);
    return handled ? ConnectRoute{ConnectRoute::kDone, err} : ConnectRoute{};
}

// After a successful connect(AF_UNSPEC): the socket is connected to nothing now.
void dissolved(int fd) {
    FdKind k = kind_of(fd);
    if (k == FdKind::kTcpProxied) {
        set_kind(fd, FdKind::kNone);
    } else if (k == FdKind::kUdp) {
        if (FdRecord* rec = fd_record(fd)) rec->udp.connected = false;
    }
}

}  // namespace
}  // namespace socksify::shim

using namespace socksify::shim;

SOCKSIFY_EXPORT int connect(int fd, const sockaddr* addr, socklen_t len) {
    if (inside_shim()) return real::connect(fd, addr, len);
    // A family no AF_INET/AF_INET6 socket takes (AF_UNIX, …) on a socket that is not
    // ours: the kernel's call alone.
    if (kind_of(fd) == FdKind::kNone && !may_be_inet(addr, len))
        return real::connect(fd, addr, len);
    int saved = errno;
    ConnectRoute v;
    {
        ShimScope scope;
        v = route_connect(fd, addr, len);
    }
    switch (v.what) {
        case ConnectRoute::kPass: errno = saved; return real::connect(fd, addr, len);
        case ConnectRoute::kNeutral: {
            sockaddr_storage zeroed;
            socklen_t n = neutral_copy(addr, len, zeroed);
            errno = saved;
            return real::connect(
                fd, addr != nullptr ? reinterpret_cast<sockaddr*>(&zeroed) : nullptr, n);
        }
        case ConnectRoute::kDisconnect: {
            errno = saved;
            int rc = real::connect(fd, addr, len);
            if (rc == 0) {
                ShimScope scope;
                dissolved(fd);
            }
            return rc;
        }
        case ConnectRoute::kDone: break;
    }
    if (v.err != 0) {
        errno = v.err;
        return -1;
    }
    errno = saved;
    return 0;
}

SOCKSIFY_EXPORT int getpeername(int fd, sockaddr* addr, socklen_t* len) {
    FdKind k = kind_of(fd);
    if (k == FdKind::kNone) [[likely]]
        return real::getpeername(fd, addr, len);
    if (is_pending(k) && !inside_shim()) {  // not connected to the destination (yet)
        errno = ENOTCONN;
        return -1;
    }
    bool ours = k == FdKind::kTcpProxied || k == FdKind::kDnsStream ||
                (k == FdKind::kUdp && udp_connected(fd));
    if (!ours || inside_shim() || addr == nullptr || len == nullptr)
        return real::getpeername(fd, addr, len);
    // The socket's real state first: dissolved or reset, the kernel's ENOTCONN.
    sockaddr_storage actual;
    socklen_t actual_len = sizeof actual;
    // Supervised, a proxied UDP socket stays unconnected in the kernel (udp_assoc.cpp).
    bool unconnected = k == FdKind::kUdp && config().supervised;
    if (!unconnected &&
        real::getpeername(fd, reinterpret_cast<sockaddr*>(&actual), &actual_len) != 0)
        return -1;
    FdRecord* rec = nullptr;
    {
        ShimScope scope;
        k = live_kind(fd);  // the number may name another socket by now
        if (k == FdKind::kTcpProxied || k == FdKind::kDnsStream ||
            (k == FdKind::kUdp && udp_connected(fd)))
            rec = fd_record(fd);
    }
    if (rec == nullptr) return real::getpeername(fd, addr, len);
    // POSIX: truncate to the caller's buffer and report the full length.
    memcpy(addr, &rec->peer, *len < rec->peer_len ? *len : rec->peer_len);
    *len = rec->peer_len;
    return 0;
}

// glibc's public aliases: a program calling them by name must meet the same hooks.
SOCKSIFY_EXPORT_ALIAS(connect, __connect)
