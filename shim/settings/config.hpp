// The configuration the launcher validates and the library reads once at start-up,
// and the pure parsers both share. No allocation: fixed buffers only.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "shim/settings/cidr.hpp"
#include "shim/settings/policy.hpp"

namespace socksify::shim {

// Environment contract between the launcher and libsocksify.so. The launcher sets
// these; a library preloaded by hand reads the same ones.
inline constexpr const char* kEnvProxy = "SOCKSIFY_PROXY";        // URL, curl syntax
inline constexpr const char* kEnvPassword = "SOCKSIFY_PASSWORD";  // overrides URL's
inline constexpr const char* kEnvDirect = "SOCKSIFY_DIRECT";      // CIDR list; unset = loopback
inline constexpr const char* kEnvTimeout = "SOCKSIFY_TIMEOUT";    // seconds, e.g. "10", "0.5"
inline constexpr const char* kEnvPipeline = "SOCKSIFY_PIPELINE";  // "1" (default) or "0"
inline constexpr const char* kEnvLog = "SOCKSIFY_LOG";            // quiet|error|verbose
inline constexpr const char* kEnvShm = "SOCKSIFY_SHM";            // shared state path

inline constexpr uint16_t kDefaultPort = 1080;
inline constexpr int kDefaultTimeoutMs = 10000;
inline constexpr size_t kMaxDirect = 64;
inline constexpr size_t kMaxCred = 255;  // RFC 1929 field limit

enum class LogLevel : uint8_t { kQuiet, kError, kVerbose };

// remote: names get fake addresses and reach the proxy as DOMAINNAME (socks5h);
// local: the real resolver (socks5); off: every non-numeric lookup fails.
enum class DnsMode : uint8_t { kRemote, kLocal, kOff };

inline constexpr const char* kEnvDns = "SOCKSIFY_DNS";             // remote|local|off
inline constexpr const char* kEnvFakeNet = "SOCKSIFY_FAKE_NET";    // IPv4 CIDR
inline constexpr const char* kEnvFakeNet6 = "SOCKSIFY_FAKE_NET6";  // IPv6 CIDR
// 240.0.0.0/12 (reserved "class E"): never a real destination, never routed, yet
// Linux and its programs take it as ordinary unicast (unlike 224/4, multicast); and
// 1,048,574 names at once. 100.64/10 (carrier-grade NAT, tailnets) and the private
// ranges hold real hosts.
inline constexpr const char* kDefaultFakeNet = "240.0.0.0/12";
inline constexpr const char* kDefaultFakeNet6 = "fd53:4f43:4b53::/96";  // "SOCKS"
// Minutes a fake name must go unused before its address may be given to another name
// once the range is full (programs cache answers: Java 30 s, browsers about a minute).
inline constexpr const char* kEnvFakeMinAge = "SOCKSIFY_FAKE_MIN_AGE";
inline constexpr uint32_t kDefaultFakeMinAgeMin = 5;
inline constexpr const char* kEnvStrict = "SOCKSIFY_STRICT";  // 1: nothing leaves unproxied
// 1 (set by the launcher under --strict): the seccomp supervisor makes every connect and
// addressed send; the library passes them to the kernel instead of speaking to the proxy.
// Part of the launcher's contract with the library, not a setting a user gives.
inline constexpr const char* kEnvSupervised = "SOCKSIFY_SUPERVISED";
inline constexpr const char* kEnvUdp = "SOCKSIFY_UDP";         // on (default) | off, as parse_bool
inline constexpr const char* kEnvDnsTcp = "SOCKSIFY_DNS_TCP";  // res_* over TCP: IP[:port]
inline constexpr const char* kEnvPolicy = "SOCKSIFY_POLICY";   // allow:RULE,deny:RULE,…
inline constexpr const char* kEnvDefaultDeny = "SOCKSIFY_DEFAULT_DENY";  // as parse_bool
inline constexpr const char* kEnvAudit = "SOCKSIFY_AUDIT";               // audit log path
inline constexpr const char* kEnvConfig = "SOCKSIFY_CONFIG";             // launcher: config file
inline constexpr const char* kEnvChain = "SOCKSIFY_CHAIN";               // url,url,…: the hops
inline constexpr const char* kEnvChainMode =
    "SOCKSIFY_CHAIN_MODE";  // strict|dynamic|random|round-robin
inline constexpr const char* kEnvChainLen = "SOCKSIFY_CHAIN_LEN";  // random/round-robin
inline constexpr size_t kMaxHops = 8;
// "RULE=URL RULE=URL …": the first route whose rule (--allow syntax) matches the
// destination picks its upstream; unmatched destinations take the proxy or chain.
inline constexpr const char* kEnvRoutes = "SOCKSIFY_ROUTES";
inline constexpr size_t kMaxRoutes = 16;
inline constexpr size_t kMaxAuditPath = 4096;  // PATH_MAX
inline constexpr size_t kMaxSuffixes = 32;
inline constexpr size_t kMaxSuffixLen = 127;

// What an upstream speaks (shim/proxy/upstream.hpp drives each one).
// kRaw: a plain TCP forwarder (proxychains' "raw" type): nothing is said to it, so
// whatever it forwards to is reached; the destination asked for is not sent anywhere.
enum class ProxyKind : uint8_t { kSocks5, kSocks4, kSocks4a, kHttp, kRaw };

// A proxy URL as written by the user:
// [socks5|socks5h|socks4|socks4a|http|raw]://[user[:pass]@]host[:port].
// A missing scheme means socks5h. host is numeric or a name, without brackets.
// socks4 sends addresses only, so it implies local DNS like socks5; socks4a and http
// carry names, like socks5h. The default port is 1080 for every kind, as curl's.
// socks4/socks4a send the user name as USERID and need no password.
struct ProxyUrl {
    ProxyKind kind = ProxyKind::kSocks5;
    bool remote_dns = true;  // socks5h, socks4a, http
    char host[256] = {};
    uint16_t port = kDefaultPort;
    bool has_user = false;
    bool has_pass = false;
    char user[kMaxCred + 1] = {};
    char pass[kMaxCred + 1] = {};
};

// Parsers: return nullptr on success, else a static one-phrase reason
// ("missing host", "port out of range", …) that the caller prints next to the value.
const char* parse_proxy_url(std::string_view text, ProxyUrl& out);
const char* parse_timeout_ms(std::string_view text, int& ms);  // seconds, >0, ≤ 3600
const char* parse_log_level(std::string_view text, LogLevel& out);
const char* parse_bool(std::string_view text, bool& out);  // 1/0, on/off, yes/no, true/false

const char* parse_dns_mode(std::string_view text, DnsMode& out);  // remote|local|off
// Fake address ranges (SOCKSIFY_FAKE_NET, --fake-net; SOCKSIFY_FAKE_NET6, --fake-net6):
// an IPv4 CIDR of /30 or wider; an IPv6 CIDR of /96 to /126 (names.cpp numbers fake
// hosts in the low 32 bits).
const char* parse_fake_net4(std::string_view text, Cidr& out);
const char* parse_fake_net6(std::string_view text, Cidr& out);
// Whole minutes, 0 to 10080 (a week); seconds receives them as seconds.
const char* parse_fake_min_age(std::string_view text, uint32_t& seconds);
// "IP", "IP:port", "[v6]:port" or a bare IPv6 address; port 53 by default.
const char* parse_dns_server(std::string_view text, sockaddr_storage& out, socklen_t& len);

// The scheme the library is given back for kind and remote_dns ("socks5h", …).
const char* proxy_scheme(ProxyKind kind, bool remote_dns);

// The URL back as text, the inverse of parse_proxy_url: the scheme always written,
// credentials percent-encoded (the password only when with_password), an IPv6 host
// in brackets, the port always written. False when it does not fit in cap.
bool format_proxy_url(const ProxyUrl& url, bool with_password, char* out, size_t cap);

// Writes the URL with the password replaced by "***" (for error lines and logs).
void redact_url(std::string_view text, char* out, size_t cap);

// Writes "bad <what> value '<value>': <reason>", one line: control bytes in value become
// '?' and a long value is shortened ("...") so the reason always fits. Pass URLs redacted.
void format_bad_value(char* out, size_t cap, const char* what, std::string_view value,
                      const char* reason);

// One hop of a chain (SOCKSIFY_CHAIN): numeric, as the launcher resolved it.
struct HopSpec {
    ProxyKind kind = ProxyKind::kSocks5;
    sockaddr_storage addr{};
    socklen_t addr_len = 0;
    char text[64] = {};  // "198.51.100.1:1080"
    bool has_auth = false;
    uint8_t user_len = 0;
    uint8_t pass_len = 0;
    char user[kMaxCred + 1] = {};
    char pass[kMaxCred + 1] = {};
};

struct RouteSpec {
    Rule rule{};
    HopSpec hop{};
};

// As proxychains: strict (every hop, in order), dynamic (in order, dead hops skipped),
// random (chain_len hops drawn from the list), round-robin (chain_len hops, the start
// moving one on per connection).
enum class ChainMode : uint8_t { kStrict, kDynamic, kRandom, kRoundRobin };
const char* parse_chain_mode(std::string_view text, ChainMode& out);
const char* chain_mode_name(ChainMode mode);

struct Config {
    bool valid = false;
    char error[200] = {};  // why not valid, one line, no password

