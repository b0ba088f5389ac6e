// Host text: every spelling of an address, every way a name can be malformed, each
// checked against libc itself (getaddrinfo with AI_NUMERICHOST, inet_aton, res_hnok,
// ns_name_pton), not against expectations written here.
#include "shim/settings/host_text.hpp"

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
        if (h.scoped && h.scope_numeric) {
            EXPECT_EQ(h.scope_id, libc.scope_id);
        }
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
