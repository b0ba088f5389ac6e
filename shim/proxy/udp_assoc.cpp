// UDP ASSOCIATE for unmodified programs. Sending: one sendmsg whose iovec puts the
// SOCKS header before the program's own buffers (no copy). Receiving: the header
// lands in a scratch buffer sized like the last header sent, so the payload lands
// in place; only a header of another size costs one move of the payload.
#include "shim/proxy/udp_assoc.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "protocol/messages.hpp"
#include "shim/audit.hpp"
#include "shim/direct_memory.hpp"
#include "shim/dns/fake_dns.hpp"
#include "shim/dns/names.hpp"
#include "shim/io.hpp"
#include "shim/log.hpp"
#include "shim/police.hpp"
#include "shim/proxy/chain.hpp"
#include "shim/proxy/handshake.hpp"
#include "shim/proxy/pending.hpp"
#include "shim/proxy/socks_address.hpp"
#include "shim/proxy/tcp_connect.hpp"
#include "shim/proxy/upstream.hpp"
#include "shim/real.hpp"
#include "shim/settings/route.hpp"

namespace socksify::shim {
namespace {

constexpr int64_t kCheckIntervalNs = 1000000000;  // control connection liveness
constexpr int kMaxDrops = 64;                     // bounded skipping of foreign datagrams
constexpr size_t kMaxIov = 1024;                  // UIO_MAXIOV

// An association being opened or checked, listed for the child of a fork: there the
// thread doing it does not exist, so its lock would be held forever and its control
// connection half set up (udp_after_fork_child).
struct Opening {
    std::atomic<UdpState*> state;
    std::atomic<int> control;      // the control fd + 1; 0: none yet
    std::atomic<pthread_t> owner;  // 0 until set
};
constexpr size_t kMaxOpening = 256;  // more at once wait for a free entry
constinit Opening g_opening[kMaxOpening]{};

// u.busy held, and the association listed in g_opening while it is.
class AssociationLock {
  public:
    explicit AssociationLock(UdpState& u) : u_(u) {
        uint32_t expected = 0;
        while (!u_.busy.compare_exchange_weak(expected, 1, std::memory_order_acquire)) {
            expected = 0;
            sched_yield();
        }
        // Each socket starts at an entry of its own: threads sending on different
        // sockets do not share one.
        size_t first = reinterpret_cast<uintptr_t>(&u) / sizeof(FdRecord);
        for (;;) {
            for (size_t i = 0; i < kMaxOpening; ++i) {
                Opening& o = g_opening[(first + i) % kMaxOpening];
                UdpState* none = nullptr;
                if (o.state.load(std::memory_order_relaxed) != nullptr) continue;
                if (o.state.compare_exchange_strong(none, &u_, std::memory_order_acq_rel)) {
                    o.owner.store(pthread_self(), std::memory_order_release);
                    slot_ = &o;
                    return;
                }
            }
            sched_yield();
        }
    }
    ~AssociationLock() {
        slot_->control.store(0, std::memory_order_relaxed);
        slot_->owner.store(pthread_t{}, std::memory_order_relaxed);
        slot_->state.store(nullptr, std::memory_order_release);
        u_.busy.store(0, std::memory_order_release);
    }
    AssociationLock(const AssociationLock&) = delete;
    AssociationLock& operator=(const AssociationLock&) = delete;

    // The control connection being set up, for the child of a fork to close.
    void track(int control) { slot_->control.store(control + 1, std::memory_order_release); }