    sockaddr_storage proxy{};  // numeric, resolved once
    socklen_t proxy_len = 0;
    char proxy_text[64] = {};  // "127.0.0.1:1080" / "[::1]:1080" for logs
    bool remote_dns = true;
    ProxyKind proxy_kind = ProxyKind::kSocks5;

    bool has_auth = false;
    uint8_t user_len = 0;
    uint8_t pass_len = 0;
    char user[kMaxCred + 1] = {};
    char pass[kMaxCred + 1] = {};

    std::array<Cidr, kMaxDirect> direct{};
    size_t direct_count = 0;

    DnsMode dns_mode = DnsMode::kRemote;
    Cidr fake_net4{};  // filled by load_config from kEnvFakeNet or the default
    Cidr fake_net6{};
    uint32_t fake_min_age_s = kDefaultFakeMinAgeMin * 60;
    // Domain suffixes of the direct list (".corp.internal"): resolved locally and
    // connected directly.
    size_t suffix_count = 0;
    char suffixes[kMaxSuffixes][kMaxSuffixLen + 1] = {};

    // res_query and friends: refused unless a nameserver is set to carry them over
    // TCP through the proxy.
    bool dns_tcp = false;
    sockaddr_storage dns_server{};
    socklen_t dns_server_len = 0;

