// Pure parsers for the SOCKSIFY_* configuration and the loader the library and the
// launcher share. No allocation, no exceptions, no locale: fixed buffers and libc only.
#include "shim/settings/config.hpp"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>

#include "shim/settings/host_text.hpp"
#include "shim/settings/settings_table.hpp"
#include "shim/settings/text.hpp"

namespace socksify::shim {
namespace {

constexpr size_t kMaxHostName = 253;  // RFC 1035 §2.3.4, without the trailing dot
constexpr size_t kMaxLabel = 63;
constexpr int kMaxTimeoutMs = 3600 * 1000;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

int hex_value(char c) {
    if (is_digit(c)) return c - '0';
    c = to_lower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// Copies s into a NUL-terminated buffer; false when it does not fit.
bool to_cstr(std::string_view s, char* out, size_t cap) {
    if (s.size() >= cap) return false;
    std::memcpy(out, s.data(), s.size());
    out[s.size()] = '\0';
    return true;
}

// Length of "scheme" when text starts with "scheme://" (RFC 3986 §3.1 characters),
// else npos. "user:pa://ss@host" has no scheme: ':' cannot appear in one.
size_t scheme_length(std::string_view text) {
    size_t sep = text.find("://");
    if (sep == std::string_view::npos || sep == 0 || !is_alpha(text[0])) {
        return std::string_view::npos;
    }
    for (size_t i = 0; i < sep; ++i) {
        char c = text[i];
        if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') {
            return std::string_view::npos;
        }
    }
    return sep;
}

// RFC 3986 §2.1 percent-decoding into a C string of at most kMaxCred bytes.
const char* decode_credential(std::string_view in, char* out, const char* too_long) {
    size_t n = 0;
    for (size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= in.size()) return "bad percent-encoding";
            int hi = hex_value(in[i + 1]);
            int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) return "bad percent-encoding";
            c = static_cast<char>(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0') return "NUL byte in credentials";
        if (n == kMaxCred) return too_long;
        out[n++] = c;
    }
    out[n] = '\0';
    return nullptr;
}

const char* parse_port(std::string_view text, uint16_t& port) {
    if (text.empty()) return "bad port";
    uint32_t v = 0;
    for (char c : text) {
        if (!is_digit(c)) return "bad port";
        v = v * 10 + static_cast<uint32_t>(c - '0');
        if (v > 65535) return "port out of range";
    }
    if (v == 0) return "port out of range";
    port = static_cast<uint16_t>(v);
    return nullptr;
}

// Letters, digits, '-', '_' (common in container service names) and '.'; labels of
// 1..63 bytes; one trailing dot allowed.
const char* check_host_name(std::string_view host) {
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);
    if (host.size() > kMaxHostName) return "host name too long";
    size_t label = 0;
    for (char c : host) {
        if (c == '.') {
            if (label == 0) return "bad host name";
            label = 0;
            continue;
        }
        if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_') return "bad host name";
        if (++label > kMaxLabel) return "bad host name";
    }
    if (label == 0) return "bad host name";
    return nullptr;
}

bool all_digits_and_dots(std::string_view s) {
    for (char c : s) {
        if (!is_digit(c) && c != '.') return false;
    }
    return true;
}

// Appends to a bounded C string; silently truncates.
struct Writer {
    char* out;
    size_t cap;
    size_t len = 0;
    bool cut = false;
    void put(std::string_view s) {
        for (char c : s) {
            if (len + 1 >= cap) {
                cut = true;
                break;
            }
            out[len++] = c;
        }
        out[len] = '\0';
    }
    bool overflowed() const { return cut; }
};

const char* parse_int_range(std::string_view text, int lo, int hi, int& out,
                            const char* range_reason) {
    if (text.empty()) return "not a number";
    long v = 0;
    for (char c : text) {
        if (!is_digit(c)) return "not a number";
        v = v * 10 + (c - '0');
        if (v > hi) return range_reason;
    }
    if (v < lo) return range_reason;
    out = static_cast<int>(v);
    return nullptr;
}

// A direct-list item is a domain suffix when it cannot be an address: it has a letter
// (or '*', '_', '-') and neither ':' nor '/'.
bool is_domain_item(std::string_view item) {
    if (item.find_first_of(":/") != std::string_view::npos) return false;
    for (char c : item) {
        if (is_alpha(c) || c == '*' || c == '_' || c == '-') return true;
    }
    return false;
}

