// An IPv4 or IPv6 network, shared by the direct list, the fake ranges and the policy.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace socksify::shim {

struct Cidr {
    sa_family_t family = AF_UNSPEC;  // AF_INET or AF_INET6
    uint8_t prefix = 0;
    std::array<uint8_t, 16> addr{};  // network order, host bits zeroed
};

// Parsers: nullptr on success, else a static one-phrase reason.
const char* parse_cidr(std::string_view text, Cidr& out);  // "203.0.113.0/24", "::1", "1.2.3.4"
const char* parse_cidr_list(std::string_view text, Cidr* out, size_t cap, size_t& count);

// True when a (AF_INET or AF_INET6, v4-mapped handled as IPv4) is inside c.
bool cidr_contains(const Cidr& c, const sockaddr* a);

}  // namespace socksify::shim
