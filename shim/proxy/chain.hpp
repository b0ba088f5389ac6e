// A chain of upstreams (SOCKSIFY_CHAIN): each hop reached through the previous one,
// the hops picked per connection by the chain mode (strict, dynamic, random,
// round-robin, as proxychains users know them).
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

// CONNECT to dest through the chain on fd (non-blocking, not connected). domain is
// fd's family, updated when fd is replaced. Returns 0 or the failing hop's errno;
// via gets "a > b > c" (the hops tried last) for the log and audit lines.
int run_chain(int fd, int& domain, const Target& dest, const Config& cfg, bool pipelined,
              const Deadline& deadline, HandshakeResult& result, char* via, size_t via_cap);

// The first route (cfg.routes) whose rule matches the destination: by name when name
// is non-empty (a fake address is judged by its name), else by address; or nullptr.
const RouteSpec* find_route(const Config& cfg, const sockaddr* dest, std::string_view name);

// CONNECT to dest through one hop (a route's upstream) on fd, as run_chain.
int run_via_hop(int fd, int& domain, const HopSpec& hop, const Target& dest,
                const Deadline& deadline, HandshakeResult& result, char* via, size_t via_cap);

}  // namespace socksify::shim