// Stores "corp.internal", ".corp.internal" or "*.corp.internal" as ".corp.internal".
const char* add_suffix(std::string_view item, Config& cfg) {
    if (item.size() >= 2 && item[0] == '*' && item[1] == '.') {
        item.remove_prefix(2);
    } else if (!item.empty() && item[0] == '.') {
        item.remove_prefix(1);
    }
    if (!item.empty() && item.back() == '.') item.remove_suffix(1);
    if (item.empty() || check_host_name(item) != nullptr) return "bad domain suffix";
    if (item.size() + 1 > kMaxSuffixLen) return "domain suffix too long";
    if (cfg.suffix_count == kMaxSuffixes) return "too many domain suffixes";
    char* out = cfg.suffixes[cfg.suffix_count++];
    out[0] = '.';
    std::memcpy(out + 1, item.data(), item.size());
    out[item.size() + 1] = '\0';
    return nullptr;
}

void set_error(Config& cfg, const char* var, std::string_view value, const char* reason) {
    format_bad_value(cfg.error, sizeof cfg.error, var, value, reason);
}

}  // namespace

const char* parse_proxy_url(std::string_view text, ProxyUrl& out) {
    out = ProxyUrl{};
    std::string_view rest = text;
    if (size_t s = scheme_length(text); s != std::string_view::npos) {
        std::string_view scheme = head(text, s);
        if (iequals(scheme, "socks5h")) {
            out.remote_dns = true;
        } else if (iequals(scheme, "socks5")) {
            out.remote_dns = false;
        } else if (iequals(scheme, "socks4")) {
            out.kind = ProxyKind::kSocks4;
            out.remote_dns = false;
        } else if (iequals(scheme, "socks4a")) {
            out.kind = ProxyKind::kSocks4a;
        } else if (iequals(scheme, "http")) {
            out.kind = ProxyKind::kHttp;
        } else if (iequals(scheme, "raw")) {
            // Nothing local learns the name either: the forwarder decides.
            out.kind = ProxyKind::kRaw;
        } else if (iequals(scheme, "https")) {
            // TLS to the proxy would need a TLS library inside a libc-only shim.
            return "https proxies are not supported (no TLS); use http://";
        } else {
            return "unsupported scheme";
        }
        rest = tail(text, s + 3);
    }

    // The last '@' ends the user info, so an unencoded '@' or '/' in a password still
    // parses; redact_url() splits the same way and so always hides what we took.
    if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
        std::string_view info = head(rest, at);
        rest = tail(rest, at + 1);
        size_t colon = info.find(':');
        std::string_view user = head(info, colon);
        if (user.empty()) return "missing user name";
        // Nothing is said to a forwarder, so credentials would silently go nowhere.
        if (out.kind == ProxyKind::kRaw) return "raw forwarders take no user name";
        if (const char* e = decode_credential(user, out.user, "user name too long")) return e;
        out.has_user = true;
        if (colon != std::string_view::npos) {
            const char* e = decode_credential(tail(info, colon + 1), out.pass, "password too long");
            if (e) return e;
            out.has_pass = true;
        }
    }

    if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
        if (slash + 1 != rest.size()) return "unexpected path";
        rest.remove_suffix(1);
    }
    if (rest.empty()) return "missing host";

    std::string_view host;
    std::string_view port;
    bool has_port = false;
    if (rest.front() == '[') {
        size_t close = rest.find(']');
        if (close == std::string_view::npos) return "missing ']'";
        host = head(tail(rest, 1), close - 1);
        if (host.empty()) return "missing host";
        in6_addr a6;
        if (!to_cstr(host, out.host, sizeof out.host) || inet_pton(AF_INET6, out.host, &a6) != 1) {
            return "bad IPv6 address";
        }
        std::string_view after = tail(rest, close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return "unexpected text after ']'";
            port = tail(after, 1);
            has_port = true;
        }
    } else {
        size_t colon = rest.find(':');
        if (colon != std::string_view::npos &&
            rest.find(':', colon + 1) != std::string_view::npos) {
            return "IPv6 address needs brackets";
        }
        host = head(rest, colon);
        if (colon != std::string_view::npos) {
            port = tail(rest, colon + 1);
            has_port = true;
        }
        if (host.empty()) return "missing host";
        if (all_digits_and_dots(host)) {
            // getaddrinfo would accept inet_aton forms ("1.2.3" = 1.2.0.3); refuse them.
            in_addr a4;
            if (!to_cstr(host, out.host, sizeof out.host) ||
                inet_pton(AF_INET, out.host, &a4) != 1) {
                return "bad IPv4 address";
            }
        } else {
            if (const char* e = check_host_name(host)) return e;
            to_cstr(host, out.host, sizeof out.host);
        }
    }
    if (has_port) {
        if (const char* e = parse_port(port, out.port)) return e;
    }
    return nullptr;
}