  private:
    UdpState& u_;
    Opening* slot_ = nullptr;
};

int socket_family(int fd) {
    int domain = 0;
    socklen_t len = sizeof domain;
    return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 ? domain : AF_UNSPEC;
}

void close_control(int control) {
    if (control < 0 || kind_of(control) != FdKind::kControl) return;  // reused by the program
    FdRecord* c = fd_record(control);
    if (c == nullptr || c->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    set_kind(control, FdKind::kNone);
    real::close(control);
}

bool control_alive(UdpState& u) {
    if (u.control_fd < 0 || kind_of(u.control_fd) != FdKind::kControl) return false;
    int64_t now = monotonic_ns();
    if (now - u.checked_ns < kCheckIntervalNs) return true;
    pollfd p{u.control_fd, POLLIN | POLLRDHUP, 0};
    int n = real::poll(&p, 1, 0);
    if (n > 0 && (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))) return false;
    u.checked_ns = now;
    return true;
}

// Binds fd to the wildcard address of its family when it is not bound yet: the
// relay answers to the socket's own port.
int ensure_bound(int fd, int family) {
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) return errno;
    uint16_t port = family == AF_INET ? reinterpret_cast<sockaddr_in&>(local).sin_port
                                      : reinterpret_cast<sockaddr_in6&>(local).sin6_port;
    if (port != 0) return 0;
    sockaddr_storage any{};
    any.ss_family = static_cast<sa_family_t>(family);
    socklen_t any_len = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    return bind(fd, reinterpret_cast<sockaddr*>(&any), any_len) == 0 ? 0 : errno;
}

// True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104.
bool is_loopback(const sockaddr* a) {
    if (a->sa_family == AF_INET)
        return reinterpret_cast<const uint8_t*>(
                   &reinterpret_cast<const sockaddr_in*>(a)->sin_addr)[0] == 127;
    if (a->sa_family != AF_INET6) return false;
    const auto& in6 = reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(&in6) || (IN6_IS_ADDR_V4MAPPED(&in6) && in6.s6_addr[12] == 127);
}

// Datagrams to a relay at the end of a chain go from this host straight to the relay:
// the chain's TCP hops carry only the control connection, and nothing can carry
// datagrams across them. So the association is kept only when this host has a route to
// the relay (a connect of a datagram socket looks it up and sends nothing), and a
// loopback relay only when the last hop is on this host too; otherwise EACCES.
int check_chained_relay(int family, const sockaddr_storage& relay, socklen_t relay_len,
                        const sockaddr_storage& last_hop, char* why, size_t why_cap) {
    const auto* r = reinterpret_cast<const sockaddr*>(&relay);
    int err = 0;
    if (is_loopback(r) && !is_loopback(reinterpret_cast<const sockaddr*>(&last_hop))) {
        err = EADDRNOTAVAIL;
    } else {
        int probe = real::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (probe < 0) return errno;
        if (real::connect(probe, r, relay_len) != 0) err = errno;
        real::close(probe);
    }
    if (err == 0) return 0;
    char text[64];
    snprintf(why, why_cap,
             " (the relay %s cannot be reached from here: %s; datagrams cannot cross the "
             "chain's TCP hops)",
             format_sockaddr(r, text, sizeof text), strerror(err));
    return EACCES;
}

// Whether the upstream for a destination can carry datagrams at all (a chain's last
// hop is known only once drawn: run_chain_associate). 0 or EACCES with its line.
int udp_upstream_refusal(const Config& cfg, const RouteSpec* route, const sockaddr* dest) {
    ProxyKind kind = route != nullptr ? route->hop.kind : cfg.proxy_kind;
    if (kind == ProxyKind::kSocks5 || (route == nullptr && cfg.hop_count > 0)) return 0;
    char text[64];
    log_line(LogLevel::kError, "UDP refused: the upstream %s%s of %s speaks %s, not socks5",
             route != nullptr ? route->hop.text : cfg.proxy_text,
             route != nullptr ? " (route)" : "", format_sockaddr(dest, text, sizeof text),
             kind_name(kind));
    return EACCES;
}

// A control connection's socket, non-blocking, moved above the program's fds and
// hidden from it (kControl), tracked by lock for a fork: 0 or errno.
int new_control(int domain, AssociationLock& lock, int& control) {
    int raw = real::socket(domain, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (raw < 0) return errno;
    control = real::fcntl(raw, F_DUPFD_CLOEXEC, high_fd_floor());
    if (control < 0)
        control = raw;  // a low number still works
    else
        real::close(raw);
    FdRecord* c = fd_record(control);
    if (c == nullptr) {
        real::close(control);
        return ENOMEM;
    }
    c->refs.store(1, std::memory_order_relaxed);
    set_kind(control, FdKind::kControl);  // hidden from the program from now on
    lock.track(control);
    return 0;
}

// Opens the control connection and runs UDP ASSOCIATE through the destination's
// upstream (route, else the chain or the proxy); fills u on success, via names it.
// A refusal of ours adds its reason to why (" (…)") for the caller's one line.
// fd -1: for the supervisor, a socket of family that is not ours to bind.
int open_association(int fd, int family, UdpState& u, const Config& cfg, const RouteSpec* route,
                     AssociationLock& lock, char* via, size_t via_cap, char* why, size_t why_cap) {
    if (fd >= 0) {
        family = socket_family(fd);
        if (int err = ensure_bound(fd, family)) return err;
    }
    const sockaddr_storage& first = route != nullptr ? route->hop.addr : cfg.proxy;
    int domain = first.ss_family;
    int control = -1;
    if (int err = new_control(domain, lock, control)) return err;
    // RFC 1928 §7: all-zero DST when the client's sending address is not known. Its
    // family tells the proxy which relay the socket can reach: Dante answers an
    // IPv4 zero with an IPv4 relay, which an IPV6_V6ONLY socket cannot use.
    proto::Address zero;
    zero.type = family == AF_INET6 ? proto::AddrType::kIpv6 : proto::AddrType::kIpv4;
    proto::Request request{proto::Command::kUdpAssociate, zero};
    HandshakeResult result;
    Deadline deadline = Deadline::after_ms(cfg.timeout_ms);
    const sockaddr_storage* relay_host = &cfg.proxy;  // where a reply naming no host points
    const HopSpec* last = nullptr;
    uint8_t path[kMaxHops];
    size_t path_len = 0;
    int err = 0;
    if (route != nullptr) {
        relay_host = &route->hop.addr;
        Path way;
        err = way.start(control, domain, cfg, route, request, false, deadline);
        if (err == 0) err = run_path(control, domain, way, result);
        snprintf(via, via_cap, "%s", way.via());
    } else if (cfg.hop_count > 0) {
        err = run_chain_associate(control, domain, request, cfg, pipelining(cfg), deadline, result,
                                  path, path_len);
        format_hops(cfg, path, path_len, via, via_cap);
        if (path_len > 0) last = &cfg.hops[path[path_len - 1]];
        if (last != nullptr) relay_host = &last->addr;
        if (last != nullptr && last->kind != ProxyKind::kSocks5)
            snprintf(why, why_cap, " (the chain's last hop %s speaks %s, not socks5)", last->text,
                     kind_name(last->kind));
    } else {
        snprintf(via, via_cap, "%s", cfg.proxy_text);
        err = proxy_exchange(control, domain, request, cfg, deadline, result);
    }
    sockaddr_storage relay{};
    socklen_t relay_len = 0;
    if (err == 0) {
        proto::Address bound = result.reply.bound;
        if (is_unspecified(bound)) {
            // "Use the proxy's address": same host, the port the reply names.
            uint16_t port = bound.port;
            bound = socks_address(reinterpret_cast<const sockaddr*>(relay_host), {});
            bound.port = port;
        }
        if (!sockaddr_of(bound, family, relay, relay_len)) err = EAFNOSUPPORT;
    }
    if (err == 0 && last != nullptr)
        err = check_chained_relay(family, relay, relay_len, last->addr, why, why_cap);
    if (err != 0) {
        close_control(control);
        return err;
    }
    u.control_fd = control;
    u.relay = relay;
    u.relay_len = relay_len;
    u.upstream = route != nullptr ? static_cast<uint8_t>(1 + (route - cfg.routes)) : 0;
    u.path_len = static_cast<uint8_t>(path_len);
    memcpy(u.path, path, path_len);
    u.checked_ns = monotonic_ns();
    return 0;
}

// One request to the supervisor on control (udp_assoc.hpp): what (a family, or
// kRelayJudge) and an address; its reply in m. 0, the errno it answered, or
// ECONNABORTED/ETIMEDOUT when it did not.
int ask_relay(int control, int32_t what, const sockaddr* addr, socklen_t len,
              const Deadline& deadline, RelayMessage& m) {
    m = RelayMessage{};
    memcpy(m.magic, kRelayMagic, sizeof m.magic);
    m.family_or_err = what;
    m.len = len < sizeof m.addr ? len : sizeof m.addr;
    memcpy(&m.addr, addr, m.len);
    uint8_t frame[2 + kRelayMessage];
    frame[0] = static_cast<uint8_t>(kRelayMessage >> 8);
    frame[1] = static_cast<uint8_t>(kRelayMessage);
    memcpy(frame + 2, &m, sizeof m);
    size_t got = 0;
    if (int err = send_all(control, frame, deadline)) return err;
    if (int err = recv_exact(control, frame, got, deadline)) return err;
    memcpy(&m, frame + 2, sizeof m);
    if ((frame[0] << 8 | frame[1]) != kRelayMessage ||
        memcmp(m.magic, kRelayMagic, sizeof m.magic) != 0 || m.len > sizeof m.addr)
        return ECONNABORTED;
    return m.family_or_err;
}

// Supervised (--strict): the supervisor opens the association and tells the relay
// (udp_assoc.hpp, kRelayMagic); the connection asked on is the control connection.
int supervised_association(int fd, UdpState& u, const Config& cfg, const sockaddr* dest,
                           AssociationLock& lock) {
    int family = socket_family(fd);
    if (int err = ensure_bound(fd, family)) return err;
    int control = -1;
    if (int err = new_control(AF_INET, lock, control)) return err;
    sockaddr_in ns{};  // any nameserver: the supervisor connects it to its own responder
    ns.sin_family = AF_INET;
    ns.sin_port = htons(53);
    ns.sin_addr.s_addr = htonl(0x7f000035);
    Deadline deadline = Deadline::after_ms(cfg.timeout_ms);
    RelayMessage m{};
    int err = connect_until(control, reinterpret_cast<sockaddr*>(&ns), sizeof ns, deadline);
    if (err == 0)
        err = ask_relay(control, family, dest,
                        dest->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in),
                        deadline, m);
    if (err != 0) {
        close_control(control);
        return err;
    }
    u.control_fd = control;
    u.relay = m.addr;
    u.relay_len = m.len;
    u.upstream = 0;  // the supervisor picked the route, and checks every datagram's
    u.path_len = 0;
    u.checked_ns = monotonic_ns();
    return 0;
}

// Supervised: the supervisor's verdict on a connect of u's socket to dest, asked on the
// association's control connection (the policy and names are its own). 0 or errno.
int supervisor_verdict(UdpState& u, const Config& cfg, const sockaddr* dest, socklen_t len) {
    AssociationLock lock(u);  // one request at a time on the connection
    if (u.control_fd < 0) return EACCES;
    RelayMessage m{};
    int err =
        ask_relay(u.control_fd, kRelayJudge, dest, len, Deadline::after_ms(cfg.timeout_ms), m);
    return err == ECONNABORTED || err == ETIMEDOUT ? EACCES : err;
}

// One audit record for a datagram or UDP connect refused before the policy: a bad
// configuration, --udp off, a socket beyond the fd table, a fake address without a name.
void audit_refusal(const Config& cfg, const sockaddr* dest, std::string_view name, int err) {
    AuditEvent e = audit_event(AuditKind::kUdp, dest, name);
    e.via_proxy = false;
    if (err == EHOSTUNREACH) {
        audit_result(cfg, e, err);
        return;
    }
    e.kind = AuditKind::kRefusal;
    audit_denied(cfg, e, !cfg.valid ? "config" : !cfg.udp ? "udp-off" : "fd-table");
}

// What carries u's association, for the audit log: a route's upstream, a chain's hops,
// or null (the proxy).
const char* association_via(const UdpState& u, const Config& cfg, char* out, size_t cap) {
    if (u.upstream > 0 && u.upstream <= cfg.route_count) {
        snprintf(out, cap, "%s (route)", cfg.routes[u.upstream - 1].hop.text);
        return out;
    }
    if (u.path_len == 0) return nullptr;
    format_hops(cfg, u.path, u.path_len, out, cap);
    return out;
}

// One "udp" record per association and destination, not per datagram: the socket
// remembers its last destinations by a hash of their SOCKS header (FNV-1a), which
// names the destination exactly. A destination that drops out of the four slots and
// comes back is recorded again. The association's first record carries its set-up
// time.
void audit_destination(UdpState& u, const Config& cfg, const sockaddr* dest, std::string_view name,
                       const uint8_t* header, size_t h) {
    uint64_t key = 14695981039346656037ull;
    for (size_t i = 0; i < h; ++i) key = (key ^ header[i]) * 1099511628211ull;
    key |= 1;  // 0 marks an empty slot
    for (const auto& slot : u.audited) {
        if (slot.load(std::memory_order_relaxed) == key) return;
    }
    uint8_t at = u.audited_next.fetch_add(1, std::memory_order_relaxed);
    u.audited[at % std::size(u.audited)].store(key, std::memory_order_relaxed);
    AuditEvent e = audit_event(AuditKind::kUdp, dest, name);
    e.start_ns = u.opened_ns.exchange(0, std::memory_order_relaxed);
    char via[160];
    e.via = association_via(u, cfg, via, sizeof via);
    audit(cfg, e);
}

// The SOCKS UDP header for dest (name: dest was its fake address); 0 when it cannot
// be encoded.
size_t udp_header_for(const sockaddr* dest, std::string_view name,
                      uint8_t (&out)[proto::kMaxUdpHeader]) {
    return proto::encode_udp_header(out, proto::UdpHeader{0, socks_address(dest, name)});
}

// dest and name: the destination that needs the association (for the audit record);
// route: its route, if any. A socket has one association, through one upstream: a
// destination routed elsewhere re-opens it on connect (the program changes its peer)
// and is refused on a send (replies still due on the association would be lost).
int ensure_association(int fd, FdRecord& rec, const Config& cfg, const sockaddr* dest,
                       std::string_view name, const RouteSpec* route, bool connecting) {
    UdpState& u = rec.udp;
    auto refused = [&](int err) {
        AuditEvent e = audit_event(AuditKind::kUdp, dest, name);
        e.via_proxy = false;
        audit_result(cfg, e, err);
        return err;
    };
    if (int err = udp_upstream_refusal(cfg, route, dest)) return refused(err);
    uint8_t want = route != nullptr ? static_cast<uint8_t>(1 + (route - cfg.routes)) : 0;
    AssociationLock lock(u);
    bool alive = control_alive(u);
    if (alive && (u.upstream == want || cfg.supervised)) return 0;
    if (alive && !connecting) {
        char text[64];
        log_line(LogLevel::kError,
                 "UDP to %s refused: fd %d is associated through another upstream; "
                 "use one socket per upstream",
                 format_sockaddr(dest, text, sizeof text), fd);
        return refused(EACCES);
    }
    if (u.control_fd >= 0) {
        if (!alive) log_line(LogLevel::kVerbose, "UDP association of fd %d lost; re-opening", fd);
        close_control(u.control_fd);
        u.control_fd = -1;
    }
    int64_t start = monotonic_ns();
    char via[160] = "";
    char why[200] = "";
    int err = cfg.supervised
                  ? supervised_association(fd, u, cfg, dest, lock)
                  : open_association(fd, -1, u, cfg, route, lock, via, sizeof via, why, sizeof why);
    if (cfg.supervised) snprintf(via, sizeof via, "the supervisor");
    char relay_text[64] = "-";
    if (err == 0)
        format_sockaddr(reinterpret_cast<sockaddr*>(&u.relay), relay_text, sizeof relay_text);
    log_line(err == 0 ? LogLevel::kVerbose : LogLevel::kError,
             "UDP associate fd %d via %s: %s%s, relay %s (%ld ms)", fd,
             via[0] ? via : cfg.proxy_text, err == 0 ? "ok" : strerror(err), why, relay_text,
             static_cast<long>((monotonic_ns() - start) / 1000000));
    if (err != 0) {
        AuditEvent e = audit_event(AuditKind::kUdp, dest, name);
        e.start_ns = start;
        e.via = via;
        audit_result(cfg, e, err);
        return err;
    }
    // Recorded by the first datagram's destination (audit_destination): a new
    // association names its destinations afresh.
    for (auto& slot : u.audited) slot.store(0, std::memory_order_relaxed);
    u.opened_ns.store(start, std::memory_order_relaxed);
    return 0;
}

// Why a datagram to dest may not go through the proxy; 0 when it may.
int refuse_reason(const Config& cfg, const sockaddr* dest, std::string_view& name) {
    if (!cfg.valid) return EACCES;
    if (!cfg.udp) return EACCES;
    uint32_t index = 0;
    // Supervised: the header carries the fake address; the supervisor names it from
    // its own table.
    if (!cfg.supervised && cfg.dns_mode == DnsMode::kRemote && fake_index_of(cfg, dest, index)) {
        name = fake_name_of(cfg, dest);
        if (name.empty()) return EHOSTUNREACH;
    }
    return 0;
}

// Supervised (--strict): what the library would refuse, and DNS to a nameserver, goes
// to the kernel as the program made it: the supervisor judges its own copy and writes
// the refusal record (the audit log is its alone), so each attempt has one record.
bool left_to_supervisor(const Config& cfg, const sockaddr* dest) {
    if (!cfg.supervised) return false;
    if (!cfg.valid || !cfg.udp) return true;
    uint16_t port = dest->sa_family == AF_INET6
                        ? reinterpret_cast<const sockaddr_in6*>(dest)->sin6_port
                        : reinterpret_cast<const sockaddr_in*>(dest)->sin_port;
    return cfg.dns_mode != DnsMode::kLocal && ntohs(port) == 53;
}

// Logical view of [scratch | user iovecs] as one byte stream.
struct Chain {
    const iovec* v;
    size_t n;
    uint8_t* at(size_t pos) const {
        for (size_t i = 0; i < n; ++i) {
            if (pos < v[i].iov_len) return static_cast<uint8_t*>(v[i].iov_base) + pos;
            pos -= v[i].iov_len;
        }
        return nullptr;
    }
    // Moves len bytes from logical offset from to offset to (overlap-safe).
    void move(size_t from, size_t to, size_t len) const {
        if (from == to || len == 0) return;
        // Both ranges inside the first buffer after the scratch (one program buffer,
        // the common case): one memmove.
        size_t lo = v[0].iov_len;
        size_t hi = n > 1 ? lo + v[1].iov_len : lo;
        if (n > 1 && from >= lo && to >= lo && from + len <= hi && to + len <= hi) {
            auto* base = static_cast<uint8_t*>(v[1].iov_base);
            memmove(base + (to - lo), base + (from - lo), len);
            return;
        }
        if (from > to) {
            for (size_t i = 0; i < len; ++i) *at(to + i) = *at(from + i);
        } else {
            for (size_t i = len; i-- > 0;) *at(to + i) = *at(from + i);
        }
    }
};

size_t total_len(const iovec* v, size_t n) {
    size_t t = 0;
    for (size_t i = 0; i < n; ++i) t += v[i].iov_len;
    return t;
}

// Reports a source address to the program (truncating like the kernel does).
void report_source(msghdr* msg, const sockaddr_storage& src, socklen_t len) {
    if (msg->msg_name == nullptr) return;
    memcpy(msg->msg_name, &src, msg->msg_namelen < len ? msg->msg_namelen : len);
    msg->msg_namelen = len;
}

// The source a relayed datagram reports: its address, or the fake address of its name.
bool relayed_source(const proto::Address& a, int family, const Config& cfg, sockaddr_storage& out,
                    socklen_t& len) {
    if (a.type != proto::AddrType::kDomain) return sockaddr_of(a, family, out, len);
    char name[kMaxName + 1];
    memcpy(name, a.domain.data(), a.domain.size());
    name[a.domain.size()] = '\0';
    if (fake_lookup(cfg, name, family, out, len) != 0) return false;
    if (family == AF_INET6)
        reinterpret_cast<sockaddr_in6&>(out).sin6_port = htons(a.port);
    else
        reinterpret_cast<sockaddr_in&>(out).sin_port = htons(a.port);
    return true;
}

// A connected socket only hears its peer. A peer given by name (a fake address)
// answers from whatever address the proxy resolved it to: that source is reported
// as the peer the program connected to.
bool from_connected_peer(const FdRecord& rec, const Config& cfg, sockaddr_storage& src,
                         socklen_t& src_len) {
    if (!rec.udp.connected) return true;
    const auto* peer = reinterpret_cast<const sockaddr*>(&rec.peer);
    if (same_endpoint(reinterpret_cast<sockaddr*>(&src), peer)) return true;
    uint32_t index = 0;
    if (cfg.dns_mode != DnsMode::kRemote || !fake_index_of(cfg, peer, index)) return false;
    memcpy(&src, &rec.peer, rec.peer_len);
    src_len = rec.peer_len;
    return true;
}

}  // namespace

