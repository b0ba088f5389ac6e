// Unit tests for shim/settings/policy: the rule parser, SOCKSIFY_POLICY, the three matchers
// (name, address, lookup) and format_rule; plus the policy part of load_config.
#include "shim/settings/policy.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "shim/settings/config.hpp"
#include "shim/settings/host_text.hpp"
#include "shim/settings/text.hpp"
#include "tests/unit/host_forms.hpp"

namespace socksify::shim {
namespace {

sockaddr_storage addr(const char* ip, uint16_t port) {
    sockaddr_storage ss{};
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, ip, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
    } else if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
    } else {
        ADD_FAILURE() << "bad test address " << ip;
    }
    return ss;
}

const sockaddr* sa(const sockaddr_storage& ss) { return reinterpret_cast<const sockaddr*>(&ss); }

// Policies are large (64 rules): on the heap.
std::unique_ptr<Policy> policy(const char* env, bool default_deny = false) {
    auto p = std::make_unique<Policy>();
    const char* e = parse_policy(env, *p);
    EXPECT_EQ(e, nullptr) << env << ": " << e;
    p->default_deny = default_deny;
    return p;
}

std::string formatted(const char* text, bool allow = true) {
    Rule r;
    const char* e = parse_rule(text, allow, r);
    EXPECT_EQ(e, nullptr) << text << ": " << e;
    char out[400];
    format_rule(r, out, sizeof out);
    return out;
}

// --- parse_rule ------------------------------------------------------------------------

TEST(PolicyRuleTest, ExactName) {
    Rule r;
    ASSERT_EQ(parse_rule("Example.COM", true, r), nullptr);
    EXPECT_EQ(r.target, RuleTarget::kName);
    EXPECT_STREQ(r.name, "example.com");
    EXPECT_EQ(r.name_len, 11);
    EXPECT_TRUE(r.any_port);
    EXPECT_TRUE(r.allow);
}

TEST(PolicyRuleTest, TrailingDotDropped) {
    Rule r;
    ASSERT_EQ(parse_rule("example.com.", false, r), nullptr);
    EXPECT_STREQ(r.name, "example.com");
    EXPECT_FALSE(r.allow);
}

TEST(PolicyRuleTest, SubdomainPattern) {
    Rule r;
    ASSERT_EQ(parse_rule("*.pypi.internal:443", true, r), nullptr);
    EXPECT_EQ(r.target, RuleTarget::kSubdomains);
    EXPECT_STREQ(r.name, "pypi.internal");
    EXPECT_FALSE(r.any_port);
    EXPECT_EQ(r.port_lo, 443);
    EXPECT_EQ(r.port_hi, 443);
}

TEST(PolicyRuleTest, PortRange) {
    Rule r;
    ASSERT_EQ(parse_rule("198.51.100.0/24:1-1024", true, r), nullptr);
    EXPECT_EQ(r.target, RuleTarget::kNetwork);
    EXPECT_EQ(r.net.family, AF_INET);
    EXPECT_EQ(r.net.prefix, 24);
    EXPECT_EQ(r.port_lo, 1);
    EXPECT_EQ(r.port_hi, 1024);
}

TEST(PolicyRuleTest, BareAddressIsAHost) {
    Rule r;
    ASSERT_EQ(parse_rule("192.0.2.7", true, r), nullptr);
    EXPECT_EQ(r.target, RuleTarget::kNetwork);
    EXPECT_EQ(r.net.prefix, 32);
    ASSERT_EQ(parse_rule("2001:db8::1", true, r), nullptr);
    EXPECT_EQ(r.net.family, AF_INET6);
    EXPECT_EQ(r.net.prefix, 128);
}

