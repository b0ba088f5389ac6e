// Conversions between the program's sockaddrs and SOCKS address fields.
#pragma once

#include <sys/socket.h>

#include <string_view>

#include "protocol/address.hpp"

namespace socksify::shim {

// dest as a SOCKS address: by name when name is non-empty, else by address; a
// v4-mapped IPv6 address is sent as IPv4 (what the program meant).
proto::Address socks_address(const sockaddr* dest, std::string_view name);

// An IPv4/IPv6 SOCKS address as a sockaddr a socket of family can use (v4-mapped
// for IPv4 on AF_INET6). False for a domain or an IPv6 address on AF_INET.
bool sockaddr_of(const proto::Address& a, int family, sockaddr_storage& out, socklen_t& len);

// True for the all-zero IPv4/IPv6 address (RFC 1928 §6: "use the proxy's address").
bool is_unspecified(const proto::Address& a);

}  // namespace socksify::shim
