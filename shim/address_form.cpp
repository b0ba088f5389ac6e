// The kernel's address rules for TCP and UDP, in the order the kernel applies them.
// Only the form is judged here (family, length, port where the kernel insists);
// what the destination itself is (multicast, link-local without a scope, …) is the
// routing's and the proxy's business.
#include "shim/address_form.hpp"

#include <netinet/in.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstring>

#include "shim/audit.hpp"
#include "shim/init.hpp"
#include "shim/log.hpp"

namespace socksify::shim {
namespace {

constexpr socklen_t kMaxName = sizeof(sockaddr_storage);  // net/socket.c: move_addr_to_kernel
constexpr socklen_t kFamilyLen = sizeof(sa_family_t);
constexpr socklen_t kSin6LenRfc2133 = 24;  // sockaddr_in6 without sin6_scope_id

AddressForm rejected(int err, bool v6only_matters = false) {
    AddressForm f;
    f.form = Form::kRejected;
    f.err = err;
    f.v6only_matters = v6only_matters;
    return f;
}

AddressForm plain(Form form) {
    AddressForm f;
    f.form = form;
    return f;
}

// The program's bytes may be unaligned: read them by copy.
sa_family_t family_of(const sockaddr* a) {
    sa_family_t f;
    memcpy(&f, a, sizeof f);
    return f;
}

uint16_t port_of(const sockaddr* a) {
    uint16_t p;
    memcpy(&p, reinterpret_cast<const uint8_t*>(a) + 2, sizeof p);
    return p;
}

// The IPv4 reading of a (sockaddr_in layout), whatever its family says.
AddressForm v4_dest(const sockaddr* a) {
    AddressForm f;
    f.form = Form::kDest;
    sockaddr_in in{};
    in.sin_family = AF_INET;
    memcpy(&in.sin_port, reinterpret_cast<const uint8_t*>(a) + offsetof(sockaddr_in, sin_port),
           sizeof in.sin_port);
    memcpy(&in.sin_addr, reinterpret_cast<const uint8_t*>(a) + offsetof(sockaddr_in, sin_addr),
           sizeof in.sin_addr);
    memcpy(&f.dest, &in, sizeof in);
    f.dest_len = sizeof in;
    return f;
}

// The IPv6 reading of a; sin6_scope_id counts only when the length covers it.
AddressForm v6_dest(const sockaddr* a, socklen_t len) {
    AddressForm f;
    f.form = Form::kDest;
    sockaddr_in6 in6{};
    memcpy(&in6, a, kSin6LenRfc2133);
    if (len >= sizeof in6) memcpy(&in6, a, sizeof in6);
    in6.sin6_family = AF_INET6;
    memcpy(&f.dest, &in6, sizeof in6);
    f.dest_len = sizeof in6;
    return f;
}

bool is_v4_mapped(const AddressForm& f) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(f.dest);
    return IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr);
}

// tcp_v4_connect / tcp_v6_connect, after inet_stream_connect took AF_UNSPEC.
AddressForm tcp_dest(const SocketShape& s, const sockaddr* a, socklen_t len) {
    sa_family_t fam = family_of(a);
    if (s.domain == AF_INET) {
        if (len < sizeof(sockaddr_in)) return rejected(EINVAL);
        if (fam != AF_INET) return rejected(EAFNOSUPPORT);
        return v4_dest(a);
    }
    if (len < kSin6LenRfc2133) return rejected(EINVAL);
    if (fam != AF_INET6) return rejected(EAFNOSUPPORT);
    AddressForm f = v6_dest(a, len);
    if (is_v4_mapped(f)) {
        if (s.v6only) return rejected(ENETUNREACH, true);
        f.v6only_matters = true;
    }
    return f;
}

// inet_dgram_connect, then ip4_datagram_connect / ip6_datagram_connect.
AddressForm udp_connect_form(const SocketShape& s, const sockaddr* a, socklen_t len) {
    if (len < kFamilyLen) return rejected(EINVAL);
    sa_family_t fam = family_of(a);
    if (fam == AF_UNSPEC) return plain(Form::kDisconnect);
    if (s.domain == AF_INET6 && fam == AF_INET) {
        if (s.v6only) return rejected(EAFNOSUPPORT, true);
        AddressForm f = len < sizeof(sockaddr_in) ? rejected(EINVAL) : v4_dest(a);
        f.v6only_matters = true;
        return f;
    }
    return tcp_dest(s, a, len);  // the rest is the kernel's TCP check, word for word
}

// udp_sendmsg: AF_UNSPEC is read as AF_INET; port 0 is refused.
AddressForm udp4_send_form(const sockaddr* a, socklen_t len) {
    if (len < sizeof(sockaddr_in)) return rejected(EINVAL);
    sa_family_t fam = family_of(a);
    if (fam != AF_INET && fam != AF_UNSPEC) return rejected(EAFNOSUPPORT);
    if (port_of(a) == 0) return rejected(EINVAL);
    return v4_dest(a);
}