FdKind live_kind(int fd) {
    FdKind k = kind_of(fd);
    if (k == FdKind::kNone || is_hidden(k)) return k;
    FdRecord* rec = fd_record(fd);
    if (rec != nullptr && same_object(fd, *rec)) return k;
    release_fd(fd);
    return FdKind::kNone;
}

void adopt_udp(int fd) {
    FdRecord* rec = fd_record(fd);
    if (rec == nullptr) return;
    rec->peer_len = 0;
    rec->domain = socket_family(fd);
    remember_object(fd, *rec);
    rec->udp.busy.store(0, std::memory_order_relaxed);
    rec->udp.control_fd = -1;
    rec->udp.relay_len = 0;
    rec->udp.connected = false;
    record_unpin(*rec);  // a socket this number named before, closed out of our sight
    rec->udp.upstream = 0;
    rec->udp.path_len = 0;
    rec->udp.expect_header = 10;  // IPv4: the common case
    rec->udp.checked_ns = 0;
    rec->udp.opened_ns.store(0, std::memory_order_relaxed);
    for (auto& slot : rec->udp.audited) slot.store(0, std::memory_order_relaxed);
    set_kind(fd, FdKind::kUdp);
}

void release_fd(int fd) {
    FdKind k = kind_of(fd);
    if (k != FdKind::kNone) {
        if (FdRecord* rec = fd_record(fd)) record_unpin(*rec);
    }
    if (k == FdKind::kUdp)
        release_udp(fd);
    else if (k == FdKind::kTcpPending)
        discard_pending(fd), set_kind(fd, FdKind::kNone);
    else if (k != FdKind::kNone)
        set_kind(fd, FdKind::kNone);
}

