// The settings table and the stores that put each value where the library keeps it.
#include "shim/settings/settings_table.hpp"

#include <cstdio>
#include <cstring>

#include "shim/settings/policy.hpp"

namespace socksify::shim {
namespace {

const char* store_proxy(std::string_view v, Config&) {
    ProxyUrl url;
    const char* e = parse_proxy_url(v, url);
    std::memset(url.pass, 0, sizeof url.pass);
    return e;
}
const char* store_direct(std::string_view v, Config& cfg) { return parse_direct_list(v, cfg); }
const char* store_dns(std::string_view v, Config& cfg) {
    if (const char* e = parse_dns_mode(v, cfg.dns_mode)) return e;
    cfg.remote_dns = cfg.dns_mode == DnsMode::kRemote;
    return nullptr;
}
const char* store_dns_tcp(std::string_view v, Config& cfg) {
    if (const char* e = parse_dns_server(v, cfg.dns_server, cfg.dns_server_len)) return e;
    cfg.dns_tcp = true;
    return nullptr;
}
const char* store_fake_net(std::string_view v, Config& cfg) {
    return parse_fake_net4(v, cfg.fake_net4);
}
const char* store_fake_net6(std::string_view v, Config& cfg) {
    return parse_fake_net6(v, cfg.fake_net6);
}
const char* store_fake_min_age(std::string_view v, Config& cfg) {
    return parse_fake_min_age(v, cfg.fake_min_age_s);
}
const char* store_udp(std::string_view v, Config& cfg) { return parse_bool(v, cfg.udp); }
const char* store_timeout(std::string_view v, Config& cfg) {
    return parse_timeout_ms(v, cfg.timeout_ms);
}
const char* store_pipeline(std::string_view v, Config& cfg) { return parse_bool(v, cfg.pipeline); }
const char* store_strict(std::string_view v, Config& cfg) { return parse_bool(v, cfg.strict); }
const char* store_policy(std::string_view v, Config& cfg) { return parse_policy(v, cfg.policy); }
const char* store_rule(std::string_view v, Config&, bool allow) {
    Rule rule;
    return parse_rule(v, allow, rule);
}
const char* store_allow(std::string_view v, Config& cfg) { return store_rule(v, cfg, true); }
const char* store_deny(std::string_view v, Config& cfg) { return store_rule(v, cfg, false); }
const char* store_default_deny(std::string_view v, Config& cfg) {
    return parse_bool(v, cfg.policy.default_deny);
}
const char* store_audit(std::string_view v, Config& cfg) {
    if (v.empty()) return "empty path";
    if (v.size() >= sizeof cfg.audit_path) return "path too long";
    std::memcpy(cfg.audit_path, v.data(), v.size());
    cfg.audit_path[v.size()] = '\0';
    return nullptr;
}
const char* store_chain_mode(std::string_view v, Config& cfg) {
    return parse_chain_mode(v, cfg.chain_mode);
}
const char* store_log(std::string_view v, Config& cfg) { return parse_log_level(v, cfg.log_level); }
const char* check_url_list(std::string_view v, Config&) {
    for (size_t n = 0;; ++n) {
        size_t comma = v.find(',');
        std::string_view hop = v.substr(0, comma);
        if (hop.empty()) return "empty hop";
        if (n == kMaxHops) return "more than 8 hops";
        ProxyUrl url;
        const char* e = parse_proxy_url(hop, url);
        std::memset(url.pass, 0, sizeof url.pass);
        if (e != nullptr) return e;
        if (comma == std::string_view::npos) return nullptr;
        v.remove_prefix(comma + 1);
    }
}
// RULE=URL or RULE=direct; a direct route takes a network or a domain, no port.
const char* check_route(std::string_view v, Config&) {
    size_t eq = v.find('=');
    if (eq == std::string_view::npos) return "expected RULE=URL or RULE=direct";
    Rule rule;
    if (const char* e = parse_rule(v.substr(0, eq), true, rule)) return e;
    std::string_view to = v.substr(eq + 1);
    if (to == "direct") {
        if (!rule.any_port || rule.target == RuleTarget::kAny)
            return "a direct route takes a network or a domain, no port";
        return nullptr;
    }
    ProxyUrl url;
    const char* e = parse_proxy_url(to, url);
    std::memset(url.pass, 0, sizeof url.pass);
    return e;
}
const char* check_supervise(std::string_view v, Config&) {
    bool on = false;
    if (v == "auto" || parse_bool(v, on) == nullptr) return nullptr;
    return "expected auto, on or off";
}

// clang-format off
constexpr SettingRow kRows[] = {
    {Setting::kProxy, "proxy", 'x', Form::kValue, "URL", "proxy", kEnvProxy, nullptr, nullptr,
     false, Merge::kFirstWins, nullptr, nullptr, nullptr,
     "[socks5|socks5h|socks4|socks4a|http|raw]://\n"
     "[user[:password]@]host[:port]\n"
     "socks5h (also when no scheme is given) lets the proxy\n"
     "resolve names; default port 1080. Without -x: the\n"
     "proxychains.conf's, the config file's, SOCKSIFY_PROXY,\n"
     "then all_proxy or ALL_PROXY when it is a socks5(h) URL", store_proxy},
    {Setting::kDirect, "direct", 0, Form::kList, "LIST", "direct", kEnvDirect, nullptr,
     "127.0.0.0/8,::1/128", true, Merge::kFirstWins, store_direct, nullptr, nullptr,
     "also reach these directly, not through the proxy: CIDRs\n"
     "and domain suffixes, comma-separated (repeatable;\n"
     "loopback 127.0.0.0/8 and ::1/128 are direct unless\n"
     "--direct '' is given, which proxies loopback too)"},
    {Setting::kDns, "dns", 0, Form::kValue, "MODE", "dns", kEnvDns, nullptr, nullptr, false,
     Merge::kFirstWins, store_dns, nullptr, nullptr,
     "remote: names get fake addresses and go to the proxy;\n"
     "local: the local resolver; off: host name lookups fail\n"
     "(default: remote for socks5h, local for socks5)"},
    {Setting::kDnsTcp, "dns-tcp", 0, Form::kValue, "IP[:PORT]", "dns-tcp", kEnvDnsTcp, nullptr,
     nullptr, false, Merge::kFirstWins, store_dns_tcp, nullptr, nullptr,
     "carry res_* DNS queries over TCP through the proxy to\n"
     "this nameserver, port 53 by default (default: res_*\n"
     "queries are refused unless --dns is local)"},
    {Setting::kFakeNet, "fake-net", 0, Form::kValue, "CIDR", "fake-net", kEnvFakeNet, nullptr,
     kDefaultFakeNet, false, Merge::kFirstWins, store_fake_net, nullptr, nullptr,
     "IPv4 range of fake addresses, /30 or wider\n"
     "(default 240.0.0.0/12)"},
    {Setting::kFakeNet6, "fake-net6", 0, Form::kValue, "CIDR", "fake-net6", kEnvFakeNet6,
     nullptr, kDefaultFakeNet6, false, Merge::kFirstWins, store_fake_net6, nullptr, nullptr,
     "IPv6 range of fake addresses, /96 to /126\n"
     "(default fd53:4f43:4b53::/96)"},
    {Setting::kFakeMinAge, "fake-min-age", 0, Form::kValue, "MINUTES", "fake-min-age",
     kEnvFakeMinAge, nullptr, nullptr, false, Merge::kFirstWins, store_fake_min_age, nullptr,
     nullptr,
     "once every fake address is taken, give back only\n"
     "names unused this long and with no open connection\n"
     "(default 5)"},
    {Setting::kUdp, "udp", 0, Form::kValue, "on|off", "udp", kEnvUdp, nullptr, nullptr, false,
     Merge::kFirstWins, store_udp, nullptr, nullptr,
     "relay UDP through the proxy (UDP ASSOCIATE); off: UDP\n"
     "to a proxied destination fails with EACCES (default on)"},
    {Setting::kTimeout, "timeout", 0, Form::kValue, "SECONDS", "timeout", kEnvTimeout, nullptr,
     nullptr, false, Merge::kFirstWins, store_timeout, nullptr, nullptr,
     "proxy connection and handshake timeout, e.g. 10 or 0.5\n"
     "(default 10, at most 3600)"},
    {Setting::kCheck, "check", 0, Form::kAction, nullptr, nullptr, nullptr, nullptr, nullptr,
     false, Merge::kFirstWins, nullptr, nullptr, nullptr,
     "talk to the proxy and print what it supports, one line\n"
     "each (exit 0 when usable); no program is run; a proxy\n"
     "URL and a HOST:PORT to CONNECT to may follow"},
    {Setting::kPipeline, "no-pipeline", 0, Form::kFlag, nullptr, "pipeline", kEnvPipeline, "0",
     nullptr, false, Merge::kFirstWins, store_pipeline, nullptr, nullptr,
     "one SOCKS message per round trip (default: greeting,\n"
     "auth and request in one write once the proxy is known\n"
     "to keep early bytes; learned per proxy and cached)"},
    {Setting::kStrict, "strict", 0, Form::kFlag, nullptr, "strict", kEnvStrict, "1", nullptr,
     false, Merge::kAnyOn, store_strict, nullptr, nullptr,
     "nothing may leave except through the proxy: only\n"
     "loopback direct, remote DNS, raw/packet/ICMP sockets\n"
     "refused; a static, setuid or capability-carrying\n"
     "program (which the preload cannot reach) is refused"},
    {Setting::kPasswordFile, "password-file", 0, Form::kValue, "FILE", "password-file", nullptr,
     nullptr, nullptr, false, Merge::kFirstWins, nullptr, nullptr, nullptr,
     "proxy password: the first line of FILE; the password\n"
     "may also come from SOCKSIFY_PASSWORD or the URL"},
    // allow and deny share SOCKSIFY_POLICY ("allow:RULE,deny:RULE,…", in order).
    {Setting::kAllow, "allow", 0, Form::kList, "RULE", "allow", kEnvPolicy, nullptr, nullptr, true,
     Merge::kAppend, store_policy, nullptr, nullptr,
     "allow connections, datagrams and lookups matching RULE", store_allow},
    {Setting::kDeny, "deny", 0, Form::kList, "RULE", "deny", nullptr, nullptr, nullptr, false,
     Merge::kAppend, nullptr, nullptr, nullptr,
     "deny them (EACCES; a denied lookup fails with EAI_FAIL);\n"
     "both repeatable, first match wins. RULE: example.com,\n"
     "*.example.com (subdomains), a CIDR or address, '*',\n"
     "each with an optional :PORT or :LO-HI\n"
     "([2001:db8::/32]:443 for IPv6)", store_deny},
    {Setting::kDefaultDeny, "default-deny", 0, Form::kFlag, nullptr, "default-deny",
     kEnvDefaultDeny, "1", nullptr, false, Merge::kFirstWins, store_default_deny, nullptr,
     nullptr, "deny what no rule allows (default: allow)"},
    {Setting::kAudit, "audit", 0, Form::kValue, "FILE", "audit", kEnvAudit, nullptr, nullptr,
     false, Merge::kFirstWins, store_audit, nullptr, nullptr,
     "append one JSON line per connection, UDP association,\n"
     "name lookup and refusal to FILE"},
    {Setting::kAuditSummary, "audit-summary", 0, Form::kAction, "FILE", nullptr, nullptr, nullptr,
     nullptr, false, Merge::kFirstWins, nullptr, nullptr, nullptr,
     "print a table of the destinations in an audit log and\n"
     "exit"},
    {Setting::kConfig, "config", 0, Form::kValue, "FILE", nullptr, nullptr, nullptr, nullptr,
     false, Merge::kFirstWins, nullptr, nullptr, nullptr,
     "read settings from FILE (default: SOCKSIFY_CONFIG, then\n"
     "~/.config/socksify/config, then /etc/socksify.conf,\n"
     "the first that exists); options given here win"},
    {Setting::kProxychainsConf, "proxychains-conf", 0, Form::kValue, "FILE", nullptr, nullptr,
     nullptr, nullptr, false, Merge::kFirstWins, nullptr, nullptr, nullptr,
     "take the proxies, chain mode, proxy_dns, timeouts\n"
     "and localnet from a proxychains.conf"},
    {Setting::kSupervise, "supervise", 0, Form::kValue, "auto|on|off", "supervise", nullptr,
     nullptr, nullptr, false, Merge::kFirstWins, nullptr, nullptr, nullptr,
     "run the program under a seccomp supervisor\n"
     "that proxies connects the preload cannot see (Go,\n"
     "static programs, raw system calls) for its whole\n"
     "process tree; auto (default): when the program is a\n"
     "Go, static or 32-bit one", check_supervise},
    {Setting::kChain, "chain", 0, Form::kValue, "URL,URL...", "chain", kEnvChain, nullptr, nullptr,
     false, Merge::kFirstWins, parse_chain, &Config::hop_count, "hop",
     "a chain: each hop reached through the one before (so\n"
     "does -x given more than once); at most 8 hops", check_url_list},
    {Setting::kChainMode, "chain-mode", 0, Form::kValue, "strict|dynamic|random|round-robin",
     "chain-mode", kEnvChainMode, nullptr, nullptr, false, Merge::kFirstWins, store_chain_mode,
     nullptr, nullptr,
     "how a chain is used: all\n"
     "hops (default), dead hops skipped, or --chain-len hops\n"
     "drawn at random or in turn"},
    {Setting::kChainLen, "chain-len", 0, Form::kValue, "N", "chain-len", kEnvChainLen, nullptr,
     nullptr, false, Merge::kFirstWins, parse_chain_len, nullptr, nullptr,
     "hops per connection for random and round-robin"},
    {Setting::kRoute, "route", 0, Form::kList, "RULE=URL", "route", kEnvRoutes, nullptr, nullptr,
     false, Merge::kFirstWins, parse_routes, &Config::route_count, "route",
     "the upstream for destinations matching RULE (the --allow\n"
     "syntax; names judged before resolution); URL may be\n"
     "direct (joins --direct); repeatable, first match wins", check_route},
    {Setting::kLog, nullptr, 0, Form::kValue, "quiet|error|verbose", "log", kEnvLog, nullptr,
     nullptr, false, Merge::kFirstWins, store_log, nullptr, nullptr, nullptr},
    {Setting::kVerbose, "verbose", 'v', Form::kFlag, nullptr, nullptr, nullptr, "verbose", nullptr,
     false, Merge::kFirstWins, nullptr, nullptr, nullptr,
     "log one line per connection on stderr", nullptr, Setting::kLog},
    {Setting::kQuiet, "quiet", 'q', Form::kFlag, nullptr, nullptr, nullptr, "quiet", nullptr,
     false, Merge::kFirstWins, nullptr, nullptr, nullptr,
     "log nothing, not even errors (default: errors only)", nullptr, Setting::kLog},
    {Setting::kHelp, "help", 'h', Form::kAction, nullptr, nullptr, nullptr, nullptr, nullptr,
     false, Merge::kFirstWins, nullptr, nullptr, nullptr, "show this help and exit"},
    {Setting::kVersion, "version", 0, Form::kAction, nullptr, nullptr, nullptr, nullptr, nullptr,
     false, Merge::kFirstWins, nullptr, nullptr, nullptr,
     "show the version and what this build and kernel support"},
};
// clang-format on

static_assert(std::size(kRows) == static_cast<size_t>(Setting::kCount), "one row per setting");

constexpr bool rows_in_order() {
    for (size_t i = 0; i < std::size(kRows); ++i)
        if (static_cast<size_t>(kRows[i].id) != i) return false;
    return true;
}
static_assert(rows_in_order(), "rows in Setting order: setting() indexes the table");

}  // namespace

std::span<const SettingRow> settings_table() { return kRows; }

const SettingRow& setting(Setting id) { return kRows[static_cast<size_t>(id)]; }

const SettingRow* find_option(std::string_view long_name) {
    for (const SettingRow& r : kRows)
        if (r.option != nullptr && long_name == r.option) return &r;
    return nullptr;
}

const SettingRow* find_short_option(char c) {
    for (const SettingRow& r : kRows)
        if (c != 0 && r.short_name == c) return &r;
    return nullptr;
}

const SettingRow* find_file_key(std::string_view key) {
    for (const SettingRow& r : kRows)
        if (r.file_key != nullptr && key == r.file_key) return &r;
    return nullptr;
}

bool store_setting(const SettingRow& row, const char* name, std::string_view value, Config& cfg) {
    if (row.store == nullptr) return true;
    const char* e = row.store(value, cfg);
    if (e == nullptr) return true;
    if (row.item_count != nullptr) {
        std::snprintf(cfg.error, sizeof cfg.error, "bad %s value (%s %zu): %s", name, row.item_word,
                      cfg.*row.item_count + 1, e);
    } else {
        format_bad_value(cfg.error, sizeof cfg.error, name, value, e);
    }
    return false;
}

}  // namespace socksify::shim
