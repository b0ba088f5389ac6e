// An IPv4 or IPv6 network, shared by the direct list, the fake ranges and the policy.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>

namespace socksify::shim {

struct Cidr {
    sa_family_t family = AF_UNSPEC;  // AF_INET or AF_INET6
    uint8_t prefix = 0;
    std::array<uint8_t, 16> addr{};  // network order, host bits zeroed
};

}  // namespace socksify::shim