void release_udp(int fd) {
    if (kind_of(fd) != FdKind::kUdp) return;
    FdRecord* rec = fd_record(fd);
    set_kind(fd, FdKind::kNone);
    if (rec != nullptr && rec->udp.control_fd >= 0) {
        close_control(rec->udp.control_fd);
        rec->udp.control_fd = -1;
    }
}

void share_udp(int from, int to) {
    FdRecord* rec = fd_record(from);
    if (rec != nullptr && rec->udp.control_fd >= 0 &&
        kind_of(rec->udp.control_fd) == FdKind::kControl) {
        if (FdRecord* c = fd_record(rec->udp.control_fd)) c->refs.fetch_add(1);
    }
    copy_fd_state(from, to);
}

bool udp_connected(int fd) {
    if (kind_of(fd) != FdKind::kUdp) return false;
    FdRecord* rec = fd_record(fd);
    return rec != nullptr && rec->udp.connected;
}

int udp_connect(int fd, const sockaddr* dest, socklen_t len, const Config& cfg, bool& handled) {
    handled = false;
    FdRecord* rec = fd_record(fd);
    if (goes_direct(cfg, dest)) {
        if (rec != nullptr) {
            rec->udp.connected = false;  // the kernel's own connect
            record_unpin(*rec);
        }
        return 0;
    }
    if (left_to_supervisor(cfg, dest) || (cfg.supervised && kind_of(fd) != FdKind::kUdp)) return 0;
    handled = true;
    if (rec == nullptr || kind_of(fd) != FdKind::kUdp) {
        log_line(LogLevel::kError, "refusing UDP connect on fd %d: beyond the fd table", fd);
        audit_refusal(cfg, dest, {}, EACCES);
        return EACCES;  // an untracked socket would send unwrapped: never go direct
    }
    std::string_view name;
    if (int err = refuse_reason(cfg, dest, name)) {
        log_line(LogLevel::kError, "refusing UDP connect: %s",
                 !cfg.valid ? cfg.error
                 : cfg.udp  ? strerror(err)
                            : "UDP is off (--udp off)");
        audit_refusal(cfg, dest, name, err);
        return err;
    }
    // Supervised: the supervisor judges every datagram (its policy, its names).
    if (!cfg.supervised)
        if (int err = police(cfg, dest, name, AuditKind::kUdp)) return err;
    if (int err = ensure_association(fd, *rec, cfg, dest, name, find_route(cfg, dest, name), true))
        return err;
    if (cfg.supervised)
        if (int err = supervisor_verdict(rec->udp, cfg, dest, len)) return err;
    // The socket talks to the relay only; the program's peer lives in the record.
    // Supervised, it stays unconnected: a socket connected to a relay would send
    // headers the supervisor never sees, so it refuses that connect; each datagram
    // goes to the relay by address instead.
    if (!cfg.supervised &&
        real::connect(fd, reinterpret_cast<sockaddr*>(&rec->udp.relay), rec->udp.relay_len) != 0)
        return errno;
    memcpy(&rec->peer, dest, len < sizeof rec->peer ? len : sizeof rec->peer);
    rec->peer_len = len < sizeof rec->peer ? len : sizeof rec->peer;
    rec->udp.connected = true;
    record_pin(fd, *rec, cfg, dest);
    if (uint8_t header[proto::kMaxUdpHeader]; audit_on()) {
        if (size_t h = udp_header_for(dest, name, header))
            audit_destination(rec->udp, cfg, dest, name, header, h);
    }
    return 0;
}

