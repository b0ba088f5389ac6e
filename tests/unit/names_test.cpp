// Fake address arithmetic and name routing.
#include "shim/dns/names.hpp"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netdb.h>
#include <resolv.h>

#include <cstring>
#include <string>
#include <vector>

#include "shim/dns/fake_dns.hpp"
#include "tests/unit/host_forms.hpp"

namespace socksify::shim {
namespace {

Config fake_config() {
    Config cfg;
    cfg.valid = true;
    EXPECT_EQ(parse_cidr("240.0.0.0/12", cfg.fake_net4), nullptr);
    EXPECT_EQ(parse_cidr("fd53:4f43:4b53::/96", cfg.fake_net6), nullptr);
    return cfg;
}

std::string text_of(const sockaddr_storage& s) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (s.ss_family == AF_INET)
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(s).sin_addr, buf, sizeof buf);
    else
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(s).sin6_addr, buf, sizeof buf);
    return buf;
}

NameRoute route_of(const Config& cfg, const char* name) {
    HostText host;
    return route_name(cfg, name, false, host);
}

TEST(Names, IndexToAddressAndBack) {
    Config cfg = fake_config();
    sockaddr_storage s;
    socklen_t len = 0;
    fake_address(cfg, 0, AF_INET, s, len);
    EXPECT_EQ(text_of(s), "240.0.0.1");
    EXPECT_EQ(len, sizeof(sockaddr_in));
    fake_address(cfg, 300, AF_INET, s, len);
    EXPECT_EQ(text_of(s), "240.0.1.45");
    uint32_t index = 0;
    ASSERT_TRUE(fake_index_of(cfg, reinterpret_cast<sockaddr*>(&s), index));
    EXPECT_EQ(index, 300u);
    fake_address(cfg, 1048573, AF_INET, s, len);
    EXPECT_EQ(text_of(s), "240.15.255.254");
    fake_address(cfg, 300, AF_INET6, s, len);
    EXPECT_EQ(text_of(s), "fd53:4f43:4b53::12d");
    ASSERT_TRUE(fake_index_of(cfg, reinterpret_cast<sockaddr*>(&s), index));
    EXPECT_EQ(index, 300u);
}

TEST(Names, V4MappedFakeAddressIsRecognised) {
    Config cfg = fake_config();
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "::ffff:240.0.0.5", &in6.sin6_addr);
    uint32_t index = 0;
    ASSERT_TRUE(fake_index_of(cfg, reinterpret_cast<sockaddr*>(&in6), index));
    EXPECT_EQ(index, 4u);
}

TEST(Names, AddressesOutsideTheRangesAreNotFake) {
    Config cfg = fake_config();
    uint32_t index = 0;
    for (const char* a : {"240.0.0.0", "240.16.0.1", "203.0.113.1", "240.15.255.255"}) {
        sockaddr_in in{};
        in.sin_family = AF_INET;
        inet_pton(AF_INET, a, &in.sin_addr);
        EXPECT_FALSE(fake_index_of(cfg, reinterpret_cast<sockaddr*>(&in), index)) << a;
    }
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "fd53:4f43:4b54::1", &in6.sin6_addr);
    EXPECT_FALSE(fake_index_of(cfg, reinterpret_cast<sockaddr*>(&in6), index));
}

TEST(Names, CapacityFollowsTheSmallerRange) {
    Config cfg = fake_config();
    EXPECT_EQ(fake_capacity(cfg), 1048574u);
    ASSERT_EQ(parse_cidr("203.0.113.0/24", cfg.fake_net4), nullptr);
    EXPECT_EQ(fake_capacity(cfg), 254u);
    // Up to a /8 (the old table stopped at 131,070 whatever the range).
    ASSERT_EQ(parse_cidr("198.0.0.0/10", cfg.fake_net4), nullptr);
    EXPECT_EQ(fake_capacity(cfg), 4194302u);
    ASSERT_EQ(parse_cidr("198.0.0.0/8", cfg.fake_net4), nullptr);
    EXPECT_EQ(fake_capacity(cfg), kFakeDnsMaxCapacity);
    ASSERT_EQ(parse_cidr("0.0.0.0/1", cfg.fake_net4), nullptr);
    EXPECT_EQ(fake_capacity(cfg), kFakeDnsMaxCapacity);
    ASSERT_EQ(parse_cidr("fd00::/112", cfg.fake_net6), nullptr);
    EXPECT_EQ(fake_capacity(cfg), 65534u);
}

