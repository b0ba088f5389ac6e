// The routing decision: direct for the proxy and the direct list, else the proxy.
#include "shim/settings/route.hpp"

#include <netinet/in.h>

#include <cstring>

namespace socksify::shim {
namespace {

// Reduces a (v4, v6 or v4-mapped v6) to 16 address bytes + port for comparison.
bool canonical(const sockaddr* a, uint8_t (&addr)[16], uint16_t& port) {
    memset(addr, 0, sizeof addr);
    if (a->sa_family == AF_INET) {
        auto* in = reinterpret_cast<const sockaddr_in*>(a);
        addr[10] = addr[11] = 0xff;
        memcpy(addr + 12, &in->sin_addr, 4);
        port = in->sin_port;
        return true;
    }
    if (a->sa_family == AF_INET6) {
        auto* in6 = reinterpret_cast<const sockaddr_in6*>(a);
        memcpy(addr, &in6->sin6_addr, 16);
        port = in6->sin6_port;
        return true;
    }
    return false;
}

}  // namespace

bool same_endpoint(const sockaddr* a, const sockaddr* b) {
    uint8_t x[16], y[16];
    uint16_t px = 0, py = 0;
    return canonical(a, x, px) && canonical(b, y, py) && px == py && memcmp(x, y, 16) == 0;
}

bool is_link_scoped(const sockaddr* a) {
    if (a->sa_family != AF_INET6) return false;
    const uint8_t* b = reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr.s6_addr;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true;                   // fe80::/10
    return b[0] == 0xff && ((b[1] & 0x0f) == 0x01 || (b[1] & 0x0f) == 0x02);  // multicast scope
}

bool is_direct(const Config& cfg, const sockaddr* a) {
    if (same_endpoint(a, reinterpret_cast<const sockaddr*>(&cfg.proxy))) return true;
    for (size_t i = 0; i < cfg.direct_count; ++i)
        if (cidr_contains(cfg.direct[i], a)) return true;
    return false;
}

}  // namespace socksify::shim