ssize_t udp_sendmsg(int fd, const msghdr* msg, int flags, const Config& cfg, int& err,
                    bool& handled) {
    handled = false;
    FdRecord* rec = fd_record(fd);
    if (rec == nullptr) return 0;
    const sockaddr* dest = static_cast<const sockaddr*>(msg->msg_name);
    if (dest == nullptr) {
        if (!rec->udp.connected) return 0;  // connected direct, or the kernel's error
        dest = reinterpret_cast<const sockaddr*>(&rec->peer);
    }
    if (goes_direct(cfg, dest) || left_to_supervisor(cfg, dest)) return 0;
    // About to wrap: the number must still name the socket the record was made for.
    // If it names another object now, that object is judged afresh: a datagram socket
    // is adopted (a new association), never sent to a proxied destination directly.
    if (live_kind(fd) != FdKind::kUdp) {
        int type = 0;
        socklen_t type_len = sizeof type;
        if (msg->msg_name == nullptr ||
            getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0 || type != SOCK_DGRAM)
            return 0;  // connected (its own peer) or not a datagram socket: the kernel's call
        adopt_udp(fd);
        rec = fd_record(fd);
        if (cfg.supervised && (rec == nullptr || kind_of(fd) != FdKind::kUdp)) return 0;
        if (rec == nullptr || kind_of(fd) != FdKind::kUdp) {
            handled = true;
            err = EACCES;
            return -1;
        }
    }
    handled = true;
    std::string_view name;
    if ((err = refuse_reason(cfg, dest, name))) {
        char text[64];
        log_line(LogLevel::kError, "refusing UDP datagram to %s: %s",
                 format_sockaddr(dest, text, sizeof text),
                 !cfg.valid ? cfg.error
                 : cfg.udp  ? strerror(err)
                            : "UDP is off (--udp off)");
        audit_refusal(cfg, dest, name, err);
        return -1;
    }
    if (!cfg.supervised && (err = police(cfg, dest, name, AuditKind::kUdp))) return -1;
    if (msg->msg_iovlen >= kMaxIov) {
        err = EMSGSIZE;
        return -1;
    }
    if ((err = ensure_association(fd, *rec, cfg, dest, name, find_route(cfg, dest, name), false)))
        return -1;
    uint8_t header[proto::kMaxUdpHeader];
    size_t h = udp_header_for(dest, name, header);
    if (h == 0) {
        err = EINVAL;
        return -1;
    }
    if (audit_on()) audit_destination(rec->udp, cfg, dest, name, header, h);
    iovec iov[kMaxIov + 1];
    iov[0] = {header, h};
    for (size_t i = 0; i < msg->msg_iovlen; ++i) iov[i + 1] = msg->msg_iov[i];
    msghdr out = *msg;
    out.msg_name = &rec->udp.relay;
    out.msg_namelen = rec->udp.relay_len;
    out.msg_iov = iov;
    out.msg_iovlen = msg->msg_iovlen + 1;
    ssize_t n = real::sendmsg(fd, &out, flags);
    if (n < 0) {
        err = errno;
        return -1;
    }
    rec->udp.expect_header = static_cast<uint16_t>(h);
    return n >= static_cast<ssize_t>(h) ? n - static_cast<ssize_t>(h) : 0;
}

