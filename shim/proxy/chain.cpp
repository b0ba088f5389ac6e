// Path: connect to the first hop, ask each hop for the next one, ask the last for
// the destination. Dynamic mode rebuilds without a hop that did not answer.
#include "shim/proxy/chain.hpp"

#include <poll.h>
#include <sys/random.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "shim/log.hpp"
#include "shim/proxy/socks_address.hpp"
#include "shim/proxy/tcp_connect.hpp"
#include "shim/real.hpp"
#include "shim/shared_state.hpp"
#include "shim/socket_ops.hpp"

namespace socksify::shim {
namespace {

std::atomic<uint32_t> g_turn{0};  // round-robin: one step per connection of this process

Credentials creds_of(const HopSpec& h) {
    if (!h.has_auth) return {};
    return {{h.user, h.user_len}, {h.pass, h.pass_len}};
}

// "a > b > c" into out (cut at cap): text_of(i) names hop i of n.
template <typename TextOf>
void join_hops(size_t n, TextOf text_of, char* out, size_t cap) {
    size_t len = 0;
    if (cap > 0) out[0] = '\0';
    for (size_t i = 0; i < n && len + 1 < cap; ++i) {
        int w = std::snprintf(out + len, cap - len, "%s%s", i ? " > " : "", text_of(i));
        if (w < 0) break;
        len += static_cast<size_t>(w);
    }
}

}  // namespace

// The hops before hop i only relay a tunnel by the time it is asked, so its position
// in the chain does not matter: the verdict is the server's.
bool hop_pipelined(const Config& cfg, size_t i, bool first) {
    if (i == 0) return first;
    return cfg.pipeline && i < 32 &&
           (shared_state().hop_pipeline.load(std::memory_order_relaxed) >> i & 1u) != 0;
}

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

int Path::start(int fd, int& domain, const Config& cfg, const RouteSpec* route,
                const proto::Request& request, bool pipelined, const Deadline& deadline) {
    deadline_ = deadline;
    chain_ = dynamic_ = false;
    request_ = request;
    if (request.address.type == proto::AddrType::kDomain) {
        size_t len = request.address.domain.size();
        if (len > sizeof name_) return EINVAL;
        memcpy(name_, request.address.domain.data(), len);
        request_.address.domain = {name_, len};
    }
    if (route != nullptr) {
        const HopSpec& h = route->hop;
        hops_[0] = {h.kind, &h.addr, h.addr_len, creds_of(h), h.text, false};
        n_ = 1;
        std::snprintf(via_, sizeof via_, "%s (route)", h.text);
    } else if (cfg.hop_count > 0) {
        chain_ = true;
        dynamic_ = cfg.chain_mode == ChainMode::kDynamic;
        size_t order[kMaxHops];
        uint64_t r = 0;
        if (cfg.chain_mode == ChainMode::kRandom &&
            getrandom(&r, sizeof r, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof r))
            r = static_cast<uint64_t>(monotonic_ns());
        uint32_t turn = cfg.chain_mode == ChainMode::kRoundRobin
                            ? g_turn.fetch_add(1, std::memory_order_relaxed)
                            : 0;
        n_ = pick_hops(cfg, turn, r, order);
        for (size_t i = 0; i < n_; ++i) {
            const HopSpec& h = cfg.hops[order[i]];
            hops_[i] = {h.kind,      &h.addr, h.addr_len,
                        creds_of(h), h.text,  hop_pipelined(cfg, order[i], pipelined)};
            index_[i] = static_cast<uint8_t>(order[i]);
        }
        write_via();
        // Only a SOCKS5 server has a datagram relay; never direct instead (the caller
        // names the hop in its line).
        if (request.command != proto::Command::kConnect && hops_[n_ - 1].kind != ProxyKind::kSocks5)
            return EACCES;
    } else {
        hops_[0] = {cfg.proxy_kind,         &cfg.proxy,     cfg.proxy_len,
                    proxy_credentials(cfg), cfg.proxy_text, pipelined};
        n_ = 1;
        std::snprintf(via_, sizeof via_, "%s", cfg.proxy_text);
    }
    return begin(fd, domain);
}

int Path::start_to_hop(int fd, int& domain, const Config& cfg, size_t i, const Deadline& deadline) {
    if (i == 0 || i >= cfg.hop_count) return EINVAL;
    deadline_ = deadline;
    chain_ = true;
    dynamic_ = false;
    request_ = {proto::Command::kConnect,
                socks_address(reinterpret_cast<const sockaddr*>(&cfg.hops[i].addr), {})};
    n_ = i;
    for (size_t k = 0; k < i; ++k) {
        const HopSpec& h = cfg.hops[k];
        hops_[k] = {h.kind, &h.addr, h.addr_len, creds_of(h), h.text, false};
        index_[k] = static_cast<uint8_t>(k);
    }
    write_via();
    return begin(fd, domain);
}

size_t Path::drawn(uint8_t* path) const {
    if (!chain_) return 0;
    memcpy(path, index_, n_);
    return n_;
}

// The connect to the first hop, once the way is laid out.
int Path::begin(int fd, int& domain) {
    step_ = 0;
    replacements_ = 0;
    connecting_ = done_ = false;
    deferred_ = 0;
    // Only a binding the program made goes to a replacement socket: after our connect
    // the kernel's own port shows in getsockname too, and may be someone else's by
    // then (EADDRINUSE). Asked only where a replacement can happen.
    bound_ = dynamic_ && n_ > 1 && is_bound(fd);
    int err = connect_first(fd, domain);
    // A dynamic chain goes on without a first hop that refuses at once: in advance.
    if (err != 0 && dynamic_ && n_ > 1 && err != EISCONN && err != EALREADY) {
        deferred_ = err;
        return 0;
    }
    if (err != 0) note_failure(err);
    return err;
}

void Path::write_via() {
    join_hops(
        n_, [this](size_t i) { return hops_[i].text; }, via_, sizeof via_);
}

int Path::connect_first(int fd, int& domain) {
    step_ = 0;
    connecting_ = false;
    sockaddr_storage addr;
    socklen_t len = 0;
    if (int err = reachable_address(fd, domain, *hops_[0].addr, hops_[0].addr_len, addr, len))
        return err;
    const auto* to = reinterpret_cast<const sockaddr*>(&addr);
    // A 0 at once can be the kernel finishing the program's own earlier non-blocking
    // connect (whatever address is passed): then the socket is not ours.
    if (real::connect(fd, to, len) == 0) {
        if (!peer_is(fd, to)) return EISCONN;
        connecting_ = true;  // the next step finds it writable at once
        return 0;
    }
    // EINTR: the connect goes on in the background, as EINPROGRESS.
    if (errno == EINPROGRESS || errno == EINTR) {
        connecting_ = fresh_ = true;
        return 0;
    }
    return errno;  // EISCONN/EALREADY: the program's own connection, left alone
}

int Path::start_hop() {
    ++step_;
    const Upstream& u = hops_[step_ - 1];
    proto::Request next = request_;
    if (step_ < n_)
        next = {proto::Command::kConnect,
                socks_address(reinterpret_cast<const sockaddr*>(hops_[step_].addr), {})};
    return hop_.start(Hop{u.kind, u.creds, u.pipelined, u.text}, next);
}

// The failure's log line for a chain, naming the hop (a single upstream's is the
// connection's own line).
void Path::note_failure(int err) const {
    if (!chain_ || err == EISCONN || err == EALREADY) return;
    if (step_ == 0) {
        log_line(LogLevel::kError, "chain: %s (%s) does not answer: %s", hops_[0].text,
                 kind_name(hops_[0].kind), strerror(err));
    } else {
        log_line(LogLevel::kError, "chain: %s (%s) could not reach %s: %s", hops_[step_ - 1].text,
                 kind_name(hops_[step_ - 1].kind),
                 step_ < n_ ? hops_[step_].text : "the destination", strerror(err));
    }
}

short Path::finish(HandshakeResult& out, int err) {
    done_ = true;
    out.err = err;
    return 0;
}

short Path::expire(HandshakeResult& out) {
    if (done_) return 0;
    note_failure(ETIMEDOUT);
    return finish(out, ETIMEDOUT);
}

// The step failed with err: the end, or (dynamic) the way again without the hop that
// did not answer, on a fresh socket, as long as one hop is left and time remains.
short Path::fail(int fd, int& domain, HandshakeResult& out, int err) {
    note_failure(err);
    size_t dead = step_;
    if (!dynamic_ || dead >= n_ || n_ <= 1 || err == EISCONN || err == EALREADY ||
        deadline_.passed())
        return finish(out, err);
    log_line(LogLevel::kVerbose, "chain: skipping %s", hops_[dead].text);
    for (size_t i = dead; i + 1 < n_; ++i) {
        hops_[i] = hops_[i + 1];
        index_[i] = index_[i + 1];
    }
    --n_;
    write_via();
    if (int e = replace_socket(fd, domain, bound_)) return finish(out, e);
    ++replacements_;
    if (int e = connect_first(fd, domain)) return fail(fd, domain, out, e);
    return advance(fd, domain, out, 0);
}

short Path::advance(int fd, int& domain, HandshakeResult& out, short ready) {
    if (done_) return 0;
    if (deferred_ != 0) {
        int err = deferred_;
        deferred_ = 0;
        return fail(fd, domain, out, err);
    }
    if (connecting_ && !(ready & (POLLOUT | POLLERR | POLLHUP))) {
        if (fresh_) {
            fresh_ = false;
            return POLLOUT;
        }
        pollfd p{fd, POLLOUT, 0};
        int n = real::poll(&p, 1, 0);
        if (n == 0 || (n < 0 && errno == EINTR)) return POLLOUT;
        if (n < 0) return fail(fd, domain, out, errno);
    }
    if (connecting_) {
        // The kernel flags a failed connect with POLLERR/POLLHUP: writable without them
        // (as poll or epoll reported it) is connected, and needs no SO_ERROR.
        bool clean = (ready & POLLOUT) != 0 && (ready & (POLLERR | POLLHUP)) == 0;
        int so_error = 0;
        socklen_t len = sizeof so_error;
        if (!clean && real::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0)
            return fail(fd, domain, out, errno);
        if (so_error != 0) return fail(fd, domain, out, so_error);
        connecting_ = false;
        if (int err = start_hop()) return fail(fd, domain, out, err);
    }
    for (;;) {
        short events = hop_.advance(fd, out, ready);
        ready = 0;  // what the wait reported is used: the next hop starts by sending
        if (events != 0) return events;
        if (out.err != 0) return fail(fd, domain, out, out.err);
        if (step_ == n_) return finish(out, 0);
        if (int err = start_hop()) return fail(fd, domain, out, err);
    }
}

int run_path(int fd, int& domain, Path& path, HandshakeResult& out) {
    out.err = 0;
    path.wait_before_reading();
    short ready = 0;
    for (;;) {
        short events = path.advance(fd, domain, out, ready);
        if (events == 0) return out.err;
        short revents = 0;
        int err = wait_for(fd, events, path.deadline(), &revents);
        if (err == ETIMEDOUT) return path.expire(out), out.err;
        // Any other failure of the wait shows in the socket itself at the next step.
        ready = err == 0 ? revents : 0;
    }
}

int run_chain_associate(int fd, int& domain, const proto::Request& request, const Config& cfg,
                        bool pipelined, const Deadline& deadline, HandshakeResult& result,
                        uint8_t* path, size_t& path_len) {
    Path way;
    int err = way.start(fd, domain, cfg, nullptr, request, pipelined, deadline);
    if (err == 0) err = run_path(fd, domain, way, result);
    path_len = way.drawn(path);
    return err;
}

void format_hops(const Config& cfg, const uint8_t* path, size_t n, char* out, size_t cap) {
    join_hops(
        n, [&](size_t i) { return path[i] < cfg.hop_count ? cfg.hops[path[i]].text : "?"; }, out,
        cap);
}

int connect_to_hop(int fd, int& domain, const Config& cfg, size_t i, const Deadline& deadline) {
    if (i >= cfg.hop_count) return EINVAL;
    if (i == 0) {
        sockaddr_storage addr;
        socklen_t len = 0;
        if (int err =
                reachable_address(fd, domain, cfg.hops[0].addr, cfg.hops[0].addr_len, addr, len))
            return err;
        return connect_until(fd, reinterpret_cast<sockaddr*>(&addr), len, deadline);
    }
    Path way;
    HandshakeResult result;
    int err = way.start_to_hop(fd, domain, cfg, i, deadline);
    return err != 0 ? err : run_path(fd, domain, way, result);
}

}  // namespace socksify::shim
