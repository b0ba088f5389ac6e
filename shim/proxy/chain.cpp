// Chains: connect to the first hop, ask each hop for the next one, ask the last for
// the destination. Dynamic mode rebuilds without a hop that did not answer.
#include "shim/proxy/chain.hpp"

#include <sys/random.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "shim/log.hpp"
#include "shim/proxy/socks_address.hpp"
#include "shim/proxy/tcp_connect.hpp"
#include "shim/socket_ops.hpp"

namespace socksify::shim {
namespace {

std::atomic<uint32_t> g_turn{0};  // round-robin: one step per connection of this process

Hop hop_of(const HopSpec& h, bool pipelined) {
    Credentials creds;
    if (h.has_auth) creds = {{h.user, h.user_len}, {h.pass, h.pass_len}};
    return Hop{h.kind, creds, pipelined, h.text};
}

void write_via(const Config& cfg, const size_t* order, size_t n, char* via, size_t cap) {
    if (cap == 0) return;
    size_t len = 0;
    via[0] = '\0';
    for (size_t i = 0; i < n && len + 1 < cap; ++i) {
        int w =
            std::snprintf(via + len, cap - len, "%s%s", i ? " > " : "", cfg.hops[order[i]].text);
        if (w < 0) break;
        len += static_cast<size_t>(w);
    }
}

// One build along order[0..n); step says where it failed: i < n is hop order[i]
// unreachable (connect for i = 0, CONNECT through the previous hop otherwise), n is
// the destination.
int build(int fd, int& domain, const size_t* order, size_t n, const Target& dest, const Config& cfg,
          bool pipelined, const Deadline& deadline, HandshakeResult& result, size_t& step) {
    step = 0;
    const HopSpec& first = cfg.hops[order[0]];
    sockaddr_storage addr;
    socklen_t len = 0;
    if (int err = reachable_address(fd, domain, first.addr, first.addr_len, addr, len)) return err;
    if (int err = connect_until(fd, reinterpret_cast<sockaddr*>(&addr), len, deadline)) {
        if (err != EISCONN && err != EALREADY)
            log_line(LogLevel::kError, "chain: %s (%s) does not answer: %s", first.text,
                     kind_name(first.kind), strerror(err));
        return err;
    }
    for (step = 1; step <= n; ++step) {
        // The probe's verdict is about the run's first proxy only.
        size_t at = order[step - 1];
        Hop hop = hop_of(cfg.hops[at], pipelined && step == 1 && at == 0);
        Target t =
            step < n
                ? socks_address(reinterpret_cast<const sockaddr*>(&cfg.hops[order[step]].addr), {})
                : dest;
        if (int err = run_hop(fd, hop, t, deadline, result)) {
            log_line(LogLevel::kError, "chain: %s (%s) could not reach %s: %s", cfg.hops[at].text,
                     kind_name(cfg.hops[at].kind),
                     step < n ? cfg.hops[order[step]].text : "the destination", strerror(err));
            return err;
        }
    }
    step = n;
    return 0;
}

}  // namespace

size_t pick_hops(const Config& cfg, uint32_t turn, uint64_t rand_value, size_t* order) {
    size_t count = cfg.hop_count;
    for (size_t i = 0; i < count; ++i) order[i] = i;
    switch (cfg.chain_mode) {
        case ChainMode::kStrict:
        case ChainMode::kDynamic: return count;
        case ChainMode::kRandom:
            // Fisher–Yates: the first chain_len entries are a uniform draw.
            for (size_t i = 0; i + 1 < count; ++i) {
                size_t j = i + static_cast<size_t>(rand_value % (count - i));
                rand_value = rand_value / (count - i) ^ (rand_value << 7);
                size_t t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            return cfg.chain_len;
        case ChainMode::kRoundRobin:
            for (size_t i = 0; i < cfg.chain_len; ++i) order[i] = (turn + i) % count;
            return cfg.chain_len;
    }
    return count;
}

const RouteSpec* find_route(const Config& cfg, const sockaddr* dest, std::string_view name) {
    for (size_t i = 0; i < cfg.route_count; ++i)
        if (rule_matches(cfg.routes[i].rule, name, dest)) return &cfg.routes[i];
    return nullptr;
}

int run_via_hop(int fd, int& domain, const HopSpec& hop, const Target& dest,
                const Deadline& deadline, HandshakeResult& result, char* via, size_t via_cap) {
    std::snprintf(via, via_cap, "%s (route)", hop.text);
    sockaddr_storage addr;
    socklen_t len = 0;
    if (int err = reachable_address(fd, domain, hop.addr, hop.addr_len, addr, len)) return err;
    if (int err = connect_until(fd, reinterpret_cast<sockaddr*>(&addr), len, deadline)) return err;
    return run_hop(fd, hop_of(hop, false), dest, deadline, result);
}

int run_chain(int fd, int& domain, const Target& dest, const Config& cfg, bool pipelined,
              const Deadline& deadline, HandshakeResult& result, char* via, size_t via_cap) {
    size_t order[kMaxHops];
    uint64_t r = 0;
    if (cfg.chain_mode == ChainMode::kRandom &&
        getrandom(&r, sizeof r, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof r))
        r = static_cast<uint64_t>(monotonic_ns());
    uint32_t turn = cfg.chain_mode == ChainMode::kRoundRobin
                        ? g_turn.fetch_add(1, std::memory_order_relaxed)
                        : 0;
    size_t n = pick_hops(cfg, turn, r, order);
    for (;;) {
        write_via(cfg, order, n, via, via_cap);
        size_t step = 0;
        int err = build(fd, domain, order, n, dest, cfg, pipelined, deadline, result, step);
        if (err == 0 || cfg.chain_mode != ChainMode::kDynamic || step == n) return err;
        if (err == EISCONN || err == EALREADY) return err;  // the program's own connection
        // Dynamic: drop the hop that did not answer and build again on a fresh socket,
        // as long as one hop is left and time remains.
        log_line(LogLevel::kVerbose, "chain: skipping %s", cfg.hops[order[step]].text);
        for (size_t i = step; i + 1 < n; ++i) order[i] = order[i + 1];
        if (--n == 0 || deadline.passed()) return err;
        if (int e = replace_socket(fd, domain, true)) return e;
    }
}

}  // namespace socksify::shim