ssize_t udp_recvmsg(int fd, msghdr* msg, int flags, const Config& cfg, int& err, bool& handled) {
    handled = false;
    FdRecord* rec = fd_record(fd);
    if (rec == nullptr || rec->udp.control_fd < 0) return 0;  // nothing relayed to this socket
    if (live_kind(fd) != FdKind::kUdp) return 0;              // the number names another object now
    if (msg->msg_iovlen >= kMaxIov) return 0;
    handled = true;
    int family = rec->udp.relay.ss_family;
    for (int drops = 0; drops < kMaxDrops; ++drops) {
        uint8_t scratch[proto::kMaxUdpHeader];
        // A header longer than expected pushes the payload's end past the program's
        // buffers: the tail catches it, so nothing is cut that fits once moved.
        uint8_t tail[proto::kMaxUdpHeader];
        size_t expect = rec->udp.expect_header;
        iovec iov[kMaxIov + 2];
        iov[0] = {scratch, expect};
        for (size_t i = 0; i < msg->msg_iovlen; ++i) iov[i + 1] = msg->msg_iov[i];
        iov[msg->msg_iovlen + 1] = {tail, sizeof tail};
        Chain chain{iov, msg->msg_iovlen + 2};
        size_t user_cap = total_len(msg->msg_iov, msg->msg_iovlen);
        sockaddr_storage from{};
        msghdr in = *msg;
        in.msg_name = &from;
        in.msg_namelen = sizeof from;
        in.msg_iov = iov;
        in.msg_iovlen = msg->msg_iovlen + 2;
        // MSG_TRUNC: the kernel returns the datagram's full length.
        ssize_t n = real::recvmsg(fd, &in, flags | MSG_TRUNC);
        if (n < 0) {
            err = errno;
            return -1;
        }
        size_t full = static_cast<size_t>(n);
        size_t capacity = expect + user_cap + sizeof tail;
        size_t got = full < capacity ? full : capacity;
        sockaddr_storage src{};
        socklen_t src_len = 0;
        size_t payload_full = 0;
        size_t stored = 0;
        bool deliver = false;
        if (same_endpoint(reinterpret_cast<sockaddr*>(&from),
                          reinterpret_cast<sockaddr*>(&rec->udp.relay))) {
            uint8_t head[proto::kMaxUdpHeader];
            size_t head_len = got < sizeof head ? got : sizeof head;
            for (size_t i = 0; i < head_len; ++i) head[i] = *chain.at(i);
            proto::UdpHeader header;
            proto::Result r = proto::decode_udp_header(proto::Bytes(head, head_len), header);
            // RFC 1928 §7: fragments are dropped; so is anything malformed.
            if (r.status == proto::Status::kDone && header.frag == 0 &&
                relayed_source(header.address, family, cfg, src, src_len) &&
                from_connected_peer(*rec, cfg, src, src_len)) {
                size_t h = r.consumed;
                payload_full = full - h;
                size_t avail = got - h;
                stored = avail < user_cap ? avail : user_cap;
                chain.move(h, expect, stored);
                rec->udp.expect_header = static_cast<uint16_t>(h);
                deliver = true;
            }
        } else if (goes_direct(cfg, reinterpret_cast<sockaddr*>(&from)) && !rec->udp.connected) {
            // Direct traffic on a socket that also talks through the relay.
            payload_full = full;
            stored = got < user_cap ? got : user_cap;
            chain.move(0, expect, stored);
            src = from;
            src_len = in.msg_namelen;
            deliver = true;
        }
        if (deliver) {
            report_source(msg, src, src_len);
            msg->msg_controllen = in.msg_controllen;
            msg->msg_flags = in.msg_flags & ~MSG_TRUNC;
            if (payload_full > stored) msg->msg_flags |= MSG_TRUNC;
            return static_cast<ssize_t>((flags & MSG_TRUNC) ? payload_full : stored);
        }
        if (flags & MSG_PEEK) (void)real::recv(fd, scratch, 0, MSG_DONTWAIT);  // consume it
    }
    err = EAGAIN;
    return -1;
}