const char* proxy_scheme(ProxyKind kind, bool remote_dns) {
    switch (kind) {
        case ProxyKind::kSocks4: return "socks4";
        case ProxyKind::kSocks4a: return "socks4a";
        case ProxyKind::kHttp: return "http";
        case ProxyKind::kRaw: return "raw";
        case ProxyKind::kSocks5: break;
    }
    return remote_dns ? "socks5h" : "socks5";
}

const char* parse_timeout_ms(std::string_view text, int& ms) {
    size_t dot = text.find('.');
    std::string_view whole = head(text, dot);
    std::string_view frac =
        dot == std::string_view::npos ? std::string_view{} : tail(text, dot + 1);
    if (whole.empty() && frac.empty()) return "not a number";
    long total = 0;
    for (char c : whole) {
        if (!is_digit(c)) return "not a number";
        total = total * 10 + (c - '0');
        if (total > kMaxTimeoutMs) return "must be at most 3600 seconds";
    }
    total *= 1000;
    long scale = 100;
    bool remainder = false;
    for (char c : frac) {
        if (!is_digit(c)) return "not a number";
        if (scale > 0) {
            total += (c - '0') * scale;
            scale /= 10;
        } else if (c != '0') {
            remainder = true;  // below a millisecond: round up so it stays > 0
        }
    }
    if (remainder) ++total;
    if (total <= 0) return "must be greater than 0";
    if (total > kMaxTimeoutMs) return "must be at most 3600 seconds";
    ms = static_cast<int>(total);
    return nullptr;
}

const char* parse_log_level(std::string_view text, LogLevel& out) {
    if (iequals(text, "quiet")) {
        out = LogLevel::kQuiet;
    } else if (iequals(text, "error")) {
        out = LogLevel::kError;
    } else if (iequals(text, "verbose")) {
        out = LogLevel::kVerbose;
    } else {
        return "expected quiet, error or verbose";
    }
    return nullptr;
}

const char* parse_bool(std::string_view text, bool& out) {
    for (const char* t : {"1", "on", "yes", "true"}) {
        if (iequals(text, t)) {
            out = true;
            return nullptr;
        }
    }
    for (const char* f : {"0", "off", "no", "false"}) {
        if (iequals(text, f)) {
            out = false;
            return nullptr;
        }
    }
    return "expected 1/0, on/off, yes/no or true/false";
}

const char* parse_dns_mode(std::string_view text, DnsMode& out) {
    if (iequals(text, "remote")) {
        out = DnsMode::kRemote;
    } else if (iequals(text, "local")) {
        out = DnsMode::kLocal;
    } else if (iequals(text, "off")) {
        out = DnsMode::kOff;
    } else {
        return "expected remote, local or off";
    }
    return nullptr;
}

const char* parse_fake_net4(std::string_view text, Cidr& out) {
    if (const char* e = parse_cidr(text, out)) return e;
    if (out.family != AF_INET) return "not an IPv4 range";
    if (out.prefix > 30) return "range too small (at most /30)";
    return nullptr;
}

const char* parse_fake_net6(std::string_view text, Cidr& out) {
    if (const char* e = parse_cidr(text, out)) return e;
    if (out.family != AF_INET6) return "not an IPv6 range";
    if (out.prefix < 96 || out.prefix > 126) return "prefix must be /96 to /126";
    return nullptr;
}

