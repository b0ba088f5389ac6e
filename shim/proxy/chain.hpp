// The way out for one connection: the proxy alone, a route's upstream, or a chain of
// upstreams (SOCKSIFY_CHAIN), each hop reached through the previous one, the hops
// picked per connection by the chain mode (strict, dynamic, random, round-robin, as
// proxychains users know them). One state machine (Path) walks every kind of way.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

#include "shim/io.hpp"
#include "shim/proxy/handshake.hpp"
#include "shim/proxy/upstream.hpp"
#include "shim/settings/config.hpp"

namespace socksify::shim {

// The hops one connection uses, in order: indices into cfg.hops. rand_value feeds
// the random mode (tests pass a fixed one); the round-robin start comes from turn.
size_t pick_hops(const Config& cfg, uint32_t turn, uint64_t rand_value, size_t* order);

// The first route (cfg.routes) whose rule matches the destination: by name when name
// is non-empty (a fake address is judged by its name), else by address; or nullptr.
const RouteSpec* find_route(const Config& cfg, const sockaddr* dest, std::string_view name);

// Whether hop i (cfg.hops) gets greeting, authentication and request in one write:
// hop 0 is the run's proxy (first: the probe's verdict on it); a later one when the
// launcher found that it keeps early bytes (SharedHeader::hop_pipeline).
bool hop_pipelined(const Config& cfg, size_t i, bool first);

// UDP ASSOCIATE (request) through the chain on fd, the control connection: every hop
// but the last is crossed with CONNECT, the last must be SOCKS5 and runs request.
// path gets the hops used (Config::hops indices, kMaxHops room). Returns 0 or an errno
// (EACCES, nothing sent, when the last hop speaks no SOCKS5).
int run_chain_associate(int fd, int& domain, const proto::Request& request, const Config& cfg,
                        bool pipelined, const Deadline& deadline, HandshakeResult& result,
                        uint8_t* path, size_t& path_len);

// "a > b > c": the hops of path, for log and audit lines.
void format_hops(const Config& cfg, const uint8_t* path, size_t n, char* out, size_t cap);

// Connects fd (non-blocking, not connected) to hop i of the chain through hops
// 0..i-1 in list order, each asked for the next: the launcher's pipelining probe of
// hop i runs on it. 0 or an errno.
int connect_to_hop(int fd, int& domain, const Config& cfg, size_t i, const Deadline& deadline);

// The whole way to one destination on the program's socket as a state machine: the
// connect to the first upstream, then one exchange per hop (each asks for the next
// hop, the last for the request's address), advanced from non-blocking I/O. The
// blocking driver (run_path) and the readiness hooks (shim/proxy/pending.hpp) drive
// the same steps. A dynamic chain that loses a hop builds again without it on a fresh
// socket under the same fd (replacements() counts those: epoll sets lose the old one).
class Path {
  public:
    // The way for request under cfg: route's upstream when route is set, else the
    // chain (drawn now) or the proxy. pipelined: the probe's verdict for the run's
    // first proxy. Starts the connect to the first hop on fd (not connected; domain is
    // its family, updated when fd is replaced). Returns 0 or an errno (EISCONN/EALREADY:
    // the program's own connection, left alone).
    // A chain runs any SOCKS5 command at its last hop (UDP ASSOCIATE: the control
    // connection crosses the others by CONNECT); EACCES, before any connect, when that
    // hop speaks no SOCKS5.
    int start(int fd, int& domain, const Config& cfg, const RouteSpec* route,
              const proto::Request& request, bool pipelined, const Deadline& deadline);
    // The way to hop i of cfg's chain: hops 0..i-1 in list order, the last asked to
    // CONNECT to hop i (i ≥ 1). Otherwise as start.
    int start_to_hop(int fd, int& domain, const Config& cfg, size_t i, const Deadline& deadline);
    // Advances as far as fd allows now. Returns the poll events to wait for, or 0 when
    // done: then out.err is the result. Past the deadline the caller ends it. ready: the
    // events a wait just reported for fd (0: unknown), which spares a poll of our own.
    short advance(int fd, int& domain, HandshakeResult& out, short ready = 0);
    // For a driver that waits in poll between calls (run_path): each answer is waited
    // for before it is read (Handshake::wait_before_reading).
    void wait_before_reading() { hop_.wait_before_reading(); }

    const char* via() const { return via_; }  // "a > b > c", for log and audit lines
    // A chain's hops in use now (Config::hops indices; a dynamic chain's dead ones left
    // out) into path (kMaxHops room): their count, 0 for a route or the proxy.
    size_t drawn(uint8_t* path) const;
    unsigned replacements() const { return replacements_; }
    const Deadline& deadline() const { return deadline_; }
    // Ends the way at its deadline: ETIMEDOUT (and a chain's line naming the hop).
    short expire(HandshakeResult& out);

  private:
    struct Upstream {
        ProxyKind kind;
        const sockaddr_storage* addr;
        socklen_t addr_len;
        Credentials creds;
        const char* text;
        bool pipelined;
    };
    int begin(int fd, int& domain);
    int connect_first(int fd, int& domain);
    int start_hop();
    short fail(int fd, int& domain, HandshakeResult& out, int err);
    short finish(HandshakeResult& out, int err);
    void note_failure(int err) const;
    void write_via();

    Upstream hops_[kMaxHops];
    uint8_t index_[kMaxHops];  // hops_[i] is cfg.hops[index_[i]] (chains only)
    size_t n_ = 0;
    size_t step_ = 0;  // 0: connecting to hop 0; i: hop i-1 asked for hop i (n_: the request)
    bool chain_ = false;
    bool dynamic_ = false;
    bool connecting_ = false;
    bool fresh_ = false;  // the connect just said EINPROGRESS: nothing to look at yet
    bool bound_ = false;  // the program bound the socket (a dynamic chain's replacement keeps it)
    bool done_ = false;
    int deferred_ = 0;  // a dynamic chain's first hop refused at once: handled in advance
    unsigned replacements_ = 0;
    proto::Request request_;
    char name_[256];  // backs request_.address.domain
    Deadline deadline_;
    char via_[160];
    HopExchange hop_;
};

// Runs the whole of path (started) on fd under its deadline; 0 or an errno.
int run_path(int fd, int& domain, Path& path, HandshakeResult& out);

}  // namespace socksify::shim