bool udp_unassociated(int fd) {
    if (kind_of(fd) != FdKind::kUdp) return false;
    FdRecord* rec = fd_record(fd);
    return rec != nullptr && rec->udp.control_fd < 0;
}

ssize_t udp_after_recv(int fd, msghdr* msg, const msghdr& in, ssize_t n, int flags,
                       const Config& cfg) {
    msg->msg_controllen = in.msg_controllen;
    msg->msg_flags = in.msg_flags;
    const auto* from = static_cast<const sockaddr*>(in.msg_name);
    FdRecord* rec = fd_record(fd);
    if (rec == nullptr || kind_of(fd) != FdKind::kUdp || rec->udp.control_fd < 0 ||
        !same_endpoint(from, reinterpret_cast<sockaddr*>(&rec->udp.relay))) {
        report_source(msg, *static_cast<const sockaddr_storage*>(in.msg_name), in.msg_namelen);
        return n;
    }
    Chain chain{msg->msg_iov, msg->msg_iovlen};
    size_t user_cap = total_len(msg->msg_iov, msg->msg_iovlen);
    size_t full = static_cast<size_t>(n);  // with MSG_TRUNC asked: the datagram's length
    size_t got = full < user_cap ? full : user_cap;
    uint8_t head[proto::kMaxUdpHeader];
    size_t head_len = got < sizeof head ? got : sizeof head;
    for (size_t i = 0; i < head_len; ++i) head[i] = *chain.at(i);
    proto::UdpHeader header;
    proto::Result r = proto::decode_udp_header(proto::Bytes(head, head_len), header);
    sockaddr_storage src{};
    socklen_t src_len = 0;
    if (r.status != proto::Status::kDone || header.frag != 0 ||
        !relayed_source(header.address, rec->udp.relay.ss_family, cfg, src, src_len) ||
        !from_connected_peer(*rec, cfg, src, src_len))
        return -1;
    size_t h = r.consumed;
    size_t stored = got - h;
    chain.move(h, 0, stored);
    report_source(msg, src, src_len);
    return static_cast<ssize_t>((flags & MSG_TRUNC) ? full - h : stored);
}

