// Which connections the shim takes: the routing decision shared by every hook.
#pragma once

#include <sys/socket.h>

#include "shim/config.hpp"

namespace socksify::shim {

// True when a (AF_INET/AF_INET6) must be reached directly: the proxy itself, or an
// address in the configured direct list (loopback by default).
bool is_direct(const Config& cfg, const sockaddr* a);

// Same address and port (v4-mapped IPv6 equals its IPv4 form).
bool same_endpoint(const sockaddr* a, const sockaddr* b);

}  // namespace socksify::shim
