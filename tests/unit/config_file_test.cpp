// Unit tests for shim/settings/config_file: the socksify config file's lines and whole text
// (with line numbers), and the proxychains.conf reader.
#include "shim/settings/config_file.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace socksify::shim {
namespace {

// --- parse_config_line -----------------------------------------------------------------

TEST(ConfigLineTest, BlankCommentsAndPolicySection) {
    ConfigLine l;
    for (const char* blank : {"", "   ", "\t", "# comment", "   # indented comment", "[policy]",
                              " [ Policy ] ", "\r"}) {
        ASSERT_EQ(parse_config_line(blank, l), nullptr) << "'" << blank << "'";
        EXPECT_EQ(l.kind, ConfigLine::Kind::kBlank) << "'" << blank << "'";
    }
}

TEST(ConfigLineTest, Settings) {
    ConfigLine l;
    ASSERT_EQ(parse_config_line("proxy = socks5h://198.51.100.1:1080", l), nullptr);
    EXPECT_EQ(l.kind, ConfigLine::Kind::kSetting);
    EXPECT_EQ(l.key, Setting::kProxy);
    EXPECT_EQ(l.value, "socks5h://198.51.100.1:1080");
    ASSERT_EQ(parse_config_line("  timeout=2.5  # seconds\r", l), nullptr);
    EXPECT_EQ(l.key, Setting::kTimeout);
    EXPECT_EQ(l.value, "2.5");
    ASSERT_EQ(parse_config_line("direct = \"\"", l), nullptr);
    EXPECT_EQ(l.key, Setting::kDirect);
    EXPECT_EQ(l.value, "");
    ASSERT_EQ(parse_config_line("direct =", l), nullptr);
    EXPECT_EQ(l.value, "");
    ASSERT_EQ(parse_config_line("password-file = \"/etc/my pw\"", l), nullptr);
    EXPECT_EQ(l.key, Setting::kPasswordFile);
    EXPECT_EQ(l.value, "/etc/my pw");
    // A '#' inside a value (no blank before it) is not a comment.
    ASSERT_EQ(parse_config_line("audit = /var/log/a#1", l), nullptr);
    EXPECT_EQ(l.value, "/var/log/a#1");
}

TEST(ConfigLineTest, EveryKey) {
    const std::pair<const char*, Setting> keys[] = {
        {"proxy", Setting::kProxy},
        {"direct", Setting::kDirect},
        {"dns", Setting::kDns},
        {"dns-tcp", Setting::kDnsTcp},
        {"timeout", Setting::kTimeout},
        {"udp", Setting::kUdp},
        {"strict", Setting::kStrict},
        {"pipeline", Setting::kPipeline},
        {"fake-net", Setting::kFakeNet},
        {"fake-net6", Setting::kFakeNet6},
        {"audit", Setting::kAudit},
        {"default-deny", Setting::kDefaultDeny},
        {"password-file", Setting::kPasswordFile},
        {"log", Setting::kLog},
    };
    for (const auto& [name, key] : keys) {
        ConfigLine l;
        std::string line = std::string(name) + " = x";
        ASSERT_EQ(parse_config_line(line, l), nullptr) << line;
        EXPECT_EQ(l.key, key) << line;
    }
}

TEST(ConfigLineTest, Rules) {
    ConfigLine l;
    ASSERT_EQ(parse_config_line("allow web.socks.test:80", l), nullptr);
    EXPECT_EQ(l.kind, ConfigLine::Kind::kRule);
    EXPECT_TRUE(l.allow);
    EXPECT_EQ(l.value, "web.socks.test:80");
    ASSERT_EQ(parse_config_line("\tdeny\t[2001:db8::/32]:443   # v6", l), nullptr);
    EXPECT_FALSE(l.allow);
    EXPECT_EQ(l.value, "[2001:db8::/32]:443");
    ASSERT_EQ(parse_config_line("allow = *.pypi.internal:443", l), nullptr);
    EXPECT_EQ(l.value, "*.pypi.internal:443");
}

TEST(ConfigLineTest, Errors) {
    ConfigLine l;
    EXPECT_STREQ(parse_config_line("colour = blue", l), "unknown key");
    EXPECT_STREQ(parse_config_line("no-pipeline", l), "unknown key");
    EXPECT_STREQ(parse_config_line("proxy socks5h://x", l), "expected 'key = value'");
    EXPECT_STREQ(parse_config_line("= x", l), "expected 'key = value'");
    EXPECT_STREQ(parse_config_line("[main]", l), "unknown section (only [policy])");
    EXPECT_STREQ(parse_config_line("[policy", l), "bad section header");
    EXPECT_NE(parse_config_line("allow", l), nullptr);
    EXPECT_NE(parse_config_line("deny bad rule!", l), nullptr);
    EXPECT_NE(parse_config_line("allow example.com:0", l), nullptr);
    EXPECT_STREQ(parse_config_line("Proxy = x", l), "unknown key");  // keys are lower case
}

// --- parse_config_text -----------------------------------------------------------------

struct Seen {
    std::vector<std::string> items;
    size_t fail_at = 0;
};

const char* collect(void* ctx, size_t line_no, const ConfigLine& line) {
    auto& seen = *static_cast<Seen*>(ctx);
    if (line_no == seen.fail_at) return "refused by the caller";
    std::string item = std::to_string(line_no) + ":";
    if (line.kind == ConfigLine::Kind::kRule) {
        item += (line.allow ? "allow " : "deny ") + std::string(line.value);
    } else {
        item += std::to_string(static_cast<int>(line.key)) + "=" + std::string(line.value);
    }
    seen.items.push_back(item);
    return nullptr;
}

TEST(ConfigTextTest, LinesInOrderWithNumbers) {
    const char* text =
        "# socksify\n"
        "proxy = socks5h://198.51.100.1:1080\r\n"
        "\n"
        "strict = yes\n"
        "[policy]\n"
        "allow web.socks.test:80\n"
        "deny *";  // no final newline
    Seen seen;
    size_t line = 0;
    ASSERT_EQ(parse_config_text(text, collect, &seen, line), nullptr);
    std::vector<std::string> want = {
        "2:0=socks5h://198.51.100.1:1080",
        "4:" + std::to_string(static_cast<int>(Setting::kStrict)) + "=yes",
        "6:allow web.socks.test:80", "7:deny *"};
    EXPECT_EQ(seen.items, want);
}

TEST(ConfigTextTest, ErrorsCarryTheLineNumber) {
    Seen seen;
    size_t line = 0;
    EXPECT_STREQ(parse_config_text("proxy = x\n\n\nfoo = 1\nudp = on\n", collect, &seen, line),
                 "unknown key");
    EXPECT_EQ(line, 4u);
    EXPECT_EQ(seen.items.size(), 1u);
    Seen refuse;
    refuse.fail_at = 2;
    EXPECT_STREQ(parse_config_text("udp = on\ntimeout = 1\n", collect, &refuse, line),
                 "refused by the caller");
    EXPECT_EQ(line, 2u);
    EXPECT_STREQ(parse_config_text(std::string_view("udp = on\0\n", 10), collect, &seen, line),
                 "NUL byte in line");
    EXPECT_EQ(line, 1u);
}

TEST(ConfigTextTest, EmptyText) {
    Seen seen;
    size_t line = 7;
    EXPECT_EQ(parse_config_text("", collect, &seen, line), nullptr);
    EXPECT_EQ(line, 0u);
    EXPECT_TRUE(seen.items.empty());
}

// --- parse_proxychains -----------------------------------------------------------------

std::unique_ptr<ProxychainsConf> proxychains(std::string_view text,
                                             const char* want_error = nullptr,
                                             size_t want_line = 0) {
    auto pc = std::make_unique<ProxychainsConf>();
    size_t line = 0;
    const char* e = parse_proxychains(text, *pc, line);
    if (want_error == nullptr) {
        EXPECT_EQ(e, nullptr) << e << " at line " << line;
    } else {
        EXPECT_STREQ(e, want_error);
        EXPECT_EQ(line, want_line);
    }
    return pc;
}

std::string cidr_text(const Cidr& c) {
    char a[INET6_ADDRSTRLEN];
    inet_ntop(c.family, c.addr.data(), a, sizeof a);
    return std::string(a) + "/" + std::to_string(c.prefix);
}

TEST(ProxychainsTest, TheStockFile) {
    // The directives of proxychains-ng's own proxychains.conf.
    auto pc = proxychains(
        "# proxychains.conf  VER 4.x\n"
        "#dynamic_chain\n"
        "strict_chain\n"
        "#quiet_mode\n"
        "proxy_dns\n"
        "remote_dns_subnet 224\n"
        "tcp_read_time_out 15000\n"
        "tcp_connect_time_out 8000\n"
        "# localnet 127.0.0.0/255.0.0.0\n"
        "[ProxyList]\n"
        "# add proxy here ...\n"
        "socks5 \t127.0.0.1 9050\n");
    ASSERT_EQ(pc->proxy_count, 1u);
    const ProxyUrl& u = pc->proxies[0].url;
    EXPECT_STREQ(u.host, "127.0.0.1");
    EXPECT_EQ(u.port, 9050);
    EXPECT_FALSE(u.has_user);
    EXPECT_EQ(u.kind, ProxyKind::kSocks5);
    EXPECT_TRUE(u.remote_dns);  // proxy_dns: socks5h
    EXPECT_TRUE(pc->proxy_dns);
    EXPECT_EQ(pc->chain_mode, ChainMode::kStrict);
    EXPECT_EQ(pc->timeout_ms, 15000);
    EXPECT_EQ(pc->timeout_line, 7u);
    EXPECT_EQ(pc->proxies[0].line, 12u);
    EXPECT_EQ(pc->localnet_count, 0u);
    EXPECT_EQ(pc->warning_count, 0u);  // remote_dns_subnet is known, and ignored
}

TEST(ProxychainsTest, EveryEntryIsAHop) {
    auto pc = proxychains(
        "dynamic_chain\n"
        "proxy_dns\n"
        "[ProxyList]\n"
        "socks5 198.51.100.1 1083 sfyuser sfypass\n"
        "socks4 192.0.2.1 1080 alice\n"
        "http 192.0.2.2 3128 bob secret\n"
        "raw 192.0.2.3 8080\n");
    ASSERT_EQ(pc->proxy_count, 4u);
    EXPECT_EQ(pc->chain_mode, ChainMode::kDynamic);
    const ProxyUrl& a = pc->proxies[0].url;
    EXPECT_EQ(a.kind, ProxyKind::kSocks5);
    EXPECT_TRUE(a.remote_dns);  // proxy_dns: socks5h
    EXPECT_STREQ(a.user, "sfyuser");
    EXPECT_STREQ(a.pass, "sfypass");
    const ProxyUrl& b = pc->proxies[1].url;
    EXPECT_EQ(b.kind, ProxyKind::kSocks4a);  // socks4 with proxy_dns sends names
    EXPECT_STREQ(b.user, "alice");
    EXPECT_FALSE(b.has_pass);
    const ProxyUrl& c = pc->proxies[2].url;
    EXPECT_EQ(c.kind, ProxyKind::kHttp);
    EXPECT_EQ(c.port, 3128);
    EXPECT_EQ(pc->proxies[2].line, 6u);
    const ProxyUrl& d = pc->proxies[3].url;
    EXPECT_EQ(d.kind, ProxyKind::kRaw);  // a forwarder: nothing resolved, nothing said
    EXPECT_TRUE(d.remote_dns);
    EXPECT_EQ(d.port, 8080);
}

TEST(ProxychainsTest, Socks4WithoutProxyDnsStaysSocks4) {
    auto pc = proxychains("[ProxyList]\nsocks4 127.0.0.1 9050\n");
    ASSERT_EQ(pc->proxy_count, 1u);
    EXPECT_EQ(pc->proxies[0].url.kind, ProxyKind::kSocks4);
    EXPECT_FALSE(pc->proxies[0].url.remote_dns);
}

// A raw entry anywhere in the list is a hop, handed on as a raw:// URL.
TEST(ProxychainsTest, RawEntriesAreHopsAnywhere) {
    auto pc = proxychains(
        "[ProxyList]\n"
        "raw 198.51.100.1 1096\n"
        "socks5 198.51.100.1 1080\n"
        "RAW fwd.example 22\n");
    ASSERT_EQ(pc->proxy_count, 3u);
    EXPECT_EQ(pc->proxies[0].url.kind, ProxyKind::kRaw);
    EXPECT_EQ(pc->proxies[1].url.kind, ProxyKind::kSocks5);
    const ProxyUrl& b = pc->proxies[2].url;
    EXPECT_EQ(b.kind, ProxyKind::kRaw);
    EXPECT_EQ(pc->proxies[2].line, 4u);
    EXPECT_EQ(pc->warning_count, 0u);
    char url[128];
    ASSERT_TRUE(format_proxy_url(b, true, url, sizeof url));
    EXPECT_STREQ(url, "raw://fwd.example:22");
}

TEST(ProxychainsTest, ChainModesAndLength) {
    struct {
        const char* line;
        ChainMode mode;
    } cases[] = {{"strict_chain", ChainMode::kStrict},
                 {"dynamic_chain", ChainMode::kDynamic},
                 {"random_chain", ChainMode::kRandom},
                 {"round_robin_chain", ChainMode::kRoundRobin}};
    for (const auto& c : cases) {
        auto pc =
            proxychains(std::string(c.line) + "\nchain_len = 2\n[ProxyList]\nsocks5 1.2.3.4 1\n");
        EXPECT_EQ(pc->chain_mode, c.mode) << c.line;
        EXPECT_EQ(pc->chain_len, 2u) << c.line;
    }
}

TEST(ProxychainsTest, LargerTimeoutWins) {
    auto pc = proxychains(
        "tcp_read_time_out 2000\ntcp_connect_time_out 8500\n[ProxyList]\nsocks5 1.2.3.4 1\n");
    EXPECT_EQ(pc->timeout_ms, 8500);
    EXPECT_EQ(pc->timeout_line, 2u);
}

TEST(ProxychainsTest, Localnets) {
    auto pc = proxychains(
        "localnet 127.0.0.0/255.0.0.0\n"
        "localnet 127.1.0.0/16\n"
        "localnet 198.51.100.0/255.255.255.0\n"
        "localnet 0.0.0.0/0.0.0.0\n"
        "localnet fd00::/8\n"
        "[ProxyList]\nsocks5 1.2.3.4 1080\n");
    ASSERT_EQ(pc->localnet_count, 5u);
    EXPECT_EQ(cidr_text(pc->localnet[0]), "127.0.0.0/8");
    EXPECT_EQ(cidr_text(pc->localnet[1]), "127.1.0.0/16");
    EXPECT_EQ(cidr_text(pc->localnet[2]), "198.51.100.0/24");
    EXPECT_EQ(cidr_text(pc->localnet[3]), "0.0.0.0/0");
    EXPECT_EQ(cidr_text(pc->localnet[4]), "fd00::/8");
}

TEST(ProxychainsTest, Errors) {
    proxychains("[ProxyList]\nsocks4 127.0.0.1\n", "expected 'type host port [user [pass]]'", 2);
    proxychains("[ProxyList]\nsocks5 127.0.0.1 1080 a b c\n",
                "expected 'type host port [user [pass]]'", 2);
    proxychains("[ProxyList]\nraw 127.0.0.1 1 alice\n", "raw forwarders take no user name", 2);
    proxychains("[ProxyList]\nsocks6 127.0.0.1 1\n", "unknown proxy type", 2);
    proxychains("[ProxyList]\nsocks5 127.0.0.1 0\n", "bad port", 2);
    proxychains("[ProxyList]\nsocks5 127.0.0.1 65536\n", "bad port", 2);
    proxychains("chain_len 0\n", "chain_len must be 1..8", 1);
    proxychains("chain_len 9\n", "chain_len must be 1..8", 1);
    std::string nine = "[ProxyList]\n";
    for (int i = 0; i < 9; ++i) nine += "socks5 127.0.0.1 " + std::to_string(1080 + i) + "\n";
    proxychains(nine, "more than 8 proxies (chains have at most 8 hops)", 10);
    proxychains("tcp_read_time_out soon\n", "bad timeout (milliseconds)", 1);
    proxychains("localnet 203.0.113.0:80/255.255.255.0\n", "localnet with a port is not supported",
                1);
    proxychains("\nlocalnet 203.0.113.0/255.0.255.0\n", "netmask is not contiguous", 2);
    proxychains("localnet 203.0.113.0/255.0.0\n", "bad netmask", 1);
    proxychains("localnet\n", "expected 'localnet address/netmask'", 1);
}

TEST(ProxychainsTest, NoProxyIsNotAnError) {
    auto pc = proxychains("strict_chain\n[ProxyList]\n# empty\n");
    EXPECT_EQ(pc->proxy_count, 0u);
}

TEST(ProxychainsTest, WhatCannotBeHonouredIsWarnedAbout) {
    auto pc = proxychains(
        "quiet_mode\nproxy_dns_old\ndnat 1.1.1.1 1.1.1.2\nfancy_option 3\n"
        "[ProxyList]\nsocks5 1.2.3.4 1080 # the exit\n");
    EXPECT_TRUE(pc->proxy_dns);
    ASSERT_EQ(pc->proxy_count, 1u);
    EXPECT_FALSE(pc->proxies[0].url.has_user);
    ASSERT_EQ(pc->warning_count, 2u);
    EXPECT_EQ(pc->warnings[0].line, 3u);
    EXPECT_STREQ(pc->warnings[0].what, "dnat is not supported: ignored");
    EXPECT_EQ(pc->warnings[1].line, 4u);
    EXPECT_STREQ(pc->warnings[1].what, "unknown directive: ignored");
}

}  // namespace
}  // namespace socksify::shim