int open_relay(int family, const Config& cfg, const RouteSpec* route, int& control,
               sockaddr_storage& relay, socklen_t& relay_len, char* via, size_t via_cap, char* why,
               size_t why_cap) {
    UdpState u{};
    u.control_fd = -1;
    AssociationLock lock(u);
    int err = open_association(-1, family, u, cfg, route, lock, via, via_cap, why, why_cap);
    if (err != 0) return err;
    control = u.control_fd;
    relay = u.relay;
    relay_len = u.relay_len;
    return 0;
}

void close_relay_control(int control) { close_control(control); }

void udp_after_fork_child() {
    for (Opening& o : g_opening) {
        UdpState* u = o.state.load(std::memory_order_acquire);
        if (u == nullptr || pthread_equal(o.owner.load(std::memory_order_relaxed), pthread_self()))
            continue;
        // Whatever that thread had built is dropped: the next send here opens an
        // association of this process's own.
        int control = o.control.load(std::memory_order_acquire) - 1;
        if (control >= 0) {
            if (u->control_fd == control) u->control_fd = -1;
            if (kind_of(control) == FdKind::kControl) {
                set_kind(control, FdKind::kNone);
                real::close(control);
            }
        }
        o.control.store(0, std::memory_order_relaxed);
        o.owner.store(pthread_t{}, std::memory_order_relaxed);
        o.state.store(nullptr, std::memory_order_relaxed);
        u->busy.store(0, std::memory_order_release);
    }
}

}  // namespace socksify::shim
