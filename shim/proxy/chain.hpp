// The way out for one connection: the proxy alone, a route's upstream, or a chain of
// upstreams (SOCKSIFY_CHAIN), each hop reached through the previous one, the hops
// picked per connection by the chain mode (strict, dynamic, random, round-robin, as
// proxychains users know them). One state machine (Path) walks every kind of way.
#pragma once

#include <sys/socket.h>

#include <cstddef>

#include "settings/config.hpp"
#include "shim/io.hpp"
#include "shim/proxy/handshake.hpp"
#include "shim/proxy/upstream.hpp"

namespace socksify::shim {

// The hops one connection uses, in order: indices into cfg.hops. rand_value feeds
// the random mode (tests pass a fixed one); the round-robin start comes from turn.
size_t pick_hops(const Config& cfg, uint32_t turn, uint64_t rand_value, size_t* order);

// The first route (cfg.routes) whose rule matches the destination: by name when name
// is non-empty (a fake address is judged by its name), else by address; or nullptr.
const RouteSpec* find_route(const Config& cfg, const sockaddr* dest, std::string_view name);

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
    int start(int fd, int& domain, const Config& cfg, const RouteSpec* route,
              const proto::Request& request, bool pipelined, const Deadline& deadline);
    // Advances as far as fd allows now. Returns the poll events to wait for, or 0 when
    // done: then out.err is the result. Past the deadline the caller ends it. ready: the
    // events a wait just reported for fd (0: unknown), which spares a poll of our own.
    short advance(int fd, int& domain, HandshakeResult& out, short ready = 0);

    const char* via() const { return via_; }  // "a > b > c", for log and audit lines
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
    int connect_first(int fd, int& domain);
    int start_hop();
    short fail(int fd, int& domain, HandshakeResult& out, int err);
    short finish(HandshakeResult& out, int err);
    void note_failure(int err) const;
    void write_via();

    Upstream hops_[kMaxHops];
    size_t n_ = 0;
    size_t step_ = 0;  // 0: connecting to hop 0; i: hop i-1 asked for hop i (n_: the request)
    bool chain_ = false;
    bool dynamic_ = false;
    bool connecting_ = false;
    bool fresh_ = false;  // the connect just said EINPROGRESS: nothing to look at yet
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
