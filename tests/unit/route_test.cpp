// The routing predicates: which IPv6 destinations only this host's links reach.
#include "shim/settings/route.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>

namespace socksify::shim {
namespace {

// Every value of the first 16 bits (the part that decides the scope), compared with
// the macros glibc uses to decide that a scope id names an interface.
TEST(Route, LinkScopedIsWhatLibcCallsLinkOrNodeLocal) {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_addr.s6_addr[15] = 1;
    for (unsigned top = 0; top <= 0xffff; ++top) {
        in6.sin6_addr.s6_addr[0] = static_cast<uint8_t>(top >> 8);
        in6.sin6_addr.s6_addr[1] = static_cast<uint8_t>(top);
        const in6_addr* a = &in6.sin6_addr;
        bool want =
            IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_MC_NODELOCAL(a) || IN6_IS_ADDR_MC_LINKLOCAL(a);
        ASSERT_EQ(is_link_scoped(reinterpret_cast<sockaddr*>(&in6)), want) << std::hex << top;
    }
    sockaddr_in in{};
    in.sin_family = AF_INET;
    memset(&in.sin_addr, 0xfe, 4);
    EXPECT_FALSE(is_link_scoped(reinterpret_cast<sockaddr*>(&in)));
}

}  // namespace
}  // namespace socksify::shim