// The default ranges hold a million names at once (issue 19), and the IPv4 one is
// unicast that no real destination uses: inside the reserved 240.0.0.0/4 (which rules
// out every assigned and private network), and not the broadcast address, multicast
// (programs treat it apart), carrier-grade NAT (tailnets), loopback or link-local.
TEST(Names, DefaultRangesHoldAMillionNamesOfNoRealHost) {
    Config cfg;
    ASSERT_EQ(parse_fake_net4(kDefaultFakeNet, cfg.fake_net4), nullptr);
    ASSERT_EQ(parse_fake_net6(kDefaultFakeNet6, cfg.fake_net6), nullptr);
    EXPECT_GE(fake_capacity(cfg), 1000000u);
    EXPECT_GE(128 - cfg.fake_net6.prefix, 32 - cfg.fake_net4.prefix);  // IPv6 as large
    auto base = [](const Cidr& c) {
        sockaddr_in in{};
        in.sin_family = AF_INET;
        memcpy(&in.sin_addr, c.addr.data(), 4);
        return in;
    };
    Cidr reserved;
    ASSERT_EQ(parse_cidr("240.0.0.0/4", reserved), nullptr);
    sockaddr_in first = base(cfg.fake_net4);
    EXPECT_TRUE(cidr_contains(reserved, reinterpret_cast<sockaddr*>(&first)) &&
                cfg.fake_net4.prefix >= reserved.prefix)
        << kDefaultFakeNet << " is not inside 240.0.0.0/4";
    for (const char* real : {"224.0.0.0/4", "100.64.0.0/10", "127.0.0.0/8", "0.0.0.0/8",
                             "169.254.0.0/16", "255.255.255.255/32"}) {
        Cidr c;
        ASSERT_EQ(parse_cidr(real, c), nullptr) << real;
        sockaddr_in a = base(c), f = base(cfg.fake_net4);
        // Two networks overlap when one holds the other's first address.
        EXPECT_FALSE(cidr_contains(cfg.fake_net4, reinterpret_cast<sockaddr*>(&a)) ||
                     cidr_contains(c, reinterpret_cast<sockaddr*>(&f)))
            << kDefaultFakeNet << " overlaps " << real;
    }
}

// Addresses far into a /8 map to their index and back.
TEST(Names, IndexesAcrossASlashEight) {
    Config cfg = fake_config();
    ASSERT_EQ(parse_cidr("198.0.0.0/8", cfg.fake_net4), nullptr);
    for (uint32_t index : {0u, 255u, 65536u, kFakeDnsMaxCapacity - 1}) {
        for (int family : {AF_INET, AF_INET6}) {
            sockaddr_storage s{};
            socklen_t len = 0;
            fake_address(cfg, index, family, s, len);
            uint32_t back = 0;
            ASSERT_TRUE(fake_index_of(cfg, reinterpret_cast<sockaddr*>(&s), back)) << index;
            EXPECT_EQ(back, index);
        }
    }
    sockaddr_in last{};
    last.sin_family = AF_INET;
    last.sin_addr.s_addr =
        htonl(0xc6ffffff);  // 198.255.255.255: the broadcast end is never handed out
    uint32_t back = 0;
    EXPECT_FALSE(fake_index_of(cfg, reinterpret_cast<sockaddr*>(&last), back));
}

TEST(Names, RoutesLiteralsHostsAndSuffixesLocally) {
    Config cfg = fake_config();
    strcpy(cfg.suffixes[0], ".corp.internal");
    cfg.suffix_count = 1;
    for (const char* literal : {"203.0.113.10", "2001:db8::1", "203.0.113.7.", "0x7f.1",
                                "2130706433", "fe80::1%eth0", "ff02::1de:c0:face:8d%lo"})
        EXPECT_EQ(route_of(cfg, literal), NameRoute::kLiteral) << literal;
    for (const char* junk : {"0.1.1.~1", "a b", "1.2.3.4.5", "08.1.1.1", "-a.example", "."})
        EXPECT_EQ(route_of(cfg, junk), NameRoute::kNotFound) << junk;
    EXPECT_EQ(route_of(cfg, "localhost"), NameRoute::kLocal);  // /etc/hosts
    EXPECT_EQ(route_of(cfg, "git.corp.internal"), NameRoute::kLocal);
    EXPECT_EQ(route_of(cfg, "corp.internal"), NameRoute::kLocal);
    EXPECT_EQ(route_of(cfg, "xcorp.internal"), NameRoute::kFake);
    EXPECT_EQ(route_of(cfg, "web.socks.test"), NameRoute::kFake);
    cfg.dns_mode = DnsMode::kOff;
    EXPECT_EQ(route_of(cfg, "web.socks.test"), NameRoute::kRefuse);
    cfg.dns_mode = DnsMode::kLocal;
    EXPECT_EQ(route_of(cfg, "web.socks.test"), NameRoute::kLocal);
    EXPECT_EQ(route_of(cfg, "0.1.1.~1"), NameRoute::kLocal);  // the system's own rules
    EXPECT_EQ(route_of(cfg, "0x7f.1"), NameRoute::kLiteral);  // an address in every mode
    cfg.valid = false;
    cfg.dns_mode = DnsMode::kRemote;
    EXPECT_EQ(route_of(cfg, "web.socks.test"), NameRoute::kRefuse);
}

}  // namespace
}  // namespace socksify::shim