    bool udp = true;  // false: UDP to proxied destinations fails with EACCES
    // Strict mode: only loopback may be direct, names go to the proxy, and sockets
    // that could reach the network around the proxy (raw, packet, ICMP, …) are refused.
    bool strict = false;
    // The run's supervisor makes the connections (kEnvSupervised): the library only
    // passes them on. Clearing it gains the job nothing: the supervisor refuses the
    // library's own connections to the proxy then.
    bool supervised = false;

    // Allow/deny rules and the default, checked before the proxy is contacted.
    Policy policy{};
    // Audit log (SOCKSIFY_AUDIT): read first, so that even a bad configuration's
    // refusals are recorded; empty when there is none.
    char audit_path[kMaxAuditPath] = {};

    // A chain of two or more hops (SOCKSIFY_CHAIN); hop_count 0: the proxy alone.
    size_t hop_count = 0;
    HopSpec hops[kMaxHops];
    ChainMode chain_mode = ChainMode::kStrict;
    size_t chain_len = 1;
    size_t route_count = 0;
    RouteSpec routes[kMaxRoutes];

    int timeout_ms = kDefaultTimeoutMs;
    bool pipeline = true;
    LogLevel log_level = LogLevel::kError;
};

// Fills cfg from a getenv-like lookup. Never fails hard: on a bad value cfg.valid is
// false and cfg.error says which variable and why. A proxy host name is resolved
// with resolve(host, port, cfg) which returns nullptr or a reason.
using EnvLookup = const char* (*)(const char* name);
using Resolver = const char* (*)(const char* host, uint16_t port, Config& cfg);
void load_config(Config& cfg, EnvLookup env, Resolver resolve);

// The direct list (SOCKSIFY_DIRECT, --direct): comma-separated CIDRs and domain
// suffixes ("corp.internal", ".corp.internal", "*.corp.internal" all mean the name and
// its subdomains). Fills cfg.direct and cfg.suffixes; "" is an empty list.
const char* parse_direct_list(std::string_view text, Config& cfg);

// SOCKSIFY_CHAIN ("url,url,…", numeric hosts) into cfg.hops; on error cfg.hop_count
// is the failing hop's index.
const char* parse_chain(std::string_view text, Config& cfg);
// SOCKSIFY_ROUTES ("RULE=URL RULE=URL …", numeric hosts); on error cfg.route_count is
// the failing route's index.
const char* parse_routes(std::string_view text, Config& cfg);
// Hops per connection for random and round-robin chains: 1..8.
const char* parse_chain_len(std::string_view text, Config& cfg);

// Why cfg cannot run in strict mode (direct networks other than loopback, direct
// domain suffixes, local DNS), or nullptr.
const char* strict_violation(const Config& cfg);

// A numeric host and port as a sockaddr and its "a.b.c.d:p"/"[v6]:p" text; nullptr on
// success, else a reason.
const char* numeric_address(const char* host, uint16_t port, sockaddr_storage& out, socklen_t& len,
                            char* text, size_t text_cap);

// Sets cfg.proxy from a numeric host; nullptr on success, else a reason.
const char* set_numeric_proxy(const char* host, uint16_t port, Config& cfg);

}  // namespace socksify::shim
