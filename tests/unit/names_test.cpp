// Fake address arithmetic and name routing.
#include "shim/names.hpp"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netdb.h>
#include <resolv.h>

#include <cstring>
#include <string>
#include <vector>

#include "tests/unit/host_forms.hpp"

namespace socksify::shim {
namespace {

Config fake_config() {
    Config cfg;
    cfg.valid = true;
    EXPECT_EQ(parse_cidr("198.18.0.0/15", cfg.fake_net4), nullptr);
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
    EXPECT_EQ(text_of(s), "198.18.0.1");
    EXPECT_EQ(len, sizeof(sockaddr_in));
    fake_address(cfg, 300, AF_INET, s, len);
    EXPECT_EQ(text_of(s), "198.18.1.45");
    uint32_t index = 0;
    ASSERT_TRUE(fake_index_of(cfg, reinterpret_cast<sockaddr*>(&s), index));
    EXPECT_EQ(index, 300u);
    fake_address(cfg, 131069, AF_INET, s, len);
    EXPECT_EQ(text_of(s), "198.19.255.254");
    fake_address(cfg, 300, AF_INET6, s, len);
    EXPECT_EQ(text_of(s), "fd53:4f43:4b53::12d");
    ASSERT_TRUE(fake_index_of(cfg, reinterpret_cast<sockaddr*>(&s), index));
    EXPECT_EQ(index, 300u);
}

TEST(Names, V4MappedFakeAddressIsRecognised) {
    Config cfg = fake_config();
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "::ffff:198.18.0.5", &in6.sin6_addr);
    uint32_t index = 0;
    ASSERT_TRUE(fake_index_of(cfg, reinterpret_cast<sockaddr*>(&in6), index));
    EXPECT_EQ(index, 4u);
}

TEST(Names, AddressesOutsideTheRangesAreNotFake) {
    Config cfg = fake_config();
    uint32_t index = 0;
    for (const char* a : {"198.18.0.0", "198.20.0.1", "203.0.113.1", "198.19.255.255"}) {
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
    EXPECT_EQ(fake_capacity(cfg), 131070u);
    ASSERT_EQ(parse_cidr("203.0.113.0/24", cfg.fake_net4), nullptr);
    EXPECT_EQ(fake_capacity(cfg), 254u);
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

// --- Host text: every spelling of an address, every way a name can be malformed, each
// checked against libc itself (getaddrinfo with AI_NUMERICHOST, inet_aton, res_hnok,
// ns_name_pton), not against expectations written here.

// libc's reading of text as a numeric host: AF_INET/AF_INET6 with the address (and
// scope id), or AF_UNSPEC when it is not one.
struct LibcNumeric {
    int family = AF_UNSPEC;
    uint8_t addr[16] = {};
    uint32_t scope_id = 0;
};

LibcNumeric libc_numeric(const std::string& text) {
    LibcNumeric r;
    addrinfo hints{};
    hints.ai_flags = AI_NUMERICHOST;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (getaddrinfo(text.c_str(), nullptr, &hints, &res) != 0) return r;
    r.family = res->ai_family;
    if (r.family == AF_INET) {
        memcpy(r.addr, &reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr, 4);
    } else {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(res->ai_addr);
        memcpy(r.addr, &in6->sin6_addr, 16);
        r.scope_id = in6->sin6_scope_id;
    }
    freeaddrinfo(res);
    return r;
}

std::string shown(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        char hex[8];
        if (c >= 0x21 && c <= 0x7e) {
            out += static_cast<char>(c);
        } else {
            snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        }
    }
    return "'" + out + "'";
}

// One string: parse_host agrees with libc on literal or not, family, address bytes,
// scope id (numeric scopes; named ones are libc's if_nametoindex), and on the host
// name syntax (res_hnok, including the escapes ns_name_pton undoes).
void expect_agrees_with_libc(const std::string& text) {
    HostText h;
    HostKind kind = parse_host(text, false, h);
    SCOPED_TRACE(shown(text));
    // The trailing-dot literal: libc's inet_aton takes the text without its dot.
    std::string bare = text;
    if (kind == HostKind::kIpv4 && h.trailing_dot) {
        ASSERT_EQ(bare.back(), '.');
        bare.pop_back();
        EXPECT_EQ(libc_numeric(text).family, AF_UNSPEC);  // libc would look it up as a name
    }
    LibcNumeric libc = libc_numeric(bare);
    if (libc.family == AF_INET) {
        ASSERT_EQ(kind, HostKind::kIpv4);
        EXPECT_EQ(memcmp(h.addr, libc.addr, 4), 0);
        in_addr a{};
        EXPECT_EQ(inet_aton(bare.c_str(), &a), 1);
        EXPECT_EQ(memcmp(&a, h.addr, 4), 0);
        return;
    }
    if (libc.family == AF_INET6) {
        ASSERT_EQ(kind, HostKind::kIpv6);
        EXPECT_EQ(memcmp(h.addr, libc.addr, 16), 0);
        if (h.scoped && h.scope_numeric) EXPECT_EQ(h.scope_id, libc.scope_id);
        if (h.scoped && !h.scope_numeric) {
            std::string scope(h.scope);
            EXPECT_EQ(if_nametoindex(scope.c_str()), libc.scope_id);
        }
        return;
    }
    // Not numeric to libc. An IPv6 literal whose scope libc cannot resolve (an unknown
    // interface, a name on a global address, "%") is still an address: libc fails it
    // with EAI_NONAME and never looks it up.
    if (kind == HostKind::kIpv6) {
        ASSERT_TRUE(h.scoped);
        if (h.scope_numeric) ADD_FAILURE() << "libc refused numeric scope " << h.scope_id;
        return;
    }
    ASSERT_NE(kind, HostKind::kIpv4);
    bool nul = text.find('\0') != std::string::npos;
    int hnok = nul ? 0 : res_hnok(text.c_str());
    if (text.empty()) {
        EXPECT_EQ(kind, HostKind::kInvalid);  // libc: EAI_NONAME without a query
        return;
    }
    EXPECT_EQ(kind != HostKind::kInvalid, hnok == 1);
    if (kind == HostKind::kInvalid) return;
    // The name a query carries: ns_name_pton's wire form, label by label.
    unsigned char wire[NS_MAXCDNAME];
    ASSERT_GE(ns_name_pton(text.c_str(), wire, sizeof wire), 0);
    std::string labels;
    for (const unsigned char* p = wire; *p != 0; p += *p + 1) {
        if (!labels.empty()) labels += '.';
        labels.append(reinterpret_cast<const char*>(p + 1), *p);
    }
    EXPECT_EQ(std::string(h.name, h.name_len), labels);
}

TEST(HostText, EverySpellingOfAnIpv4AddressIsThatAddress) {
    std::vector<std::string> forms = host_forms::ipv4_spellings();
    size_t literals = 0;
    for (const std::string& f : forms) {
        expect_agrees_with_libc(f);
        HostText h;
        literals += parse_host(f, false, h) == HostKind::kIpv4;
    }
    EXPECT_GT(literals, forms.size() / 2);  // the walk did meet addresses
    HostText h;
    ASSERT_EQ(parse_host("203.0.113.7.", false, h), HostKind::kIpv4);
    EXPECT_TRUE(h.trailing_dot);
}

TEST(HostText, NumbersOutOfRangeOrMisspelledAreNotAddresses) {
    for (const std::string& f : host_forms::misspelled_numbers()) expect_agrees_with_libc(f);
}

TEST(HostText, Ipv6LiteralsKeepTheirScope) {
    std::vector<std::string> forms = host_forms::ipv6_spellings();
    for (const std::string& f : forms) expect_agrees_with_libc(f);
    HostText h;
    ASSERT_EQ(parse_host("fe80::1%eth0", false, h), HostKind::kIpv6);
    EXPECT_EQ(h.scope, "eth0");
    EXPECT_FALSE(h.scope_numeric);
    ASSERT_EQ(parse_host("::ffff:127.0.0.1%1", false, h), HostKind::kIpv6);
    EXPECT_TRUE(h.scope_numeric);
    EXPECT_EQ(h.scope_id, 1u);
}

TEST(HostText, HostNameSyntaxIsTheResolversOwn) {
    std::vector<std::string> forms = host_forms::name_syntax();
    forms.push_back(std::string("a\0b.example", 11));  // a NUL within the length
    for (const std::string& f : forms) expect_agrees_with_libc(f);
}

TEST(HostText, NamesNoHostCanHaveAreNotNames) {
    HostText h;
    for (const char* s :
         {".", "1.2.3.4.5", "08.1.1.1", "4294967296", "foo.123", "foo.0x1f", "1.2.3.4.5.", "0x"})
        EXPECT_EQ(parse_host(s, false, h), HostKind::kNotHost) << s;
    for (const char* s : {"foo.0x1g", "123.example", "1.2.3.4.5x", "localhost"})
        EXPECT_EQ(parse_host(s, false, h), HostKind::kName) << s;
}

TEST(HostText, Utf8OnlyUnderIdn) {
    HostText h;
    const char* name =
        "b\xc3\xbc"
        "cher.example";
    EXPECT_EQ(parse_host(name, false, h), HostKind::kInvalid);
    EXPECT_EQ(parse_host(name, true, h), HostKind::kName);
    EXPECT_EQ(parse_host("a b.example", true, h), HostKind::kInvalid);
}

}  // namespace
}  // namespace socksify::shim