// Every spelling the resolver reads as an address (host_forms.hpp) is either the
// a.b.c.d form of a host rule or refused with a reason: never a name rule, which no
// connection would match (the resolver answers such text with the address).
TEST(PolicyRuleTest, EverySpellingOfAnAddressIsAHostRuleOrRefused) {
    size_t refused = 0;
    for (const std::string& form : host_forms::ipv4_spellings()) {
        HostText host;
        std::string_view target = trim(form);
        if (parse_host(target, false, host) != HostKind::kIpv4) continue;
        Rule r;
        char text[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, host.addr, text, sizeof text);
        for (std::string rule : {std::string(target), std::string(target) + ":443"}) {
            const char* e = parse_rule(rule, false, r);
            if (target == text) {
                ASSERT_EQ(e, nullptr) << rule;
                EXPECT_EQ(r.target, RuleTarget::kNetwork) << rule;
                EXPECT_EQ(memcmp(r.net.addr.data(), host.addr, 4), 0) << rule;
            } else {
                ++refused;
                EXPECT_STREQ(e, unusual_address(target)) << rule;
                EXPECT_NE(e, nullptr) << rule;
            }
        }
    }
    EXPECT_GT(refused, 100u);
    Rule r;
    EXPECT_STREQ(parse_rule("fe80::1%eth0", false, r), "an address in a list takes no scope id");
    EXPECT_EQ(parse_rule("0x7f.example", false, r), nullptr);  // a name
    EXPECT_EQ(r.target, RuleTarget::kName);
}

TEST(PolicyRuleTest, Ipv6NetworkWithoutAndWithPort) {
    Rule r;
    ASSERT_EQ(parse_rule("2001:db8::/32", true, r), nullptr);
    EXPECT_EQ(r.net.family, AF_INET6);
    EXPECT_EQ(r.net.prefix, 32);
    EXPECT_TRUE(r.any_port);
    ASSERT_EQ(parse_rule("[2001:db8::/32]:443", true, r), nullptr);
    EXPECT_EQ(r.net.prefix, 32);
    EXPECT_EQ(r.port_lo, 443);
    ASSERT_EQ(parse_rule("[::1]:53-54", true, r), nullptr);
    EXPECT_EQ(r.port_hi, 54);
}

TEST(PolicyRuleTest, StarMatchesEverything) {
    Rule r;
    ASSERT_EQ(parse_rule("*", true, r), nullptr);
    EXPECT_EQ(r.target, RuleTarget::kAny);
    ASSERT_EQ(parse_rule("*:25", false, r), nullptr);
    EXPECT_EQ(r.target, RuleTarget::kAny);
    EXPECT_EQ(r.port_lo, 25);
}

TEST(PolicyRuleTest, SurroundingBlanksIgnored) {
    Rule r;
    ASSERT_EQ(parse_rule("  example.com:80 ", true, r), nullptr);
    EXPECT_STREQ(r.name, "example.com");
}

TEST(PolicyRuleTest, Rejected) {
    Rule r;
    for (const char* bad : {"",
                            "   ",
                            "example.com:",
                            "example.com:0",
                            "example.com:65536",
                            "example.com:80-79",
                            "example.com:x",
                            "example.com:1-",
                            "ex ample.com",
                            "exa*mple.com",
                            "*example.com",
                            "foo.*.com",
                            "a..b",
                            ".example.com",
                            "300.1.2.3",
                            "203.0.113.0/33",
                            "1.2.3.4/24/1",
                            "[1.2.3.4]:80",
                            "[::1",
                            "[::1]x",
                            "[::1]:",
                            "2001:db8::/129",
                            "a,b",
                            "*.",
                            "example.com:80:81"}) {
        EXPECT_NE(parse_rule(bad, true, r), nullptr) << "accepted '" << bad << "'";
    }
    std::string long_label(64, 'a');
    EXPECT_NE(parse_rule(long_label + ".com", true, r), nullptr);
    std::string long_name;
    for (int i = 0; i < 64; ++i) long_name += "abc.";
    long_name += "com";
    EXPECT_NE(parse_rule(long_name, true, r), nullptr);
}

TEST(PolicyRuleTest, ReasonsAreSpecific) {
    Rule r;
    EXPECT_STREQ(parse_rule("example.com:0", true, r), "port out of range (1-65535)");
    EXPECT_STREQ(parse_rule("300.1.2.3", true, r), "bad address");
    EXPECT_STREQ(parse_rule("foo.*.com", true, r),
                 "'*' only as a whole first label (*.example.com)");
}