// udpv6_sendmsg: AF_INET goes to udp_sendmsg, AF_UNSPEC means "no name".
AddressForm udp6_send_form(const SocketShape& s, const sockaddr* a, socklen_t len) {
    if (len < kFamilyLen) return rejected(EINVAL);
    switch (family_of(a)) {
        case AF_INET6: {
            if (len < kSin6LenRfc2133) return rejected(EINVAL);
            AddressForm f = v6_dest(a, len);
            if (is_v4_mapped(f)) {
                if (s.v6only) return rejected(ENETUNREACH, true);
                f.v6only_matters = true;
            }
            if (port_of(a) == 0) return rejected(EINVAL, f.v6only_matters);
            return f;
        }
        case AF_INET: {
            if (s.v6only) return rejected(ENETUNREACH, true);
            AddressForm f = udp4_send_form(a, len);
            f.v6only_matters = true;
            return f;
        }
        case AF_UNSPEC: return plain(Form::kNoDest);
        default: return rejected(EINVAL);
    }
}

}  // namespace

AddressForm classify_address(const SocketShape& s, Entry entry, bool fastopen, const sockaddr* addr,
                             socklen_t len) {
    if ((s.domain != AF_INET && s.domain != AF_INET6) || s.proto == Proto::kOther)
        return plain(Form::kUnknown);
    if (s.proto == Proto::kTcp && entry != Entry::kConnect && !fastopen)
        return plain(Form::kIgnored);
    // net/socket.c: the lengths the system call layer takes.
    bool named = addr != nullptr;
    if (len > static_cast<socklen_t>(INT_MAX)) return rejected(EINVAL);
    if (entry == Entry::kSendmsg) {
        if (len > kMaxName) len = kMaxName;  // ____sys_sendmsg shortens it
        if (len == 0) named = false;
    } else if (named && len > kMaxName) {
        return rejected(EINVAL);
    }
    if (entry == Entry::kConnect && !named && len > 0) return rejected(EFAULT);
    if (s.proto == Proto::kTcp) {
        // A Fast Open send is a connect, except that AF_UNSPEC is refused
        // (tcp_sendmsg_fastopen).
        if (entry != Entry::kConnect && named && len >= kFamilyLen && family_of(addr) == AF_UNSPEC)
            return rejected(EOPNOTSUPP);
        if (!named || len < kFamilyLen) return rejected(EINVAL);
        if (family_of(addr) == AF_UNSPEC) return plain(Form::kDisconnect);
        return tcp_dest(s, addr, len);
    }
    if (entry == Entry::kConnect) {
        if (!named) return rejected(EINVAL);
        return udp_connect_form(s, addr, len);
    }
    if (!named) return plain(Form::kNoDest);
    return s.domain == AF_INET ? udp4_send_form(addr, len) : udp6_send_form(s, addr, len);
}

bool may_be_inet(const sockaddr* addr, socklen_t len) {
    if (addr == nullptr || len < kFamilyLen) return false;
    sa_family_t fam = family_of(addr);
    return fam == AF_UNSPEC || fam == AF_INET || fam == AF_INET6;
}

bool socket_shape(int fd, SocketShape& out) {
    int domain = 0;
    int type = 0;
    int protocol = 0;
    socklen_t n = sizeof domain;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &n) != 0) return false;
    if (domain != AF_INET && domain != AF_INET6) return false;
    n = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &n) != 0) type = -1;
    n = sizeof protocol;
    if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &n) != 0) protocol = -1;
    out.domain = domain;
    out.v6only = false;
    out.proto = Proto::kOther;
    if (type == SOCK_STREAM && (protocol == IPPROTO_TCP || protocol == IPPROTO_MPTCP))
        out.proto = Proto::kTcp;
    else if (type == SOCK_DGRAM && (protocol == IPPROTO_UDP || protocol == IPPROTO_UDPLITE))
        out.proto = Proto::kUdp;
    return true;
}

AddressForm classify_fd(int fd, SocketShape s, Entry entry, bool fastopen, const sockaddr* addr,
                        socklen_t len) {
    AddressForm f = classify_address(s, entry, fastopen, addr, len);
    if (!f.v6only_matters || s.domain != AF_INET6) return f;
    int v6only = 0;
    socklen_t n = sizeof v6only;
    // Unreadable: assume dual-stack, the answer that routes more through the hooks.
    if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &n) != 0 || v6only == 0) return f;
    s.v6only = true;
    return classify_address(s, entry, fastopen, addr, len);
}

int refuse_unclassified(int fd, const SocketShape& s, const char* call) {
    ensure_ready();
    const Config& cfg = config();
    // Supervised, the call goes to the kernel as made: the supervisor refuses it and
    // writes the record (the audit log is its alone).
    if (!cfg.strict || cfg.supervised) return 0;
    log_line(LogLevel::kError,
             "refusing %s on fd %d: a socket of domain %d the proxy cannot carry (--strict)", call,
             fd, s.domain);
    audit_denied(cfg, audit_event(AuditKind::kRefusal, nullptr), "strict");
    return EACCES;
}

socklen_t neutral_copy(const sockaddr* addr, socklen_t len, sockaddr_storage& out) {
    memset(&out, 0, sizeof out);
    size_t keep = offsetof(sockaddr_in, sin_addr);  // family and port, the same in both
    if (len < keep) keep = len;
    if (addr != nullptr) memcpy(&out, addr, keep);
    return len;
}

}  // namespace socksify::shim
