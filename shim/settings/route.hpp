// Which connections the shim takes: the routing decision shared by every hook.
#pragma once

#include <sys/socket.h>

#include "shim/settings/config.hpp"

namespace socksify::shim {

// True when a (AF_INET/AF_INET6) must be reached directly: the proxy itself, or an
// address in the configured direct list (loopback by default).
bool is_direct(const Config& cfg, const sockaddr* a);

// True for an IPv6 address only this host's own links reach: link-local unicast
// (fe80::/10) and interface- or link-local multicast (ffx1::/16, ffx2::/16). A SOCKS
// request carries no scope id, and the proxy would reach its own link's host of that
// address: such a destination goes direct when the direct list holds it, else it is
// refused, never sent to the proxy.
bool is_link_scoped(const sockaddr* a);

// Same address and port (v4-mapped IPv6 equals its IPv4 form).
bool same_endpoint(const sockaddr* a, const sockaddr* b);

}  // namespace socksify::shim