TEST(PolicyRuleTest, FormatRoundTrips) {
    EXPECT_EQ(formatted("example.com"), "allow example.com");
    EXPECT_EQ(formatted("*.Example.com:443", false), "deny *.example.com:443");
    EXPECT_EQ(formatted("198.51.100.7/24:1-1024"), "allow 198.51.100.0/24:1-1024");
    EXPECT_EQ(formatted("[2001:db8::/32]:443"), "allow [2001:db8::/32]:443");
    EXPECT_EQ(formatted("2001:db8::/32"), "allow 2001:db8::/32");
    EXPECT_EQ(formatted("*"), "allow *");
}

// --- parse_policy ----------------------------------------------------------------------

TEST(PolicyEnvTest, RulesInOrder) {
    auto p = policy("allow:web.socks.test:80,deny:203.0.113.0/24,allow:[2001:db8::/32]:443");
    ASSERT_EQ(p->count, 3u);
    EXPECT_TRUE(p->rules[0].allow);
    EXPECT_EQ(p->rules[0].target, RuleTarget::kName);
    EXPECT_FALSE(p->rules[1].allow);
    EXPECT_EQ(p->rules[1].target, RuleTarget::kNetwork);
    EXPECT_EQ(p->rules[2].port_lo, 443);
}

TEST(PolicyEnvTest, EmptyIsNoRules) {
    auto p = policy("");
    EXPECT_EQ(p->count, 0u);
}

TEST(PolicyEnvTest, Rejected) {
    auto p = std::make_unique<Policy>();
    for (const char* bad : {"web.socks.test", "permit:x.com", "allow:", "allow:x.com,",
                            ",allow:x.com", "allow:x.com,,deny:y.com", "Allow:x.com"}) {
        EXPECT_NE(parse_policy(bad, *p), nullptr) << "accepted '" << bad << "'";
    }
}

TEST(PolicyEnvTest, AtMost64Rules) {
    std::string env;
    for (int i = 0; i < 64; ++i)
        env += (i ? "," : "") + std::string("deny:h") + std::to_string(i) + ".test";
    auto p = std::make_unique<Policy>();
    EXPECT_EQ(parse_policy(env, *p), nullptr);
    EXPECT_EQ(p->count, 64u);
    EXPECT_STREQ(parse_policy(env + ",allow:one.more", *p), "too many rules (at most 64)");
}

// --- matching --------------------------------------------------------------------------

TEST(PolicyMatchTest, DefaultAllowAndDefaultDeny) {
    auto open = policy("");
    EXPECT_TRUE(check_name(*open, "anything.test", 80).allow);
    auto a = addr("192.0.2.1", 80);
    EXPECT_TRUE(check_address(*open, sa(a)).allow);
    auto closed = policy("", true);
    Verdict v = check_name(*closed, "anything.test", 80);
    EXPECT_FALSE(v.allow);
    EXPECT_EQ(v.rule, 0u);
    EXPECT_FALSE(check_address(*closed, sa(a)).allow);
}

TEST(PolicyMatchTest, ExactNameIsCaseInsensitiveAndNotSubdomains) {
    auto p = policy("allow:example.com", true);
    EXPECT_TRUE(check_name(*p, "example.com", 443).allow);
    EXPECT_TRUE(check_name(*p, "EXAMPLE.com.", 443).allow);
    EXPECT_FALSE(check_name(*p, "www.example.com", 443).allow);
    EXPECT_FALSE(check_name(*p, "badexample.com", 443).allow);
    EXPECT_FALSE(check_name(*p, "example.co", 443).allow);
}

TEST(PolicyMatchTest, SubdomainsButNotTheApex) {
    auto p = policy("allow:*.example.com", true);
    EXPECT_TRUE(check_name(*p, "www.example.com", 80).allow);
    EXPECT_TRUE(check_name(*p, "a.b.Example.COM", 80).allow);
    EXPECT_FALSE(check_name(*p, "example.com", 80).allow);
    EXPECT_FALSE(check_name(*p, "badexample.com", 80).allow);
    EXPECT_FALSE(check_name(*p, ".example.com", 80).allow);
}

