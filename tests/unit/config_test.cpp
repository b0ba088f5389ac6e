// Unit tests for shim/settings/config: every parser, cidr_contains, redact_url and load_config
// through a fake environment.
#include "shim/settings/config.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>

namespace socksify::shim {
namespace {

// --- parse_proxy_url -------------------------------------------------------------

TEST(ProxyUrlTest, Ipv4WithSchemeAndPort) {
    ProxyUrl u;
    ASSERT_EQ(parse_proxy_url("socks5://127.0.0.1:9050", u), nullptr);
    EXPECT_FALSE(u.remote_dns);
    EXPECT_STREQ(u.host, "127.0.0.1");
    EXPECT_EQ(u.port, 9050);
    EXPECT_FALSE(u.has_user);
    EXPECT_FALSE(u.has_pass);
}

TEST(ProxyUrlTest, Socks5hMeansRemoteDns) {
    ProxyUrl u;
    ASSERT_EQ(parse_proxy_url("socks5h://203.0.113.3:1081", u), nullptr);
    EXPECT_TRUE(u.remote_dns);
    EXPECT_EQ(u.port, 1081);
}

TEST(ProxyUrlTest, SchemeIsCaseInsensitive) {
    ProxyUrl u;
    EXPECT_EQ(parse_proxy_url("SOCKS5H://1.2.3.4", u), nullptr);
    EXPECT_TRUE(u.remote_dns);
    EXPECT_EQ(parse_proxy_url("Socks5://1.2.3.4", u), nullptr);
    EXPECT_FALSE(u.remote_dns);
}

TEST(ProxyUrlTest, NoSchemeMeansSocks5hAndDefaultPort) {
    ProxyUrl u;
    ASSERT_EQ(parse_proxy_url("proxy.example.com", u), nullptr);
    EXPECT_TRUE(u.remote_dns);
    EXPECT_STREQ(u.host, "proxy.example.com");
    EXPECT_EQ(u.port, kDefaultPort);
}

TEST(ProxyUrlTest, DefaultPortWithScheme) {
    ProxyUrl u;
    ASSERT_EQ(parse_proxy_url("socks5://1.2.3.4", u), nullptr);
    EXPECT_EQ(u.port, 1080);
}

TEST(ProxyUrlTest, TrailingSlashAllowed) {
    ProxyUrl u;
    ASSERT_EQ(parse_proxy_url("socks5h://1.2.3.4:1080/", u), nullptr);
    EXPECT_EQ(u.port, 1080);
    ASSERT_EQ(parse_proxy_url("socks5h://host/", u), nullptr);
    EXPECT_STREQ(u.host, "host");
}

TEST(ProxyUrlTest, BracketedIpv6) {
    ProxyUrl u;
    ASSERT_EQ(parse_proxy_url("socks5://[::1]:1081", u), nullptr);
    EXPECT_STREQ(u.host, "::1");
    EXPECT_EQ(u.port, 1081);
    ASSERT_EQ(parse_proxy_url("socks5h://[2001:db8::7]", u), nullptr);
    EXPECT_STREQ(u.host, "2001:db8::7");
    EXPECT_EQ(u.port, 1080);
}

TEST(ProxyUrlTest, HostNames) {
    ProxyUrl u;
    EXPECT_EQ(parse_proxy_url("socks5h://a-b.c1.example:1", u), nullptr);
    EXPECT_EQ(parse_proxy_url("localhost:65535", u), nullptr);
    EXPECT_EQ(u.port, 65535);
    EXPECT_EQ(parse_proxy_url("example.com.", u), nullptr);  // trailing dot: absolute name
    EXPECT_EQ(parse_proxy_url("socks_proxy", u), nullptr);   // container service names
}

TEST(ProxyUrlTest, UserAndPassword) {
    ProxyUrl u;
    ASSERT_EQ(parse_proxy_url("socks5://alice:s3cret@203.0.113.1:1080", u), nullptr);
    EXPECT_TRUE(u.has_user);
    EXPECT_TRUE(u.has_pass);
    EXPECT_STREQ(u.user, "alice");
    EXPECT_STREQ(u.pass, "s3cret");
    EXPECT_STREQ(u.host, "203.0.113.1");
}

TEST(ProxyUrlTest, UserOnly) {
    ProxyUrl u;
    ASSERT_EQ(parse_proxy_url("socks5h://bob@host", u), nullptr);
    EXPECT_TRUE(u.has_user);
    EXPECT_FALSE(u.has_pass);
    EXPECT_STREQ(u.user, "bob");
}

TEST(ProxyUrlTest, PercentDecoding) {
    ProxyUrl u;
    ASSERT_EQ(parse_proxy_url("socks5://us%40er%3Ax:p%40ss%2f%25w%3a@1.2.3.4", u), nullptr);
    EXPECT_STREQ(u.user, "us@er:x");
    EXPECT_STREQ(u.pass, "p@ss/%w:");
}

TEST(ProxyUrlTest, RawAtAndColonInPassword) {
    ProxyUrl u;
    ASSERT_EQ(parse_proxy_url("socks5://u:a:b@c@1.2.3.4:5", u), nullptr);
    EXPECT_STREQ(u.user, "u");
    EXPECT_STREQ(u.pass, "a:b@c");
    EXPECT_STREQ(u.host, "1.2.3.4");
    EXPECT_EQ(u.port, 5);
}

TEST(ProxyUrlTest, BadPercentEncoding) {
    ProxyUrl u;
    EXPECT_STREQ(parse_proxy_url("socks5://u:p%4@h", u), "bad percent-encoding");
    EXPECT_STREQ(parse_proxy_url("socks5://u:p%zz@h", u), "bad percent-encoding");
    EXPECT_STREQ(parse_proxy_url("socks5://u:p%@h", u), "bad percent-encoding");
    EXPECT_NE(parse_proxy_url("socks5://u%00:p@h", u), nullptr);
}

TEST(ProxyUrlTest, CredentialLengthLimits) {
    ProxyUrl u;
    std::string user255(255, 'u');
    std::string pass255(255, 'p');
    EXPECT_EQ(parse_proxy_url("socks5://" + user255 + ":" + pass255 + "@h", u), nullptr);
    EXPECT_EQ(std::strlen(u.user), 255u);
    EXPECT_EQ(std::strlen(u.pass), 255u);
    EXPECT_STREQ(parse_proxy_url("socks5://" + user255 + "u@h", u), "user name too long");
    EXPECT_STREQ(parse_proxy_url("socks5://u:" + pass255 + "p@h", u), "password too long");
    // The limit applies after decoding: 255 × "%41" is 255 bytes.
    std::string encoded;
    for (int i = 0; i < 255; ++i) encoded += "%41";
    EXPECT_EQ(parse_proxy_url("socks5://u:" + encoded + "@h", u), nullptr);
}

TEST(ProxyUrlTest, MissingUser) {
    ProxyUrl u;
    EXPECT_STREQ(parse_proxy_url("socks5://:pw@h", u), "missing user name");
    EXPECT_STREQ(parse_proxy_url("socks5://@h", u), "missing user name");
}

TEST(ProxyUrlTest, UnsupportedSchemes) {
    ProxyUrl u;
    for (const char* s : {"socks://h", "socks5x://h", "ftp://h", "socks4h://h", "http2://h"}) {
        EXPECT_STREQ(parse_proxy_url(s, u), "unsupported scheme") << s;
    }
    // TLS to the proxy would need a TLS library: refused with a reason that says so.
    EXPECT_STREQ(parse_proxy_url("https://h:3128", u),
                 "https proxies are not supported (no TLS); use http://");
}

// Every kind: what it speaks, whether names reach the proxy, and the scheme handed back.
TEST(ProxyUrlTest, UpstreamKinds) {
    struct Case {
        const char* url;
        ProxyKind kind;
        bool remote_dns;
        const char* scheme;
    };
    for (const Case& c : {Case{"socks5://h", ProxyKind::kSocks5, false, "socks5"},
                          Case{"socks5h://h", ProxyKind::kSocks5, true, "socks5h"},
                          Case{"h", ProxyKind::kSocks5, true, "socks5h"},
                          Case{"SOCKS4://h", ProxyKind::kSocks4, false, "socks4"},
                          Case{"socks4a://h", ProxyKind::kSocks4a, true, "socks4a"},
                          Case{"Http://h:3128", ProxyKind::kHttp, true, "http"},
                          Case{"raw://h:8080", ProxyKind::kRaw, true, "raw"}}) {
        ProxyUrl u;
        ASSERT_EQ(parse_proxy_url(c.url, u), nullptr) << c.url;
        EXPECT_EQ(u.kind, c.kind) << c.url;
        EXPECT_EQ(u.remote_dns, c.remote_dns) << c.url;
        EXPECT_STREQ(proxy_scheme(u.kind, u.remote_dns), c.scheme) << c.url;
    }
    ProxyUrl u;
    ASSERT_EQ(parse_proxy_url("http://alice:pw@proxy.corp:3128/", u), nullptr);
    EXPECT_STREQ(u.host, "proxy.corp");
    EXPECT_EQ(u.port, 3128);
    EXPECT_STREQ(u.user, "alice");
    EXPECT_STREQ(u.pass, "pw");
    ASSERT_EQ(parse_proxy_url("socks4://198.51.100.1", u), nullptr);
    EXPECT_EQ(u.port, kDefaultPort);
    // Nothing is said to a forwarder: credentials would go nowhere, so they are refused.
    EXPECT_STREQ(parse_proxy_url("raw://alice:pw@h:8080", u), "raw forwarders take no user name");
}

TEST(ProxyUrlTest, MissingHost) {
    ProxyUrl u;
    for (const char* s :
         {"", "socks5://", "socks5h://:1080", "socks5://u:p@", "socks5://[]:1", "socks5:///"}) {
        EXPECT_STREQ(parse_proxy_url(s, u), "missing host") << s;
    }
}

TEST(ProxyUrlTest, BadPorts) {
    ProxyUrl u;
    EXPECT_STREQ(parse_proxy_url("socks5://h:0", u), "port out of range");
    EXPECT_STREQ(parse_proxy_url("socks5://h:65536", u), "port out of range");
    EXPECT_STREQ(parse_proxy_url("socks5://h:99999999999", u), "port out of range");
    EXPECT_STREQ(parse_proxy_url("socks5://h:abc", u), "bad port");
    EXPECT_STREQ(parse_proxy_url("socks5://h:", u), "bad port");
    EXPECT_STREQ(parse_proxy_url("socks5://h:-1", u), "bad port");
    EXPECT_STREQ(parse_proxy_url("socks5://[::1]:x", u), "bad port");
    EXPECT_STREQ(parse_proxy_url("socks5://[::1]:", u), "bad port");
}

// raw:// is written back as parsed (the launcher hands hops on as URLs).
TEST(ProxyUrlTest, RawRoundTrips) {
    ProxyUrl u;
    for (const char* text :
         {"raw://198.51.100.1:2222", "raw://[2001:db8::1]:22", "raw://fwd.example:1080"}) {
        ASSERT_EQ(parse_proxy_url(text, u), nullptr) << text;
        char out[128];
        ASSERT_TRUE(format_proxy_url(u, true, out, sizeof out));
        EXPECT_STREQ(out, text);
    }
    ASSERT_EQ(parse_proxy_url("RAW://h", u), nullptr);
    EXPECT_EQ(u.kind, ProxyKind::kRaw);
    EXPECT_EQ(u.port, kDefaultPort);
}

TEST(ProxyUrlTest, BareIpv6IsRefused) {
    ProxyUrl u;
    EXPECT_STREQ(parse_proxy_url("socks5://::1", u), "IPv6 address needs brackets");
    EXPECT_STREQ(parse_proxy_url("2001:db8::1:1080", u), "IPv6 address needs brackets");
}

TEST(ProxyUrlTest, BadIpv6) {
    ProxyUrl u;
    EXPECT_STREQ(parse_proxy_url("socks5://[::g]", u), "bad IPv6 address");
    EXPECT_STREQ(parse_proxy_url("socks5://[1.2.3.4]", u), "bad IPv6 address");
    EXPECT_STREQ(parse_proxy_url("socks5://[::1", u), "missing ']'");
    EXPECT_STREQ(parse_proxy_url("socks5://[::1]x", u), "unexpected text after ']'");
}

TEST(ProxyUrlTest, BadIpv4) {
    ProxyUrl u;
    EXPECT_STREQ(parse_proxy_url("socks5://1.2.3", u), "bad IPv4 address");
    EXPECT_STREQ(parse_proxy_url("socks5://256.1.1.1", u), "bad IPv4 address");
    EXPECT_STREQ(parse_proxy_url("socks5://1234", u), "bad IPv4 address");
}

TEST(ProxyUrlTest, BadHostNames) {
    ProxyUrl u;
    EXPECT_STREQ(parse_proxy_url("socks5://a..b", u), "bad host name");
    EXPECT_STREQ(parse_proxy_url("socks5://.a", u), "bad host name");
    EXPECT_STREQ(parse_proxy_url("socks5://a b", u), "bad host name");
    EXPECT_STREQ(parse_proxy_url("socks5://h?x=1", u), "bad host name");
    EXPECT_STREQ(parse_proxy_url("socks5://" + std::string(64, 'a') + ".b", u), "bad host name");
    std::string long_name;
    for (int i = 0; i < 50; ++i) long_name += "abcd.";
    long_name += "abcd";  // 254 bytes
    EXPECT_STREQ(parse_proxy_url(long_name, u), "host name too long");
}

TEST(ProxyUrlTest, PathIsRefused) {
    ProxyUrl u;
    EXPECT_STREQ(parse_proxy_url("socks5://h:1/x", u), "unexpected path");
    EXPECT_STREQ(parse_proxy_url("socks5://h//", u), "unexpected path");
}

TEST(ProxyUrlTest, ResetsOutputOnEachCall) {
    ProxyUrl u;
    ASSERT_EQ(parse_proxy_url("socks5://a:b@1.2.3.4:7", u), nullptr);
    ASSERT_EQ(parse_proxy_url("9.9.9.9", u), nullptr);
    EXPECT_FALSE(u.has_user);
    EXPECT_STREQ(u.pass, "");
    EXPECT_EQ(u.port, 1080);
    EXPECT_TRUE(u.remote_dns);
}

// --- parse_cidr / parse_cidr_list ---------------------------------------------------

std::string cidr_text(const Cidr& c) {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(c.family, c.addr.data(), buf, sizeof buf);
    return std::string(buf) + "/" + std::to_string(c.prefix);
}

TEST(CidrTest, Ipv4WithPrefix) {
    Cidr c;
    ASSERT_EQ(parse_cidr("203.0.113.0/24", c), nullptr);
    EXPECT_EQ(c.family, AF_INET);
    EXPECT_EQ(cidr_text(c), "203.0.113.0/24");
}

TEST(CidrTest, HostBitsAreZeroed) {
    Cidr c;
    ASSERT_EQ(parse_cidr("127.168.77.200/20", c), nullptr);
    EXPECT_EQ(cidr_text(c), "127.168.64.0/20");
    ASSERT_EQ(parse_cidr("2001:db8:ffff::1/33", c), nullptr);
    EXPECT_EQ(cidr_text(c), "2001:db8:8000::/33");
    ASSERT_EQ(parse_cidr("1.2.3.4/0", c), nullptr);
    EXPECT_EQ(cidr_text(c), "0.0.0.0/0");
}

TEST(CidrTest, BareAddressIsHostRoute) {
    Cidr c;
    ASSERT_EQ(parse_cidr("1.2.3.4", c), nullptr);
    EXPECT_EQ(cidr_text(c), "1.2.3.4/32");
    ASSERT_EQ(parse_cidr("::1", c), nullptr);
    EXPECT_EQ(c.family, AF_INET6);
    EXPECT_EQ(cidr_text(c), "::1/128");
}

TEST(CidrTest, Ipv6WithPrefix) {
    Cidr c;
    ASSERT_EQ(parse_cidr("fd00::/8", c), nullptr);
    EXPECT_EQ(c.family, AF_INET6);
    EXPECT_EQ(c.prefix, 8);
    ASSERT_EQ(parse_cidr("::/0", c), nullptr);
    EXPECT_EQ(c.prefix, 0);
}

TEST(CidrTest, Errors) {
    Cidr c;
    EXPECT_STREQ(parse_cidr("", c), "missing address");
    EXPECT_STREQ(parse_cidr("/8", c), "missing address");
    EXPECT_STREQ(parse_cidr("203.0.113/8", c), "bad address");
    EXPECT_STREQ(parse_cidr("300.0.0.0/8", c), "bad address");
    EXPECT_STREQ(parse_cidr("example.com", c), "bad address");
    EXPECT_STREQ(parse_cidr("203.0.113.0/", c), "bad prefix length");
    EXPECT_STREQ(parse_cidr("203.0.113.0/x", c), "bad prefix length");
    EXPECT_STREQ(parse_cidr("203.0.113.0/-1", c), "bad prefix length");
    EXPECT_STREQ(parse_cidr("203.0.113.0/0008", c), "bad prefix length");
    EXPECT_STREQ(parse_cidr("203.0.113.0/33", c), "prefix length out of range");
    EXPECT_STREQ(parse_cidr("::/129", c), "prefix length out of range");
    EXPECT_STREQ(parse_cidr("203.0.113.0/24/8", c), "bad prefix length");
}

TEST(CidrListTest, EmptyStringIsEmptyList) {
    Cidr list[4];
    size_t count = 99;
    EXPECT_EQ(parse_cidr_list("", list, 4, count), nullptr);
    EXPECT_EQ(count, 0u);
}

TEST(CidrListTest, SeveralItems) {
    Cidr list[4];
    size_t count = 0;
    ASSERT_EQ(parse_cidr_list("127.0.0.0/8,::1/128, 203.0.113.3", list, 4, count), nullptr);
    ASSERT_EQ(count, 3u);
    EXPECT_EQ(cidr_text(list[0]), "127.0.0.0/8");
    EXPECT_EQ(cidr_text(list[1]), "::1/128");
    EXPECT_EQ(cidr_text(list[2]), "203.0.113.3/32");
}

TEST(CidrListTest, EmptyItemIsAnError) {
    Cidr list[4];
    size_t count = 0;
    EXPECT_STREQ(parse_cidr_list(",", list, 4, count), "empty item");
    EXPECT_STREQ(parse_cidr_list("203.0.113.0/24,", list, 4, count), "empty item");
    EXPECT_STREQ(parse_cidr_list("203.0.113.0/24,,::1", list, 4, count), "empty item");
    EXPECT_STREQ(parse_cidr_list(" ", list, 4, count), "empty item");
}

TEST(CidrListTest, CapIsEnforced) {
    Cidr list[2];
    size_t count = 0;
    EXPECT_EQ(parse_cidr_list("1.1.1.1,2.2.2.2", list, 2, count), nullptr);
    EXPECT_EQ(count, 2u);
    EXPECT_STREQ(parse_cidr_list("1.1.1.1,2.2.2.2,3.3.3.3", list, 2, count), "too many entries");
}

TEST(CidrListTest, BadItemReportsItsReason) {
    Cidr list[4];
    size_t count = 0;
    EXPECT_STREQ(parse_cidr_list("203.0.113.0/24,bogus", list, 4, count), "bad address");
}

// --- cidr_contains --------------------------------------------------------------------

sockaddr_storage v4(const char* text) {
    sockaddr_storage ss{};
    auto* s = reinterpret_cast<sockaddr_in*>(&ss);
    s->sin_family = AF_INET;
    inet_pton(AF_INET, text, &s->sin_addr);
    return ss;
}

sockaddr_storage v6(const char* text) {
    sockaddr_storage ss{};
    auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
    s->sin6_family = AF_INET6;
    inet_pton(AF_INET6, text, &s->sin6_addr);
    return ss;
}

bool contains(const char* cidr, const sockaddr_storage& ss) {
    Cidr c;
    EXPECT_EQ(parse_cidr(cidr, c), nullptr) << cidr;
    return cidr_contains(c, reinterpret_cast<const sockaddr*>(&ss));
}

TEST(CidrContainsTest, Ipv4) {
    EXPECT_TRUE(contains("127.0.0.0/8", v4("127.0.0.1")));
    EXPECT_TRUE(contains("127.0.0.0/8", v4("127.255.255.255")));
    EXPECT_FALSE(contains("127.0.0.0/8", v4("128.0.0.1")));
    EXPECT_TRUE(contains("127.168.64.0/20", v4("127.168.79.1")));
    EXPECT_FALSE(contains("127.168.64.0/20", v4("127.168.80.1")));
    EXPECT_TRUE(contains("0.0.0.0/0", v4("8.8.8.8")));
    EXPECT_TRUE(contains("1.2.3.4", v4("1.2.3.4")));
    EXPECT_FALSE(contains("1.2.3.4", v4("1.2.3.5")));
}

TEST(CidrContainsTest, Ipv6) {
    EXPECT_TRUE(contains("::1/128", v6("::1")));
    EXPECT_FALSE(contains("::1/128", v6("::2")));
    EXPECT_TRUE(contains("2001:db8::/32", v6("2001:db8:1::5")));
    EXPECT_FALSE(contains("2001:db8::/32", v6("2001:db9::5")));
    EXPECT_TRUE(contains("fe80::/10", v6("febf::1")));
    EXPECT_FALSE(contains("fe80::/10", v6("fec0::1")));
}

TEST(CidrContainsTest, V4MappedMatchesIpv4Cidr) {
    EXPECT_TRUE(contains("127.0.0.0/8", v6("::ffff:127.0.0.1")));
    EXPECT_FALSE(contains("127.0.0.0/8", v6("::ffff:203.0.113.1")));
    EXPECT_TRUE(contains("203.0.113.0/24", v6("::ffff:203.0.113.7")));
    // Not mapped: ::127.0.0.1 (deprecated v4-compatible) and 64:ff9b::/96 are IPv6 only.
    EXPECT_FALSE(contains("127.0.0.0/8", v6("::127.0.0.1")));
    EXPECT_FALSE(contains("127.0.0.0/8", v6("64:ff9b::127.0.0.1")));
}

TEST(CidrContainsTest, Ipv4AgainstMappedIpv6Cidr) {
    EXPECT_TRUE(contains("::ffff:0:0/96", v4("1.2.3.4")));
    EXPECT_FALSE(contains("::1/128", v4("127.0.0.1")));
}

TEST(CidrContainsTest, OtherFamiliesAndNull) {
    Cidr c;
    ASSERT_EQ(parse_cidr("0.0.0.0/0", c), nullptr);
    sockaddr_storage ss{};
    ss.ss_family = AF_UNIX;
    EXPECT_FALSE(cidr_contains(c, reinterpret_cast<const sockaddr*>(&ss)));
    EXPECT_FALSE(cidr_contains(c, nullptr));
    Cidr empty;  // AF_UNSPEC
    sockaddr_storage a = v4("1.2.3.4");
    EXPECT_FALSE(cidr_contains(empty, reinterpret_cast<const sockaddr*>(&a)));
}

// --- parse_timeout_ms, parse_log_level, parse_bool ------------------------------------------

TEST(TimeoutTest, Valid) {
    int ms = 0;
    EXPECT_EQ(parse_timeout_ms("10", ms), nullptr);
    EXPECT_EQ(ms, 10000);
    EXPECT_EQ(parse_timeout_ms("0.5", ms), nullptr);
    EXPECT_EQ(ms, 500);
    EXPECT_EQ(parse_timeout_ms("2.25", ms), nullptr);
    EXPECT_EQ(ms, 2250);
    EXPECT_EQ(parse_timeout_ms(".5", ms), nullptr);
    EXPECT_EQ(ms, 500);
    EXPECT_EQ(parse_timeout_ms("3.", ms), nullptr);
    EXPECT_EQ(ms, 3000);
    EXPECT_EQ(parse_timeout_ms("3600", ms), nullptr);
    EXPECT_EQ(ms, 3600000);
    EXPECT_EQ(parse_timeout_ms("0.001", ms), nullptr);
    EXPECT_EQ(ms, 1);
    EXPECT_EQ(parse_timeout_ms("0.0001", ms), nullptr);  // rounds up, never to 0
    EXPECT_EQ(ms, 1);
    EXPECT_EQ(parse_timeout_ms("1.0009", ms), nullptr);
    EXPECT_EQ(ms, 1001);
    EXPECT_EQ(parse_timeout_ms("0010", ms), nullptr);
    EXPECT_EQ(ms, 10000);
}

TEST(TimeoutTest, Invalid) {
    int ms = 42;
    EXPECT_STREQ(parse_timeout_ms("abc", ms), "not a number");
    EXPECT_STREQ(parse_timeout_ms("", ms), "not a number");
    EXPECT_STREQ(parse_timeout_ms(".", ms), "not a number");
    EXPECT_STREQ(parse_timeout_ms("-1", ms), "not a number");
    EXPECT_STREQ(parse_timeout_ms("+1", ms), "not a number");
    EXPECT_STREQ(parse_timeout_ms("1e3", ms), "not a number");
    EXPECT_STREQ(parse_timeout_ms("1.2.3", ms), "not a number");
    EXPECT_STREQ(parse_timeout_ms(" 1", ms), "not a number");
    EXPECT_STREQ(parse_timeout_ms("10s", ms), "not a number");
    EXPECT_STREQ(parse_timeout_ms("0", ms), "must be greater than 0");
    EXPECT_STREQ(parse_timeout_ms("0.000", ms), "must be greater than 0");
    EXPECT_STREQ(parse_timeout_ms("3600.001", ms), "must be at most 3600 seconds");
    EXPECT_STREQ(parse_timeout_ms("99999999999999999999", ms), "must be at most 3600 seconds");
    EXPECT_EQ(ms, 42);
}

TEST(LogLevelTest, Values) {
    LogLevel l = LogLevel::kError;
    EXPECT_EQ(parse_log_level("quiet", l), nullptr);
    EXPECT_EQ(l, LogLevel::kQuiet);
    EXPECT_EQ(parse_log_level("verbose", l), nullptr);
    EXPECT_EQ(l, LogLevel::kVerbose);
    EXPECT_EQ(parse_log_level("error", l), nullptr);
    EXPECT_EQ(l, LogLevel::kError);
    EXPECT_NE(parse_log_level("debug", l), nullptr);
    EXPECT_NE(parse_log_level("", l), nullptr);
    EXPECT_NE(parse_log_level("verbosee", l), nullptr);
}

TEST(BoolTest, Values) {
    for (const char* t : {"1", "on", "yes", "true", "TRUE", "Yes"}) {
        bool b = false;
        EXPECT_EQ(parse_bool(t, b), nullptr) << t;
        EXPECT_TRUE(b) << t;
    }
    for (const char* f : {"0", "off", "no", "false", "OFF"}) {
        bool b = true;
        EXPECT_EQ(parse_bool(f, b), nullptr) << f;
        EXPECT_FALSE(b) << f;
    }
    bool b = true;
    for (const char* bad : {"", "2", "y", "enable", "truex"}) {
        EXPECT_NE(parse_bool(bad, b), nullptr) << bad;
    }
    EXPECT_TRUE(b);
}

// --- parse_dns_mode, parse_dns_server, parse_direct_list ------------------------------------

TEST(DnsModeTest, Values) {
    DnsMode m = DnsMode::kOff;
    EXPECT_EQ(parse_dns_mode("remote", m), nullptr);
    EXPECT_EQ(m, DnsMode::kRemote);
    EXPECT_EQ(parse_dns_mode("LOCAL", m), nullptr);
    EXPECT_EQ(m, DnsMode::kLocal);
    EXPECT_EQ(parse_dns_mode("off", m), nullptr);
    EXPECT_EQ(m, DnsMode::kOff);
    EXPECT_NE(parse_dns_mode("", m), nullptr);
    EXPECT_NE(parse_dns_mode("on", m), nullptr);
    EXPECT_EQ(m, DnsMode::kOff);
}

TEST(FakeNetTest, Ipv4Ranges) {
    Cidr c;
    EXPECT_EQ(parse_fake_net4("240.0.0.0/12", c), nullptr);
    EXPECT_EQ(c.family, AF_INET);
    EXPECT_EQ(c.prefix, 12);
    EXPECT_EQ(parse_fake_net4("203.0.113.0/30", c), nullptr);
    EXPECT_EQ(parse_fake_net4("203.0.113.0/1", c), nullptr);
    EXPECT_EQ(c.prefix, 1);
    EXPECT_STREQ(parse_fake_net4("203.0.113.0/31", c), "range too small (at most /30)");
    EXPECT_STREQ(parse_fake_net4("203.0.113.1", c), "range too small (at most /30)");  // a /32
    EXPECT_STREQ(parse_fake_net4("fd00::/96", c), "not an IPv4 range");
    for (const char* bad : {"", "x", "203.0.113.0/33", "203.0.113/8", "203.0.113.0/"}) {
        EXPECT_NE(parse_fake_net4(bad, c), nullptr) << bad;
    }
}

TEST(FakeNetTest, Ipv6Ranges) {
    Cidr c;
    EXPECT_EQ(parse_fake_net6("fd53:4f43:4b53::/96", c), nullptr);
    EXPECT_EQ(c.family, AF_INET6);
    EXPECT_EQ(c.prefix, 96);
    EXPECT_EQ(parse_fake_net6("fd00:1::/126", c), nullptr);
    EXPECT_EQ(c.prefix, 126);
    for (const char* narrow_or_wide : {"fd00::/64", "fd00::/95", "fd00::/127", "fd00::1"}) {
        EXPECT_STREQ(parse_fake_net6(narrow_or_wide, c), "prefix must be /96 to /126")
            << narrow_or_wide;
    }
    EXPECT_STREQ(parse_fake_net6("203.0.113.0/24", c), "not an IPv6 range");
    for (const char* bad : {"", "x", "fd00::/129", "[fd00::]/96", "fd00:::/96"}) {
        EXPECT_NE(parse_fake_net6(bad, c), nullptr) << bad;
    }
}

std::string server_text(const sockaddr_storage& ss) {
    char buf[INET6_ADDRSTRLEN];
    if (ss.ss_family == AF_INET) {
        const auto* s = reinterpret_cast<const sockaddr_in*>(&ss);
        inet_ntop(AF_INET, &s->sin_addr, buf, sizeof buf);
        return std::string(buf) + ":" + std::to_string(ntohs(s->sin_port));
    }
    const auto* s = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &s->sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(ntohs(s->sin6_port));
}

TEST(DnsServerTest, Forms) {
    sockaddr_storage ss;
    socklen_t len = 0;
    ASSERT_EQ(parse_dns_server("192.0.2.53", ss, len), nullptr);
    EXPECT_EQ(server_text(ss), "192.0.2.53:53");
    EXPECT_EQ(len, sizeof(sockaddr_in));
    ASSERT_EQ(parse_dns_server("192.0.2.53:5353", ss, len), nullptr);
    EXPECT_EQ(server_text(ss), "192.0.2.53:5353");
    ASSERT_EQ(parse_dns_server("[2001:db8::53]:54", ss, len), nullptr);
    EXPECT_EQ(server_text(ss), "[2001:db8::53]:54");
    EXPECT_EQ(len, sizeof(sockaddr_in6));
    ASSERT_EQ(parse_dns_server("[::1]", ss, len), nullptr);
    EXPECT_EQ(server_text(ss), "[::1]:53");
    ASSERT_EQ(parse_dns_server("2001:db8::53", ss, len), nullptr);  // bare: no port
    EXPECT_EQ(server_text(ss), "[2001:db8::53]:53");
}

TEST(DnsServerTest, Errors) {
    sockaddr_storage ss;
    socklen_t len = 0;
    EXPECT_STREQ(parse_dns_server("", ss, len), "missing address");
    EXPECT_STREQ(parse_dns_server(":53", ss, len), "missing address");
    EXPECT_STREQ(parse_dns_server("dns.example", ss, len), "bad address");
    EXPECT_STREQ(parse_dns_server("1.2.3.4:0", ss, len), "port out of range");
    EXPECT_STREQ(parse_dns_server("1.2.3.4:x", ss, len), "bad port");
    EXPECT_STREQ(parse_dns_server("[::1", ss, len), "missing ']'");
    EXPECT_STREQ(parse_dns_server("[::1]53", ss, len), "unexpected text after ']'");
    EXPECT_STREQ(parse_dns_server("[1.2.3.4]", ss, len), "bad address");
}

TEST(DirectListTest, CidrsAndSuffixes) {
    Config cfg;
    ASSERT_EQ(
        parse_direct_list("203.0.113.0/24, corp.example,.lan,*.svc.cluster.local.,fd00::/8", cfg),
        nullptr);
    ASSERT_EQ(cfg.direct_count, 2u);
    EXPECT_EQ(cidr_text(cfg.direct[0]), "203.0.113.0/24");
    EXPECT_EQ(cidr_text(cfg.direct[1]), "fd00::/8");
    ASSERT_EQ(cfg.suffix_count, 3u);
    EXPECT_STREQ(cfg.suffixes[0], ".corp.example");
    EXPECT_STREQ(cfg.suffixes[1], ".lan");
    EXPECT_STREQ(cfg.suffixes[2], ".svc.cluster.local");
}

TEST(DirectListTest, EmptyClearsBoth) {
    Config cfg;
    ASSERT_EQ(parse_direct_list("203.0.113.0/24,lan", cfg), nullptr);
    ASSERT_EQ(parse_direct_list("", cfg), nullptr);
    EXPECT_EQ(cfg.direct_count, 0u);
    EXPECT_EQ(cfg.suffix_count, 0u);
}

TEST(DirectListTest, Errors) {
    Config cfg;
    EXPECT_STREQ(parse_direct_list("lan,", cfg), "empty item");
    EXPECT_STREQ(parse_direct_list("a..b", cfg), "bad domain suffix");
    EXPECT_STREQ(parse_direct_list("*.", cfg), "bad domain suffix");
    EXPECT_STREQ(parse_direct_list(".", cfg), "bad address");
    EXPECT_STREQ(parse_direct_list("a*b.c", cfg), "bad domain suffix");
    EXPECT_STREQ(parse_direct_list("203.0.113.0/33", cfg), "prefix length out of range");
    // Addresses in inet_aton's other spellings: refused, never domain suffixes.
    for (const char* a :
         {"1.2.3", "0x7f.1", "2130706433", "0177.0.0.1", "203.0.113.7.", "0X7F000001"})
        EXPECT_STREQ(parse_direct_list(a, cfg),
                     "write the address as a.b.c.d (the resolver reads this spelling as one)")
            << a;
    EXPECT_STREQ(parse_direct_list("fe80::1%eth0", cfg), "an address in a list takes no scope id");
    std::string long_suffix(120, 'a');
    long_suffix += ".bcdefgh";  // 128 bytes with the leading dot
    EXPECT_STREQ(parse_direct_list(long_suffix.substr(0, 60) + "." + long_suffix.substr(60), cfg),
                 "domain suffix too long");
}

TEST(DirectListTest, Capacities) {
    Config cfg;
    std::string names;
    for (size_t i = 0; i < kMaxSuffixes; ++i) names += (i ? ",d" : "d") + std::to_string(i) + ".x";
    EXPECT_EQ(parse_direct_list(names, cfg), nullptr);
    EXPECT_EQ(cfg.suffix_count, kMaxSuffixes);
    EXPECT_STREQ(parse_direct_list(names + ",one.more", cfg), "too many domain suffixes");
    std::string nets;
    for (size_t i = 0; i < kMaxDirect; ++i)
        nets += (i ? ",10.0.0." : "10.0.0.") + std::to_string(i);
    EXPECT_EQ(parse_direct_list(nets, cfg), nullptr);
    EXPECT_STREQ(parse_direct_list(nets + ",203.0.113.128", cfg), "too many entries");
}

// --- redact_url, format_bad_value ----------------------------------------------------------

std::string redact(std::string_view url, size_t cap = 256) {
    std::string out(cap, 'Z');
    redact_url(url, out.data(), cap);
    return out.c_str();
}

TEST(RedactTest, HidesPassword) {
    EXPECT_EQ(redact("socks5://alice:s3cret@h:1"), "socks5://alice:***@h:1");
    EXPECT_EQ(redact("alice:s3cret@h"), "alice:***@h");
    EXPECT_EQ(redact("socks5h://u:p%40ss@[::1]:9/"), "socks5h://u:***@[::1]:9/");
    EXPECT_EQ(redact("socks5://u:a:b@c@h"), "socks5://u:***@h");  // as parse_proxy_url splits
    EXPECT_EQ(redact("socks5://u:pa/ss@h"), "socks5://u:***@h");
    EXPECT_EQ(redact("socks5://u:@h"), "socks5://u:***@h");
    EXPECT_EQ(redact("u:a://b@h"), "u:***@h");  // "u:a" is no scheme
}

TEST(RedactTest, LeavesOtherUrlsAlone) {
    EXPECT_EQ(redact("socks5://alice@h:1"), "socks5://alice@h:1");
    EXPECT_EQ(redact("socks5://h:1"), "socks5://h:1");
    EXPECT_EQ(redact("h:1"), "h:1");
    EXPECT_EQ(redact("[::1]:1080"), "[::1]:1080");
    EXPECT_EQ(redact(""), "");
}

TEST(RedactTest, TruncatesToCapacity) {
    EXPECT_EQ(redact("socks5://alice:s3cret@host", 12), "socks5://al");
    EXPECT_EQ(redact("socks5://a:verylongsecret@host", 16), "socks5://a:***@");
    char one = 'x';
    redact_url("abc", &one, 1);
    EXPECT_EQ(one, '\0');
    redact_url("abc", nullptr, 0);  // no write at all
}

TEST(FormatBadValueTest, OneLineWithReason) {
    char buf[200];
    format_bad_value(buf, sizeof buf, "--timeout", "abc", "not a number");
    EXPECT_STREQ(buf, "bad --timeout value 'abc': not a number");
    format_bad_value(buf, sizeof buf, "X", "a\nb\tc", "r");
    EXPECT_STREQ(buf, "bad X value 'a?b?c': r");
}

TEST(FormatBadValueTest, LongValueIsShortenedNotTheReason) {
    char buf[64];
    std::string value(500, 'v');
    format_bad_value(buf, sizeof buf, "SOCKSIFY_DIRECT", value, "empty item");
    std::string s = buf;
    EXPECT_LT(s.size(), sizeof buf);
    EXPECT_EQ(s.substr(0, 26), "bad SOCKSIFY_DIRECT value ");
    EXPECT_NE(s.find("...': empty item"), std::string::npos) << s;
}

// --- set_numeric_proxy ----------------------------------------------------------------------

TEST(NumericProxyTest, Ipv4) {
    Config cfg;
    ASSERT_EQ(set_numeric_proxy("192.0.2.1", 1080, cfg), nullptr);
    ASSERT_EQ(cfg.proxy_len, sizeof(sockaddr_in));
    const auto* s = reinterpret_cast<const sockaddr_in*>(&cfg.proxy);
    EXPECT_EQ(s->sin_family, AF_INET);
    EXPECT_EQ(ntohs(s->sin_port), 1080);
    EXPECT_EQ(ntohl(s->sin_addr.s_addr), 0xC0000201u);
    EXPECT_STREQ(cfg.proxy_text, "192.0.2.1:1080");
}

TEST(NumericProxyTest, Ipv6) {
    Config cfg;
    ASSERT_EQ(set_numeric_proxy("2001:db8:0::1", 9050, cfg), nullptr);
    ASSERT_EQ(cfg.proxy_len, sizeof(sockaddr_in6));
    const auto* s = reinterpret_cast<const sockaddr_in6*>(&cfg.proxy);
    EXPECT_EQ(s->sin6_family, AF_INET6);
    EXPECT_EQ(ntohs(s->sin6_port), 9050);
    EXPECT_STREQ(cfg.proxy_text, "[2001:db8::1]:9050");
}

TEST(NumericProxyTest, NameIsRefused) {
    Config cfg;
    EXPECT_NE(set_numeric_proxy("localhost", 1, cfg), nullptr);
    EXPECT_NE(set_numeric_proxy("", 1, cfg), nullptr);
    EXPECT_NE(set_numeric_proxy("[::1]", 1, cfg), nullptr);
}

// --- load_config ----------------------------------------------------------------------------

// load_config takes plain function pointers, so the fake environment is a global.
std::map<std::string, std::string> g_env;
int g_resolve_calls = 0;

const char* fake_env(const char* name) {
    auto it = g_env.find(name);
    return it == g_env.end() ? nullptr : it->second.c_str();
}

const char* fake_resolve(const char* host, uint16_t port, Config& cfg) {
    ++g_resolve_calls;
    if (std::string(host) == "proxy.test") return set_numeric_proxy("198.51.100.9", port, cfg);
    return "Name or service not known";
}

class LoadConfigTest : public ::testing::Test {
  protected:
    void SetUp() override {
        g_env.clear();
        g_resolve_calls = 0;
        g_env["SOCKSIFY_PROXY"] = "socks5h://127.0.0.1:1080";
    }
    Config load() {
        Config cfg;
        load_config(cfg, fake_env, fake_resolve);
        return cfg;
    }
    // Expects a refusal whose message names the variable and never the password.
    void expect_refused(const std::string& var, const std::string& value) {
        g_env[var] = value;
        Config cfg = load();
        EXPECT_FALSE(cfg.valid) << var << "=" << value;
        std::string error = cfg.error;
        EXPECT_NE(error.find(var), std::string::npos) << error;
        EXPECT_EQ(error.find("s3cret"), std::string::npos) << error;
        EXPECT_EQ(error.find('\n'), std::string::npos) << error;
        EXPECT_FALSE(cfg.has_auth && cfg.pass[0] != '\0');
        if (var != "SOCKSIFY_PROXY") g_env.erase(var);  // one bad variable at a time
    }
};

TEST_F(LoadConfigTest, Defaults) {
    Config cfg = load();
    ASSERT_TRUE(cfg.valid) << cfg.error;
    EXPECT_STREQ(cfg.error, "");
    EXPECT_TRUE(cfg.remote_dns);
    EXPECT_FALSE(cfg.has_auth);
    EXPECT_STREQ(cfg.proxy_text, "127.0.0.1:1080");
    EXPECT_EQ(cfg.proxy_len, sizeof(sockaddr_in));
    EXPECT_EQ(cfg.timeout_ms, kDefaultTimeoutMs);
    EXPECT_TRUE(cfg.pipeline);
    EXPECT_EQ(cfg.log_level, LogLevel::kError);
    EXPECT_TRUE(cfg.udp);
    ASSERT_EQ(cfg.direct_count, 2u);
    EXPECT_EQ(cidr_text(cfg.direct[0]), "127.0.0.0/8");
    EXPECT_EQ(cidr_text(cfg.direct[1]), "::1/128");
    EXPECT_EQ(g_resolve_calls, 0);
}

TEST_F(LoadConfigTest, AllVariables) {
    g_env["SOCKSIFY_PROXY"] = "socks5://alice@[::1]:9050";
    g_env["SOCKSIFY_PASSWORD"] = "s3cret";
    g_env["SOCKSIFY_DIRECT"] = "203.0.113.0/24,fd00::/8";
    g_env["SOCKSIFY_TIMEOUT"] = "2.5";
    g_env["SOCKSIFY_PIPELINE"] = "0";
    g_env["SOCKSIFY_LOG"] = "verbose";
    Config cfg = load();
    ASSERT_TRUE(cfg.valid) << cfg.error;
    EXPECT_FALSE(cfg.remote_dns);
    EXPECT_STREQ(cfg.proxy_text, "[::1]:9050");
    EXPECT_TRUE(cfg.has_auth);
    EXPECT_EQ(std::string(cfg.user, cfg.user_len), "alice");
    EXPECT_EQ(std::string(cfg.pass, cfg.pass_len), "s3cret");
    ASSERT_EQ(cfg.direct_count, 2u);
    EXPECT_EQ(cidr_text(cfg.direct[0]), "203.0.113.0/24");
    EXPECT_EQ(cidr_text(cfg.direct[1]), "fd00::/8");
    EXPECT_EQ(cfg.timeout_ms, 2500);
    EXPECT_FALSE(cfg.pipeline);
    EXPECT_EQ(cfg.log_level, LogLevel::kVerbose);
}

TEST_F(LoadConfigTest, PasswordFromUrl) {
    g_env["SOCKSIFY_PROXY"] = "socks5://bob:p%40ss@127.0.0.1";
    Config cfg = load();
    ASSERT_TRUE(cfg.valid) << cfg.error;
    EXPECT_EQ(std::string(cfg.user, cfg.user_len), "bob");
    EXPECT_EQ(std::string(cfg.pass, cfg.pass_len), "p@ss");
}

TEST_F(LoadConfigTest, PasswordVariableOverridesUrl) {
    g_env["SOCKSIFY_PROXY"] = "socks5://bob:old@127.0.0.1";
    g_env["SOCKSIFY_PASSWORD"] = "new";
    Config cfg = load();
    ASSERT_TRUE(cfg.valid) << cfg.error;
    EXPECT_EQ(std::string(cfg.pass, cfg.pass_len), "new");
}

TEST_F(LoadConfigTest, MaximumCredentials) {
    g_env["SOCKSIFY_PROXY"] = "socks5://" + std::string(255, 'u') + "@127.0.0.1";
    g_env["SOCKSIFY_PASSWORD"] = std::string(255, 'p');
    Config cfg = load();
    ASSERT_TRUE(cfg.valid) << cfg.error;
    EXPECT_EQ(cfg.user_len, 255);
    EXPECT_EQ(cfg.pass_len, 255);
}

TEST_F(LoadConfigTest, ProxyNotSet) {
    g_env.erase("SOCKSIFY_PROXY");
    Config cfg = load();
    EXPECT_FALSE(cfg.valid);
    EXPECT_STREQ(cfg.error, "SOCKSIFY_PROXY is not set");
}

TEST_F(LoadConfigTest, BadProxyIsRedacted) {
    expect_refused("SOCKSIFY_PROXY", "https://u:s3cret@h:1");
    expect_refused("SOCKSIFY_PROXY", "socks5://u:s3cret@h:0");
    expect_refused("SOCKSIFY_PROXY", "socks5://u:s3cret@::1");
    expect_refused("SOCKSIFY_PROXY", "");
    g_env["SOCKSIFY_PROXY"] = "socks5://u:s3cret@h:0";
    EXPECT_STREQ(load().error, "bad SOCKSIFY_PROXY value 'socks5://u:***@h:0': port out of range");
}

TEST_F(LoadConfigTest, UserWithoutPassword) {
    expect_refused("SOCKSIFY_PROXY", "socks5://bob@127.0.0.1");
    expect_refused("SOCKSIFY_PROXY", "socks5://bob:@127.0.0.1");
    g_env["SOCKSIFY_PASSWORD"] = "";  // empty counts as not given
    expect_refused("SOCKSIFY_PROXY", "socks5://bob@127.0.0.1");
    EXPECT_NE(std::string(load().error).find("password missing"), std::string::npos);
}

TEST_F(LoadConfigTest, PasswordWithoutUser) { expect_refused("SOCKSIFY_PASSWORD", "s3cret"); }

TEST_F(LoadConfigTest, PasswordTooLong) {
    g_env["SOCKSIFY_PROXY"] = "socks5://bob@127.0.0.1";
    g_env["SOCKSIFY_PASSWORD"] = "s3cret" + std::string(250, 'x');
    Config cfg = load();
    EXPECT_FALSE(cfg.valid);
    EXPECT_NE(std::string(cfg.error).find("SOCKSIFY_PASSWORD"), std::string::npos);
    EXPECT_EQ(std::string(cfg.error).find("s3cret"), std::string::npos);
}

TEST_F(LoadConfigTest, DirectSetReplacesLoopback) {
    g_env["SOCKSIFY_DIRECT"] = "203.0.113.0/24";
    Config cfg = load();
    ASSERT_TRUE(cfg.valid) << cfg.error;
    ASSERT_EQ(cfg.direct_count, 1u);
    EXPECT_EQ(cidr_text(cfg.direct[0]), "203.0.113.0/24");
}

TEST_F(LoadConfigTest, DirectEmptyMeansNothingDirect) {
    g_env["SOCKSIFY_DIRECT"] = "";
    Config cfg = load();
    ASSERT_TRUE(cfg.valid) << cfg.error;
    EXPECT_EQ(cfg.direct_count, 0u);
}

TEST_F(LoadConfigTest, DirectAtCapacity) {
    std::string list;
    for (size_t i = 0; i < kMaxDirect; ++i)
        list += (i ? ",10.0.0." : "10.0.0.") + std::to_string(i);
    g_env["SOCKSIFY_DIRECT"] = list;
    Config cfg = load();
    ASSERT_TRUE(cfg.valid) << cfg.error;
    EXPECT_EQ(cfg.direct_count, kMaxDirect);
    expect_refused("SOCKSIFY_DIRECT", list + ",203.0.113.128");
}

TEST_F(LoadConfigTest, BadScalars) {
    for (const char* v : {"abc", "0", "-1", "3601"}) expect_refused("SOCKSIFY_TIMEOUT", v);
    for (const char* v : {"2", "maybe"}) expect_refused("SOCKSIFY_PIPELINE", v);
    for (const char* v : {"debug", "loud"}) expect_refused("SOCKSIFY_LOG", v);
    for (const char* v : {",", "203.0.113.0/33", "no..pe", "1.2.3"})
        expect_refused("SOCKSIFY_DIRECT", v);
}

TEST_F(LoadConfigTest, DnsDefaultsFollowScheme) {
    Config cfg = load();
    ASSERT_TRUE(cfg.valid) << cfg.error;
    EXPECT_EQ(cfg.dns_mode, DnsMode::kRemote);
    EXPECT_EQ(cidr_text(cfg.fake_net4), "240.0.0.0/12");
    EXPECT_EQ(cidr_text(cfg.fake_net6), "fd53:4f43:4b53::/96");
    EXPECT_FALSE(cfg.dns_tcp);
    EXPECT_EQ(cfg.suffix_count, 0u);
    g_env["SOCKSIFY_PROXY"] = "socks5://127.0.0.1";
    cfg = load();
    EXPECT_EQ(cfg.dns_mode, DnsMode::kLocal);
    EXPECT_FALSE(cfg.remote_dns);
}

TEST_F(LoadConfigTest, DnsVariables) {
    g_env["SOCKSIFY_DNS"] = "off";
    g_env["SOCKSIFY_FAKE_NET"] = "203.0.113.0/24";
    g_env["SOCKSIFY_FAKE_NET6"] = "fd00:1::/112";
    g_env["SOCKSIFY_DNS_TCP"] = "192.0.2.53";
    g_env["SOCKSIFY_DIRECT"] = "corp.example,203.0.113.0/24";
    Config cfg = load();
    ASSERT_TRUE(cfg.valid) << cfg.error;
    EXPECT_EQ(cfg.dns_mode, DnsMode::kOff);
    EXPECT_FALSE(cfg.remote_dns);
    EXPECT_EQ(cidr_text(cfg.fake_net4), "203.0.113.0/24");
    EXPECT_EQ(cidr_text(cfg.fake_net6), "fd00:1::/112");
    EXPECT_TRUE(cfg.dns_tcp);
    EXPECT_EQ(server_text(cfg.dns_server), "192.0.2.53:53");
    EXPECT_EQ(cfg.dns_server_len, sizeof(sockaddr_in));
    ASSERT_EQ(cfg.suffix_count, 1u);
    EXPECT_STREQ(cfg.suffixes[0], ".corp.example");
    ASSERT_EQ(cfg.direct_count, 1u);
}

TEST_F(LoadConfigTest, DnsModeOverridesScheme) {
    g_env["SOCKSIFY_PROXY"] = "socks5://127.0.0.1";
    g_env["SOCKSIFY_DNS"] = "remote";
    Config cfg = load();
    ASSERT_TRUE(cfg.valid) << cfg.error;
    EXPECT_EQ(cfg.dns_mode, DnsMode::kRemote);
    EXPECT_TRUE(cfg.remote_dns);
}

TEST_F(LoadConfigTest, BadDnsVariables) {
    for (const char* v : {"yes", "Remote1"}) expect_refused("SOCKSIFY_DNS", v);
    for (const char* v : {"fd00::/8", "203.0.113.0/31", "203.0.113.0/33", "x"}) {
        expect_refused("SOCKSIFY_FAKE_NET", v);
    }
    for (const char* v : {"203.0.113.0/24", "fd00::/127", "fd00::/64", "x"})
        expect_refused("SOCKSIFY_FAKE_NET6", v);
    for (const char* v : {"dns.example", "1.2.3.4:0", "[::1"})
        expect_refused("SOCKSIFY_DNS_TCP", v);
    for (const char* v : {"a..b", "lan,"}) expect_refused("SOCKSIFY_DIRECT", v);
}

TEST_F(LoadConfigTest, UdpVariable) {
    for (const char* off : {"off", "OFF", "0", "no", "false"}) {
        g_env["SOCKSIFY_UDP"] = off;
        Config cfg = load();
        ASSERT_TRUE(cfg.valid) << off << ": " << cfg.error;
        EXPECT_FALSE(cfg.udp) << off;
    }
    for (const char* on : {"on", "On", "1", "yes", "true"}) {
        g_env["SOCKSIFY_UDP"] = on;
        Config cfg = load();
        ASSERT_TRUE(cfg.valid) << on << ": " << cfg.error;
        EXPECT_TRUE(cfg.udp) << on;
    }
    g_env.erase("SOCKSIFY_UDP");
    for (const char* v : {"maybe", "2", "onn", " on"}) expect_refused("SOCKSIFY_UDP", v);
    g_env["SOCKSIFY_UDP"] = "udp";
    EXPECT_STREQ(load().error,
                 "bad SOCKSIFY_UDP value 'udp': expected 1/0, on/off, yes/no or true/false");
}

TEST_F(LoadConfigTest, FakeNetErrorsNameTheValue) {
    g_env["SOCKSIFY_FAKE_NET"] = "203.0.113.0/31";
    EXPECT_STREQ(load().error,
                 "bad SOCKSIFY_FAKE_NET value '203.0.113.0/31': range too small (at most /30)");
    g_env.erase("SOCKSIFY_FAKE_NET");
    g_env["SOCKSIFY_FAKE_NET6"] = "fd00::/64";
    EXPECT_STREQ(load().error,
                 "bad SOCKSIFY_FAKE_NET6 value 'fd00::/64': prefix must be /96 to /126");
}

TEST_F(LoadConfigTest, ErrorQuotesValueAndReason) {
    g_env["SOCKSIFY_TIMEOUT"] = "abc";
    EXPECT_STREQ(load().error, "bad SOCKSIFY_TIMEOUT value 'abc': not a number");
}

TEST_F(LoadConfigTest, EmptyScalarsMeanDefaults) {
    for (const char* v :
         {"SOCKSIFY_TIMEOUT", "SOCKSIFY_PIPELINE", "SOCKSIFY_LOG", "SOCKSIFY_DNS",
          "SOCKSIFY_FAKE_NET", "SOCKSIFY_FAKE_NET6", "SOCKSIFY_DNS_TCP", "SOCKSIFY_UDP"}) {
        g_env[v] = "";
    }
    Config cfg = load();
    ASSERT_TRUE(cfg.valid) << cfg.error;
    EXPECT_EQ(cfg.timeout_ms, kDefaultTimeoutMs);
    EXPECT_TRUE(cfg.pipeline);
    EXPECT_EQ(cfg.log_level, LogLevel::kError);
    EXPECT_EQ(cfg.dns_mode, DnsMode::kRemote);
    EXPECT_EQ(cidr_text(cfg.fake_net4), "240.0.0.0/12");
    EXPECT_EQ(cidr_text(cfg.fake_net6), "fd53:4f43:4b53::/96");
    EXPECT_FALSE(cfg.dns_tcp);
    EXPECT_TRUE(cfg.udp);
}

TEST_F(LoadConfigTest, HostNameIsResolvedOnce) {
    g_env["SOCKSIFY_PROXY"] = "socks5h://proxy.test:1081";
    Config cfg = load();
    ASSERT_TRUE(cfg.valid) << cfg.error;
    EXPECT_EQ(g_resolve_calls, 1);
    EXPECT_STREQ(cfg.proxy_text, "198.51.100.9:1081");
}

TEST_F(LoadConfigTest, ResolveFailure) {
    g_env["SOCKSIFY_PROXY"] = "socks5h://u:s3cret@nowhere.invalid";
    Config cfg = load();
    EXPECT_FALSE(cfg.valid);
    EXPECT_STREQ(cfg.error,
                 "cannot resolve proxy host 'nowhere.invalid': Name or service not known");
    EXPECT_EQ(cfg.pass[0], '\0');
}

TEST_F(LoadConfigTest, NoResolverMeansNumericOnly) {
    g_env["SOCKSIFY_PROXY"] = "proxy.test";
    Config cfg;
    load_config(cfg, fake_env, nullptr);
    EXPECT_FALSE(cfg.valid);
    EXPECT_NE(std::string(cfg.error).find("proxy.test"), std::string::npos);
}

TEST_F(LoadConfigTest, NoResolutionWhenAnotherValueIsBad) {
    g_env["SOCKSIFY_PROXY"] = "proxy.test";
    g_env["SOCKSIFY_TIMEOUT"] = "abc";
    EXPECT_FALSE(load().valid);
    EXPECT_EQ(g_resolve_calls, 0);
}

TEST_F(LoadConfigTest, ReloadClearsPreviousState) {
    Config cfg;
    g_env["SOCKSIFY_PROXY"] = "socks5://bob:pw@127.0.0.1";
    load_config(cfg, fake_env, fake_resolve);
    ASSERT_TRUE(cfg.has_auth);
    g_env["SOCKSIFY_PROXY"] = "127.0.0.1";
    load_config(cfg, fake_env, fake_resolve);
    ASSERT_TRUE(cfg.valid);
    EXPECT_FALSE(cfg.has_auth);
    EXPECT_EQ(cfg.pass[0], '\0');
}

TEST_F(LoadConfigTest, UpstreamKindReachesTheLibrary) {
    g_env["SOCKSIFY_PROXY"] = "http://198.51.100.1:3128";
    Config cfg = load();
    ASSERT_TRUE(cfg.valid) << cfg.error;
    EXPECT_EQ(cfg.proxy_kind, ProxyKind::kHttp);
    EXPECT_EQ(cfg.dns_mode, DnsMode::kRemote);
    g_env["SOCKSIFY_PROXY"] = "socks4://198.51.100.1:1080";
    cfg = load();
    ASSERT_TRUE(cfg.valid) << cfg.error;
    EXPECT_EQ(cfg.proxy_kind, ProxyKind::kSocks4);
    EXPECT_EQ(cfg.dns_mode, DnsMode::kLocal);
}

// SOCKS4's USERID is a name alone; SOCKS5 and HTTP still need a password.
TEST_F(LoadConfigTest, Socks4UserNeedsNoPassword) {
    g_env["SOCKSIFY_PROXY"] = "socks4a://alice@198.51.100.1";
    Config cfg = load();
    ASSERT_TRUE(cfg.valid) << cfg.error;
    EXPECT_TRUE(cfg.has_auth);
    EXPECT_STREQ(cfg.user, "alice");
    EXPECT_EQ(cfg.pass_len, 0);
    g_env["SOCKSIFY_PROXY"] = "http://alice@198.51.100.1";
    EXPECT_FALSE(load().valid);
}

}  // namespace
}  // namespace socksify::shim
