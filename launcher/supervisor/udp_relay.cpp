// The supervisor's UDP associations (udp_relay.hpp): a list of the relays it holds,
// one thread per association holding its control connection, and the judging of
// each datagram a program sends to one.
#include "launcher/supervisor/udp_relay.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string_view>

#include "protocol/messages.hpp"
#include "shim/audit.hpp"
#include "shim/dns/fake_dns.hpp"
#include "shim/dns/names.hpp"
#include "shim/io.hpp"
#include "shim/log.hpp"
#include "shim/police.hpp"
#include "shim/proxy/chain.hpp"
#include "shim/proxy/socks_address.hpp"
#include "shim/proxy/udp_assoc.hpp"
#include "shim/proxy/upstream.hpp"
#include "shim/settings/route.hpp"

namespace socksify::launcher {

using shim::Config;
using shim::log_line;
using shim::LogLevel;

namespace {

const sockaddr* sa(const sockaddr_storage& a) { return reinterpret_cast<const sockaddr*>(&a); }

// One association the supervisor holds. Audit: one "udp" record per destination, as
// the library's (hashes of the last few headers; the first record carries the set-up
// time).
struct Association {
    sockaddr_storage relay{};
    uint8_t upstream = 0;  // 0: the proxy or the chain; 1 + route index
    uint64_t serial = 0;
    uint64_t audited[4] = {};
    uint8_t audited_next = 0;
    int64_t opened_ns = 0;
    char via[160] = {};
};

std::mutex g_mu;
std::vector<Association> g_assocs;  // small: one per live associated socket of the run
uint64_t g_serial = 0;

Association* find_locked(const sockaddr_storage& relay) {
    for (Association& a : g_assocs)
        if (shim::same_endpoint(sa(a.relay), sa(relay))) return &a;
    return nullptr;
}

uint16_t port_of(const sockaddr_storage& a) {
    if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
    return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
}

void zero_port(sockaddr_storage& a) {
    if (a.ss_family == AF_INET)
        reinterpret_cast<sockaddr_in&>(a).sin_port = 0;
    else if (a.ss_family == AF_INET6)
        reinterpret_cast<sockaddr_in6&>(a).sin6_port = 0;
}

bool same_host(const sockaddr_storage& a, const sockaddr_storage& b) {
    sockaddr_storage x = a, y = b;
    zero_port(x);
    zero_port(y);
    return shim::same_endpoint(sa(x), sa(y));
}

// Refuses the datagram: one line and one record.
int refuse(const Config& cfg, const sockaddr_storage& at, std::string_view name, const char* what,
           const char* reason) {
    char text[300];
    if (!name.empty())
        std::snprintf(text, sizeof text, "%.*s:%u", static_cast<int>(name.size()), name.data(),
                      port_of(at));
    else
        shim::format_sockaddr(sa(at), text, sizeof text);
    log_line(LogLevel::kError, "refusing UDP datagram to %s through the relay: %s", text, what);
    shim::audit_denied(cfg, shim::audit_event(shim::AuditKind::kUdp, sa(at), name), reason);
    return EACCES;
}

// Whether the destination's upstream can carry datagrams (the library's check).
bool carries_udp(const Config& cfg, const shim::RouteSpec* route) {
    shim::ProxyKind kind = route != nullptr ? route->hop.kind : cfg.proxy_kind;
    return kind == shim::ProxyKind::kSocks5 || (route == nullptr && cfg.hop_count > 0);
}

bool answer_judge(const Config& cfg, int client, const sockaddr_storage& relay);

// One reply to the library (udp_assoc.hpp): err, and the relay when there is one.
bool reply(int client, int err, const sockaddr_storage* relay, socklen_t relay_len) {
    shim::RelayMessage m{};
    std::memcpy(m.magic, shim::kRelayMagic, sizeof m.magic);
    m.family_or_err = err;
    if (relay != nullptr) {
        m.addr = *relay;
        m.len = relay_len;
    }
    uint8_t frame[2 + sizeof m];
    frame[0] = static_cast<uint8_t>(sizeof m >> 8);
    frame[1] = static_cast<uint8_t>(sizeof m);
    std::memcpy(frame + 2, &m, sizeof m);
    return send(client, frame, sizeof frame, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof frame);
}

}  // namespace

bool is_known_relay(const sockaddr_storage& dest) {
    std::lock_guard lock(g_mu);
    return find_locked(dest) != nullptr;
}

bool is_upstream_host(const Config& cfg, const sockaddr_storage& dest) {
    if (!cfg.valid) return false;
    if (same_host(dest, cfg.proxy)) return true;
    for (size_t i = 0; i < cfg.hop_count; ++i)
        if (same_host(dest, cfg.hops[i].addr)) return true;
    for (size_t i = 0; i < cfg.route_count; ++i)
        if (same_host(dest, cfg.routes[i].hop.addr)) return true;
    std::lock_guard lock(g_mu);
    for (const Association& a : g_assocs)
        if (same_host(dest, a.relay)) return true;
    return false;
}

bool serve_relay_request(const Config& cfg, int client, const uint8_t* msg, size_t n) {
    shim::RelayMessage m{};
    if (n != sizeof m) return false;
    std::memcpy(&m, msg, sizeof m);
    if (std::memcmp(m.magic, shim::kRelayMagic, sizeof m.magic) != 0) return false;
    int family = m.family_or_err;
    int err = 0;
    int control = -1;
    sockaddr_storage relay{};
    socklen_t relay_len = 0;
    char via[160] = "", why[200] = "";
    int64_t start = shim::monotonic_ns();
    // The route of the first destination (named from our own table) picks the upstream;
    // every datagram is checked against it.
    const shim::RouteSpec* route = nullptr;
    sockaddr_storage first{};
    if ((family != AF_INET && family != AF_INET6) || m.len > sizeof m.addr || !cfg.valid ||
        !cfg.udp) {
        err = EACCES;
    } else {
        std::memcpy(&first, &m.addr, m.len);
        std::string_view name;
        uint32_t index = 0;
        if (cfg.dns_mode == shim::DnsMode::kRemote && shim::fake_index_of(cfg, sa(first), index))
            name = shim::fake_name_of(cfg, sa(first));
        route = shim::find_route(cfg, sa(first), name);
        if (!carries_udp(cfg, route)) {
            std::snprintf(why, sizeof why, " (the upstream %s speaks %s, not socks5)",
                          route != nullptr ? route->hop.text : cfg.proxy_text,
                          shim::kind_name(route != nullptr ? route->hop.kind : cfg.proxy_kind));
            err = EACCES;
        } else {
            err = shim::open_relay(family, cfg, route, control, relay, relay_len, via, sizeof via,
                                   why, sizeof why);
        }
    }
    char relay_text[64] = "-";
    if (err == 0) shim::format_sockaddr(sa(relay), relay_text, sizeof relay_text);
    log_line(err == 0 ? LogLevel::kVerbose : LogLevel::kError,
             "UDP associate for a supervised program via %s: %s%s, relay %s (%ld ms)",
             via[0] ? via : cfg.proxy_text, err == 0 ? "ok" : std::strerror(err), why, relay_text,
             static_cast<long>((shim::monotonic_ns() - start) / 1000000));
    uint64_t serial = 0;
    if (err == 0) {
        std::lock_guard lock(g_mu);
        Association a;
        a.relay = relay;
        a.upstream = route != nullptr ? static_cast<uint8_t>(1 + (route - cfg.routes)) : 0;
        a.serial = serial = ++g_serial;
        a.opened_ns = start;
        std::snprintf(a.via, sizeof a.via, "%s", via);
        g_assocs.push_back(a);
    }
    bool sent = reply(client, err, err == 0 ? &relay : nullptr, relay_len);
    if (err != 0) return true;
    // Held while both ends live: the program's connection (closed with its socket, or
    // by its exit) and the proxy's (an association the proxy ended).
    // Judge requests (the program's connects) are answered meanwhile.
    pollfd p[2] = {{client, POLLIN | POLLRDHUP, 0}, {control, POLLIN | POLLRDHUP, 0}};
    while (sent) {
        int r = poll(p, 2, -1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 || p[1].revents != 0 || (p[0].revents & ~POLLIN) != 0) break;
        if (!answer_judge(cfg, client, relay)) break;
    }
    {
        std::lock_guard lock(g_mu);
        for (size_t i = 0; i < g_assocs.size(); ++i) {
            if (g_assocs[i].serial != serial) continue;
            g_assocs[i] = g_assocs.back();
            g_assocs.pop_back();
            break;
        }
    }
    shim::close_relay_control(control);
    return true;
}

namespace {

// One destination of the association at relay: named from our own table, judged
// (DNS, policy, the association's upstream), recorded once per association; header
// gets its SOCKS UDP header. 0, or the errno after one line and one record.
int judge_destination(const Config& cfg, const sockaddr_storage& relay,
                      const sockaddr_storage& dest, uint8_t (&header)[proto::kMaxUdpHeader],
                      size_t& header_len) {
    char name_buf[shim::kMaxName + 1];
    std::string_view name;
    uint32_t index = 0;
    if (cfg.dns_mode == shim::DnsMode::kRemote && shim::fake_index_of(cfg, sa(dest), index)) {
        std::string_view n = shim::fake_name_of(cfg, sa(dest));
        if (n.empty()) {
            char text[64];
            log_line(LogLevel::kError, "refusing UDP datagram to %s: no name behind that address",
                     shim::format_sockaddr(sa(dest), text, sizeof text));
            shim::AuditEvent e = shim::audit_event(shim::AuditKind::kUdp, sa(dest));
            e.via_proxy = false;
            shim::audit_result(cfg, e, EHOSTUNREACH);
            return EHOSTUNREACH;
        }
        std::memcpy(name_buf, n.data(), n.size());
        name = std::string_view(name_buf, n.size());
    }
    if (cfg.dns_mode != shim::DnsMode::kLocal && port_of(dest) == 53)
        return refuse(cfg, dest, name, "DNS is answered by the supervisor", "dns");
    if (int err = shim::police(cfg, sa(dest), name, shim::AuditKind::kUdp)) return err;
    const shim::RouteSpec* route = shim::find_route(cfg, sa(dest), name);
    uint8_t want = route != nullptr ? static_cast<uint8_t>(1 + (route - cfg.routes)) : 0;
    header_len =
        proto::encode_udp_header(header, proto::UdpHeader{0, shim::socks_address(sa(dest), name)});
    if (header_len == 0) return refuse(cfg, dest, name, "cannot be encoded", "strict");
    bool record = false;
    shim::AuditEvent e = shim::audit_event(shim::AuditKind::kUdp, sa(dest), name);
    char via[160] = "";
    {
        std::lock_guard lock(g_mu);
        Association* a = find_locked(relay);
        if (a == nullptr) return refuse(cfg, dest, name, "the association has ended", "strict");
        if (a->upstream != want)
            return refuse(cfg, dest, name,
                          "its route is another upstream than the association's (use one "
                          "socket per upstream)",
                          "strict");
        if (shim::audit_on()) {
            uint64_t key = 14695981039346656037ull;  // FNV-1a of the header, as the library's
            for (size_t i = 0; i < header_len; ++i) key = (key ^ header[i]) * 1099511628211ull;
            key |= 1;
            record = true;
            for (uint64_t k : a->audited) record = record && k != key;
            if (record) {
                a->audited[a->audited_next++ % 4] = key;
                e.start_ns = a->opened_ns;
                a->opened_ns = 0;
                std::snprintf(via, sizeof via, "%s", a->via);
            }
        }
    }
    if (record) {
        e.via = via[0] != '\0' && std::strcmp(via, cfg.proxy_text) != 0 ? via : nullptr;
        shim::audit(cfg, e);
    }
    return 0;
}

// A connect of the program's socket to dest (a judge request on the association's
// control connection): the verdict the library returns from connect().
bool answer_judge(const Config& cfg, int client, const sockaddr_storage& relay) {
    timeval wait{10, 0};
    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    uint8_t frame[2 + sizeof(shim::RelayMessage)];
    shim::RelayMessage m{};
    if (!shim::read_full(client, frame, sizeof frame)) return false;
    std::memcpy(&m, frame + 2, sizeof m);
    if ((frame[0] << 8 | frame[1]) != sizeof m ||
        std::memcmp(m.magic, shim::kRelayMagic, sizeof m.magic) != 0 ||
        m.family_or_err != shim::kRelayJudge || m.len > sizeof m.addr)
        return false;
    sockaddr_storage dest{};
    std::memcpy(&dest, &m.addr, m.len);
    uint8_t header[proto::kMaxUdpHeader];
    size_t header_len = 0;
    bool inet = (dest.ss_family == AF_INET && m.len >= sizeof(sockaddr_in)) ||
                (dest.ss_family == AF_INET6 && m.len >= sizeof(sockaddr_in6));
    return reply(client, inet ? judge_destination(cfg, relay, dest, header, header_len) : EINVAL,
                 nullptr, 0);
}

}  // namespace

int judge_relayed(const Config& cfg, const sockaddr_storage& relay, std::vector<uint8_t>& data) {
    proto::UdpHeader h;
    proto::Result r = proto::decode_udp_header(proto::Bytes(data.data(), data.size()), h);
    if (r.status != proto::Status::kDone || h.frag != 0)
        return refuse(cfg, relay, {}, "not one whole datagram with a SOCKS header", "strict");
    // The library writes addresses (a fake one for a name); a name in the header would
    // be the job's own text.
    sockaddr_storage dest{};
    socklen_t dest_len = 0;
    if (h.address.type == proto::AddrType::kDomain ||
        !shim::sockaddr_of(h.address, h.address.type == proto::AddrType::kIpv6 ? AF_INET6 : AF_INET,
                           dest, dest_len))
        return refuse(cfg, relay, {}, "the header names no address", "strict");
    uint8_t out[proto::kMaxUdpHeader];
    size_t n = 0;
    if (int err = judge_destination(cfg, relay, dest, out, n)) return err;
    size_t payload = data.size() - r.consumed;
    std::vector<uint8_t> fresh(n + payload);
    std::memcpy(fresh.data(), out, n);
    std::memcpy(fresh.data() + n, data.data() + r.consumed, payload);
    data.swap(fresh);
    return 0;
}

}  // namespace socksify::launcher