const char* parse_fake_min_age(std::string_view text, uint32_t& seconds) {
    if (text.empty()) return "not a number";
    uint32_t minutes = 0;
    for (char c : text) {
        if (!is_digit(c)) return "not a whole number of minutes";
        minutes = minutes * 10 + static_cast<uint32_t>(c - '0');
        if (minutes > 10080) return "must be at most 10080 minutes (a week)";
    }
    seconds = minutes * 60;
    return nullptr;
}

const char* parse_dns_server(std::string_view text, sockaddr_storage& out, socklen_t& len) {
    HostPort hp;
    if (const char* e = split_host_port(text, hp)) return e;
    std::string_view host = hp.host;
    if (host.empty()) return "missing address";
    uint16_t port = 53;
    if (hp.has_port) {
        if (const char* e = parse_port(hp.port, port)) return e;
    }
    char buf[INET6_ADDRSTRLEN];
    out = sockaddr_storage{};
    if (!to_cstr(host, buf, sizeof buf)) return "bad address";
    auto* s4 = reinterpret_cast<sockaddr_in*>(&out);
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&out);
    if (!hp.bracketed && inet_pton(AF_INET, buf, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        len = sizeof(sockaddr_in);
    } else if (inet_pton(AF_INET6, buf, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        len = sizeof(sockaddr_in6);
    } else {
        return "bad address";
    }
    return nullptr;
}

const char* parse_direct_list(std::string_view text, Config& cfg) {
    cfg.direct_count = 0;
    cfg.suffix_count = 0;
    if (text.empty()) return nullptr;
    for (;;) {
        size_t comma = text.find(',');
        std::string_view item = trim(head(text, comma));
        if (item.empty()) return "empty item";
        if (const char* e = unusual_address(item)) return e;  // never a suffix
        if (is_domain_item(item)) {
            if (const char* e = add_suffix(item, cfg)) return e;
        } else {
            if (cfg.direct_count == cfg.direct.size()) return "too many entries";
            if (const char* e = parse_cidr(item, cfg.direct[cfg.direct_count])) return e;
            ++cfg.direct_count;
        }
        if (comma == std::string_view::npos) return nullptr;
        text = tail(text, comma + 1);
    }
}

void redact_url(std::string_view text, char* out, size_t cap) {
    if (cap == 0) return;
    Writer w{out, cap};
    out[0] = '\0';
    size_t s = scheme_length(text);
    size_t start = s == std::string_view::npos ? 0 : s + 3;
    std::string_view rest = tail(text, start);
    size_t at = rest.rfind('@');
    size_t colon = at == std::string_view::npos ? at : head(rest, at).find(':');
    if (colon == std::string_view::npos) {
        w.put(text);
        return;
    }
    w.put(head(text, start + colon + 1));
    w.put("***");
    w.put(tail(rest, at));
}

void format_bad_value(char* out, size_t cap, const char* what, std::string_view value,
                      const char* reason) {
    if (cap == 0) return;
    // The reason must survive: shorten the value instead, and keep it one line.
    size_t fixed = std::strlen("bad  value '': ") + std::strlen(what) + std::strlen(reason);
    size_t room = cap > fixed + 1 ? cap - fixed - 1 : 0;
    char shown[256];
    size_t n = 0;
    bool cut = value.size() > room || value.size() >= sizeof shown;
    size_t keep = value.size();
    if (cut) {
        size_t lim = room < sizeof shown ? room : sizeof shown - 1;
        keep = lim > 3 ? lim - 3 : 0;
    }
    for (size_t i = 0; i < keep; ++i) {
        auto c = static_cast<unsigned char>(value[i]);
        shown[n++] = (c < 0x20 || c == 0x7F) ? '?' : static_cast<char>(c);
    }
    if (cut) {
        for (int i = 0; i < 3 && n + 1 < sizeof shown; ++i) shown[n++] = '.';
    }
    shown[n] = '\0';
    std::snprintf(out, cap, "bad %s value '%s': %s", what, shown, reason);
}

const char* numeric_address(const char* host, uint16_t port, sockaddr_storage& out, socklen_t& len,
                            char* text_out, size_t text_cap) {
    out = sockaddr_storage{};
    char text[INET6_ADDRSTRLEN];
    sockaddr_in s4{};
    if (inet_pton(AF_INET, host, &s4.sin_addr) == 1) {
        s4.sin_family = AF_INET;
        s4.sin_port = htons(port);
        std::memcpy(&out, &s4, sizeof s4);
        len = sizeof s4;
        inet_ntop(AF_INET, &s4.sin_addr, text, sizeof text);
        std::snprintf(text_out, text_cap, "%s:%u", text, unsigned{port});
        return nullptr;
    }
    sockaddr_in6 s6{};
    if (inet_pton(AF_INET6, host, &s6.sin6_addr) == 1) {
        s6.sin6_family = AF_INET6;
        s6.sin6_port = htons(port);
        std::memcpy(&out, &s6, sizeof s6);
        len = sizeof s6;
        inet_ntop(AF_INET6, &s6.sin6_addr, text, sizeof text);
        std::snprintf(text_out, text_cap, "[%s]:%u", text, unsigned{port});
        return nullptr;
    }
    return "not a numeric address";
}

const char* set_numeric_proxy(const char* host, uint16_t port, Config& cfg) {
    return numeric_address(host, port, cfg.proxy, cfg.proxy_len, cfg.proxy_text,
                           sizeof cfg.proxy_text);
}

namespace {

bool is_loopback_cidr(const Cidr& c) {
    static constexpr uint8_t kV6Loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (c.family == AF_INET) return c.prefix >= 8 && c.addr[0] == 127;
    return c.family == AF_INET6 && c.prefix == 128 &&
           std::memcmp(c.addr.data(), kV6Loopback, 16) == 0;
}

}  // namespace

const char* strict_violation(const Config& cfg) {
    for (size_t i = 0; i < cfg.direct_count; ++i)
        if (!is_loopback_cidr(cfg.direct[i]))
            return "strict mode: a direct network other than loopback would bypass the proxy";
    if (cfg.suffix_count > 0)
        return "strict mode: a direct domain suffix would be resolved and reached locally";
    if (cfg.dns_mode == DnsMode::kLocal)
        return "strict mode: local DNS would leave unproxied (use socks5h:// or --dns remote)";
    return nullptr;
}

const char* parse_chain_mode(std::string_view text, ChainMode& out) {
    if (iequals(text, "strict"))
        out = ChainMode::kStrict;
    else if (iequals(text, "dynamic"))
        out = ChainMode::kDynamic;
    else if (iequals(text, "random"))
        out = ChainMode::kRandom;
    else if (iequals(text, "round-robin"))
        out = ChainMode::kRoundRobin;
    else
        return "expected strict, dynamic, random or round-robin";
    return nullptr;
}

const char* chain_mode_name(ChainMode mode) {
    switch (mode) {
        case ChainMode::kDynamic: return "dynamic";
        case ChainMode::kRandom: return "random";
        case ChainMode::kRoundRobin: return "round-robin";
        case ChainMode::kStrict: break;
    }
    return "strict";
}

namespace {

// One SOCKSIFY_CHAIN hop: a URL with a numeric host and its own credentials.
const char* parse_hop(std::string_view text, HopSpec& hop) {
    ProxyUrl url;
    if (const char* e = parse_proxy_url(text, url)) return e;
    if (numeric_address(url.host, url.port, hop.addr, hop.addr_len, hop.text, sizeof hop.text))
        return "hosts must be numeric (the launcher resolves them)";
    hop.kind = url.kind;
    bool socks4 = url.kind == ProxyKind::kSocks4 || url.kind == ProxyKind::kSocks4a;
    if (url.has_user) {
        if (!url.has_pass && !socks4) return "password missing for user";
        hop.has_auth = true;
        hop.user_len = static_cast<uint8_t>(std::strlen(url.user));
        hop.pass_len = static_cast<uint8_t>(std::strlen(url.pass));
        std::memcpy(hop.user, url.user, sizeof hop.user);
        std::memcpy(hop.pass, url.pass, sizeof hop.pass);
    }
    std::memset(url.pass, 0, sizeof url.pass);
    return nullptr;
}

}  // namespace

const char* parse_chain(std::string_view text, Config& cfg) {
    cfg.hop_count = 0;
    for (;;) {
        size_t comma = text.find(',');
        std::string_view item = trim(head(text, comma));
        if (item.empty()) return "empty hop";
        if (cfg.hop_count == kMaxHops) return "more than 8 hops";
        if (const char* e = parse_hop(item, cfg.hops[cfg.hop_count])) return e;
        ++cfg.hop_count;
        if (comma == std::string_view::npos) return nullptr;
        text = tail(text, comma + 1);
    }
}

// SOCKSIFY_ROUTES: space-separated RULE=URL (neither holds a space).
const char* parse_routes(std::string_view text, Config& cfg) {
    cfg.route_count = 0;
    while (!text.empty()) {
        size_t space = text.find(' ');
        std::string_view item = head(text, space);
        text = space == std::string_view::npos ? std::string_view() : tail(text, space + 1);
        if (item.empty()) continue;
        size_t eq = item.find('=');
        if (eq == std::string_view::npos) return "expected RULE=URL";
        if (cfg.route_count == kMaxRoutes) return "more than 16 routes";
        RouteSpec& r = cfg.routes[cfg.route_count];
        if (const char* e = parse_rule(head(item, eq), true, r.rule)) return e;
        if (const char* e = parse_hop(tail(item, eq + 1), r.hop)) return e;
        ++cfg.route_count;
    }
    return nullptr;
}

const char* parse_chain_len(std::string_view text, Config& cfg) {
    int len = 0;
    if (const char* e = parse_int_range(text, 1, static_cast<int>(kMaxHops), len, "must be 1..8"))
        return e;
    cfg.chain_len = static_cast<size_t>(len);
    return nullptr;
}

bool format_proxy_url(const ProxyUrl& url, bool with_password, char* out, size_t cap) {
    if (cap == 0) return false;
    Writer w{out, cap};
    out[0] = '\0';
    auto encoded = [&w](const char* s) {
        static constexpr char kHex[] = "0123456789ABCDEF";
        for (; *s != '\0'; ++s) {
            auto c = static_cast<unsigned char>(*s);
            bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
            if (plain) {
                w.put(std::string_view(s, 1));
            } else {
                char pct[3] = {'%', kHex[c >> 4], kHex[c & 15]};
                w.put(std::string_view(pct, 3));
            }
        }
    };
    w.put(proxy_scheme(url.kind, url.remote_dns));
    w.put("://");
    if (url.has_user) {
        encoded(url.user);
        if (with_password && url.has_pass) {
            w.put(":");
            encoded(url.pass);
        }
        w.put("@");
    }
    bool v6 = std::strchr(url.host, ':') != nullptr;
    if (v6) w.put("[");
    w.put(url.host);
    if (v6) w.put("]");
    char port[8];
    std::snprintf(port, sizeof port, ":%u", unsigned{url.port});
    w.put(port);
    return !w.overflowed();
}

namespace {

// SOCKSIFY_PROXY and its credentials (SOCKSIFY_PASSWORD beats the URL's password):
// nullptr, or cfg.error holding the whole error line.
const char* load_proxy(Config& cfg, EnvLookup env, ProxyUrl& url) {
    const char* proxy = env(kEnvProxy);
    if (proxy == nullptr) {
        std::snprintf(cfg.error, sizeof cfg.error, "%s is not set", kEnvProxy);
        return cfg.error;
    }
    char redacted[256];
    redact_url(proxy, redacted, sizeof redacted);
    if (const char* e = parse_proxy_url(proxy, url)) {
        set_error(cfg, kEnvProxy, redacted, e);
        return cfg.error;
    }
    cfg.proxy_kind = url.kind;
    cfg.dns_mode = url.remote_dns ? DnsMode::kRemote : DnsMode::kLocal;
    cfg.remote_dns = url.remote_dns;

    const char* password = env(kEnvPassword);
    bool env_pass = password != nullptr && password[0] != '\0';
    if (env_pass && !url.has_user) {
        std::snprintf(cfg.error, sizeof cfg.error, "%s is set but %s has no user name",
                      kEnvPassword, kEnvProxy);
        return cfg.error;
    }
    bool socks4 = url.kind == ProxyKind::kSocks4 || url.kind == ProxyKind::kSocks4a;
    if (url.has_user && socks4 && !env_pass && !url.has_pass) {
        // SOCKS4's USERID is a name alone.
        cfg.has_auth = true;
        cfg.user_len = static_cast<uint8_t>(std::strlen(url.user));
        std::memcpy(cfg.user, url.user, cfg.user_len + 1u);
    } else if (url.has_user) {
        const char* pass = env_pass ? password : url.pass;
        size_t plen = std::strlen(pass);
        if (plen > kMaxCred) {
            std::snprintf(cfg.error, sizeof cfg.error, "%s is longer than %zu bytes", kEnvPassword,
                          kMaxCred);
            return cfg.error;
        }
        if (plen == 0) {  // RFC 1929 §2: PLEN is 1..255
            set_error(cfg, kEnvProxy, redacted, "password missing for user");
            return cfg.error;
        }
        std::memcpy(cfg.pass, pass, plen + 1);
        cfg.has_auth = true;
        cfg.user_len = static_cast<uint8_t>(std::strlen(url.user));
        std::memcpy(cfg.user, url.user, cfg.user_len + 1u);
        cfg.pass_len = static_cast<uint8_t>(plen);
    }
    std::memset(url.pass, 0, sizeof url.pass);
    return nullptr;
}

}  // namespace

void load_config(Config& cfg, EnvLookup env, Resolver resolve) {
    cfg = Config{};
    auto fail = [&cfg] {
        std::memset(cfg.pass, 0, sizeof cfg.pass);
        cfg.pass_len = 0;
        for (HopSpec& h : cfg.hops) std::memset(h.pass, 0, sizeof h.pass);
        for (RouteSpec& r : cfg.routes) std::memset(r.hop.pass, 0, sizeof r.hop.pass);
        cfg.valid = false;
    };
    // What env holds for row: an empty scalar counts as unset (`SOCKSIFY_LOG= prog`
    // restores the default); unset takes the row's fallback.
    auto value_of = [&env](const SettingRow& row) -> const char* {
        const char* v = env(row.env);
        if (v != nullptr && v[0] == '\0' && !row.empty_is_value) v = nullptr;
        return v != nullptr ? v : row.fallback;
    };
    auto load = [&](const SettingRow& row) {
        const char* v = value_of(row);
        return v == nullptr || store_setting(row, row.env, v, cfg);
    };

    // The audit log first, so that the refusals of a bad configuration are recorded too.
    if (!load(setting(Setting::kAudit))) return fail();

    // The proxy, with its credentials; the scheme picks the resolver (socks5h: the
    // proxy's), which SOCKSIFY_DNS may override below.
    ProxyUrl url;
    if (load_proxy(cfg, env, url) != nullptr) {
        std::memset(url.pass, 0, sizeof url.pass);
        return fail();
    }

    // Every other setting the library reads, in the table's order.
    for (const SettingRow& row : settings_table()) {
        if (row.env == nullptr || row.id == Setting::kAudit || row.id == Setting::kProxy) continue;
        if (!load(row)) return fail();
    }
    if (cfg.hop_count == 1) cfg.hop_count = 0;  // one hop is the proxy alone
    if (cfg.hop_count > 0 && cfg.chain_len > cfg.hop_count) cfg.chain_len = cfg.hop_count;
    // The launcher's own contract: set under --strict, never by a user.
    if (const char* v = env(kEnvSupervised); v != nullptr && v[0] != '\0') {
        if (const char* e = parse_bool(v, cfg.supervised)) {
            format_bad_value(cfg.error, sizeof cfg.error, kEnvSupervised, v, e);
            return fail();
        }
    }
    if (cfg.strict) {
        if (const char* e = strict_violation(cfg)) {
            std::snprintf(cfg.error, sizeof cfg.error, "%s", e);
            return fail();
        }
    }

    // Resolution last: no DNS traffic for a configuration that is wrong anyway.
    if (set_numeric_proxy(url.host, url.port, cfg) != nullptr) {
        const char* e = resolve != nullptr ? resolve(url.host, url.port, cfg)
                                           : "host name not resolved by the launcher";
        if (e != nullptr) {
            std::snprintf(cfg.error, sizeof cfg.error, "cannot resolve proxy host '%.120s': %.40s",
                          url.host, e);
            return fail();
        }
    }
    cfg.valid = true;
}

}  // namespace socksify::shim