TEST(PolicyMatchTest, PortsAndRanges) {
    auto p = policy("allow:web.test:80,allow:*.web.test:8000-8080", true);
    EXPECT_TRUE(check_name(*p, "web.test", 80).allow);
    EXPECT_FALSE(check_name(*p, "web.test", 81).allow);
    EXPECT_TRUE(check_name(*p, "a.web.test", 8000).allow);
    EXPECT_TRUE(check_name(*p, "a.web.test", 8080).allow);
    EXPECT_FALSE(check_name(*p, "a.web.test", 8081).allow);
    EXPECT_FALSE(check_name(*p, "a.web.test", 7999).allow);
}

TEST(PolicyMatchTest, FirstMatchWins) {
    auto p = policy("deny:bad.example.com,allow:*.example.com");
    Verdict v = check_name(*p, "bad.example.com", 443);
    EXPECT_FALSE(v.allow);
    EXPECT_EQ(v.rule, 1u);
    v = check_name(*p, "good.example.com", 443);
    EXPECT_TRUE(v.allow);
    EXPECT_EQ(v.rule, 2u);
    auto q = policy("allow:*.example.com,deny:bad.example.com");
    EXPECT_TRUE(check_name(*q, "bad.example.com", 443).allow);
}

TEST(PolicyMatchTest, AddressesAgainstNetworks) {
    auto p =
        policy("deny:203.0.113.0/24,allow:198.51.100.0/24:1-1024,allow:[2001:db8::/32]:443", true);
    auto a = addr("203.0.113.10", 80);
    Verdict v = check_address(*p, sa(a));
    EXPECT_FALSE(v.allow);
    EXPECT_EQ(v.rule, 1u);
    auto b = addr("198.51.100.9", 1024);
    EXPECT_TRUE(check_address(*p, sa(b)).allow);
    auto c = addr("198.51.100.9", 1025);
    v = check_address(*p, sa(c));
    EXPECT_FALSE(v.allow);
    EXPECT_EQ(v.rule, 0u);
    auto d = addr("2001:db8:2::10", 443);
    EXPECT_TRUE(check_address(*p, sa(d)).allow);
    auto e = addr("2001:db9::1", 443);
    EXPECT_FALSE(check_address(*p, sa(e)).allow);
}

TEST(PolicyMatchTest, V4MappedAddressMatchesIpv4Network) {
    auto p = policy("allow:198.51.100.0/24", true);
    auto a = addr("::ffff:198.51.100.5", 80);
    EXPECT_TRUE(check_address(*p, sa(a)).allow);
}

TEST(PolicyMatchTest, NameRulesIgnoreAddressesAndNetworkRulesIgnoreNames) {
    auto p = policy("deny:240.0.0.0/12,allow:*", false);
    // A fake address is judged by its name: the network rule does not see it.
    Verdict v = check_name(*p, "web.socks.test", 80);
    EXPECT_TRUE(v.allow);
    EXPECT_EQ(v.rule, 2u);  // "allow:*", not the network rule
    auto q = policy("allow:web.socks.test", true);
    auto a = addr("203.0.113.10", 80);
    EXPECT_FALSE(check_address(*q, sa(a)).allow);
}

TEST(PolicyMatchTest, StarWithPort) {
    auto p = policy("deny:*:25,allow:*");
    EXPECT_FALSE(check_name(*p, "mail.test", 25).allow);
    EXPECT_TRUE(check_name(*p, "mail.test", 587).allow);
    auto a = addr("192.0.2.1", 25);
    EXPECT_FALSE(check_address(*p, sa(a)).allow);
}

// --- lookups ---------------------------------------------------------------------------

TEST(PolicyLookupTest, AllowedWhenSomePortIsAllowed) {
    auto p = policy("allow:web.socks.test:80,allow:echo.socks.test", true);
    EXPECT_TRUE(check_lookup(*p, "web.socks.test").allow);
    EXPECT_TRUE(check_lookup(*p, "echo.socks.test").allow);
    Verdict v = check_lookup(*p, "git.socks.test");
    EXPECT_FALSE(v.allow);
    EXPECT_EQ(v.rule, 0u);
}

TEST(PolicyLookupTest, PortlessDenyDecides) {
    auto p = policy("deny:*.ads.test,allow:*");
    Verdict v = check_lookup(*p, "x.ads.test");
    EXPECT_FALSE(v.allow);
    EXPECT_EQ(v.rule, 1u);
    EXPECT_TRUE(check_lookup(*p, "ads.test").allow);
}

TEST(PolicyLookupTest, DenyWithPortLeavesOtherPorts) {
    auto p = policy("deny:web.test:443");
    EXPECT_TRUE(check_lookup(*p, "web.test").allow);
    auto q = policy("deny:web.test:443", true);
    EXPECT_FALSE(check_lookup(*q, "web.test").allow);
    auto r = policy("deny:web.test:443,allow:web.test:80", true);
    Verdict v = check_lookup(*r, "web.test");
    EXPECT_TRUE(v.allow);
    EXPECT_EQ(v.rule, 2u);
}

TEST(PolicyLookupTest, NetworkRulesDoNotDecideNames) {
    auto p = policy("allow:0.0.0.0/0,allow:::/0", true);
    EXPECT_FALSE(check_lookup(*p, "web.test").allow);
}

// --- load_config -----------------------------------------------------------------------

std::map<std::string, std::string> g_env;

const char* lookup(const char* name) {
    auto it = g_env.find(name);
    return it == g_env.end() ? nullptr : it->second.c_str();
}

std::unique_ptr<Config> load(std::map<std::string, std::string> env) {
    g_env = std::move(env);
    g_env.emplace("SOCKSIFY_PROXY", "socks5h://198.51.100.1:1080");
    auto cfg = std::make_unique<Config>();
    load_config(*cfg, lookup, nullptr);
    return cfg;
}

TEST(PolicyConfigTest, FromEnvironment) {
    auto cfg = load({{"SOCKSIFY_POLICY", "allow:web.socks.test:80,deny:*"},
                     {"SOCKSIFY_DEFAULT_DENY", "yes"},
                     {"SOCKSIFY_AUDIT", "/tmp/audit.log"}});
    ASSERT_TRUE(cfg->valid) << cfg->error;
    EXPECT_EQ(cfg->policy.count, 2u);
    EXPECT_TRUE(cfg->policy.default_deny);
    EXPECT_STREQ(cfg->audit_path, "/tmp/audit.log");
}

TEST(PolicyConfigTest, DefaultsAreOpen) {
    auto cfg = load({});
    ASSERT_TRUE(cfg->valid) << cfg->error;
    EXPECT_EQ(cfg->policy.count, 0u);
    EXPECT_FALSE(cfg->policy.default_deny);
    EXPECT_STREQ(cfg->audit_path, "");
    cfg = load({{"SOCKSIFY_DEFAULT_DENY", ""}, {"SOCKSIFY_POLICY", ""}});
    EXPECT_TRUE(cfg->valid) << cfg->error;
}

TEST(PolicyConfigTest, BadValuesNameTheVariable) {
    auto cfg = load({{"SOCKSIFY_POLICY", "allow:bad rule"}});
    EXPECT_FALSE(cfg->valid);
    EXPECT_NE(std::strstr(cfg->error, "SOCKSIFY_POLICY"), nullptr) << cfg->error;
    cfg = load({{"SOCKSIFY_DEFAULT_DENY", "maybe"}});
    EXPECT_FALSE(cfg->valid);
    EXPECT_NE(std::strstr(cfg->error, "SOCKSIFY_DEFAULT_DENY"), nullptr) << cfg->error;
}

TEST(PolicyConfigTest, AuditPathKeptEvenWhenTheConfigurationIsBad) {
    g_env = {{"SOCKSIFY_AUDIT", "/tmp/a.log"}};
    auto cfg = std::make_unique<Config>();
    load_config(*cfg, lookup, nullptr);  // no SOCKSIFY_PROXY
    EXPECT_FALSE(cfg->valid);
    EXPECT_STREQ(cfg->audit_path, "/tmp/a.log");
}

}  // namespace
}  // namespace socksify::shim
