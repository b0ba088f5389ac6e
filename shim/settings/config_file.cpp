// Config file and proxychains.conf parsers: line by line over a string_view, no
// allocation, reasons as static phrases. The launcher reads the files and applies
// what these return as if it had been given as options.
#include "shim/settings/config_file.hpp"

#include <arpa/inet.h>
#include <strings.h>

#include <cstring>

#include "shim/settings/policy.hpp"
#include "shim/settings/text.hpp"

namespace socksify::shim {
namespace {

// A comment starts at a '#' that begins the line or follows a blank.
std::string_view strip_comment(std::string_view line) {
    for (size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t'))
            return std::string_view(line.data(), i);
    }
    return line;
}

std::string_view unquote(std::string_view v) {
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
        v.remove_prefix(1);
        v.remove_suffix(1);
    }
    return v;
}

// The first word (up to a blank or '='), and the rest after it.
std::string_view first_word(std::string_view line, std::string_view& rest) {
    size_t end = 0;
    while (end < line.size() && line[end] != ' ' && line[end] != '\t' && line[end] != '=') ++end;
    rest = trim(tail(line, end));
    return std::string_view(line.data(), end);
}

// Whitespace-separated fields of a proxychains line.
size_t split_fields(std::string_view line, std::string_view* out, size_t cap) {
    size_t n = 0;
    size_t i = 0;
    while (i < line.size() && n < cap) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
        if (i > start) out[n++] = std::string_view(line.data() + start, i - start);
    }
    return n;
}

bool parse_uint(std::string_view s, uint32_t max, uint32_t& out) {
    if (s.empty() || s.size() > 10) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (v > max) return false;
    out = static_cast<uint32_t>(v);
    return true;
}

bool copy_field(std::string_view s, char* out, size_t cap) {
    if (s.empty() || s.size() >= cap) return false;
    std::memcpy(out, s.data(), s.size());
    out[s.size()] = '\0';
    return true;
}

// "a.b.c.d/255.255.0.0" or "a.b.c.d/16"; IPv6 "addr/len". Ports are refused: socksify
// cannot make one port of a network direct.
const char* parse_localnet(std::string_view text, Cidr& out) {
    size_t slash = text.find('/');
    std::string_view addr =
        std::string_view(text.data(), slash == std::string_view::npos ? text.size() : slash);
    std::string_view mask =
        slash == std::string_view::npos ? std::string_view{} : tail(text, slash + 1);
    size_t colons = 0;
    for (char c : addr) colons += c == ':';
    if (colons == 1) return "localnet with a port is not supported";
    if (colons == 0 && mask.find('.') != std::string_view::npos) {
        char buf[INET_ADDRSTRLEN];
        in_addr m{};
        if (!copy_field(mask, buf, sizeof buf) || inet_pton(AF_INET, buf, &m) != 1)
            return "bad netmask";
        uint32_t bits = ntohl(m.s_addr);
        unsigned prefix = 0;
        while (prefix < 32 && (bits & (0x80000000u >> prefix))) ++prefix;
        if (prefix < 32 && (bits << prefix) != 0) return "netmask is not contiguous";
        char cidr[INET_ADDRSTRLEN + 4];
        if (addr.size() >= INET_ADDRSTRLEN) return "bad address";
        std::memcpy(cidr, addr.data(), addr.size());
        int n = static_cast<int>(addr.size());
        cidr[n++] = '/';
        if (prefix >= 10) cidr[n++] = static_cast<char>('0' + prefix / 10);
        cidr[n++] = static_cast<char>('0' + prefix % 10);
        return parse_cidr(std::string_view(cidr, static_cast<size_t>(n)), out);
    }
    return parse_cidr(text, out);
}

}  // namespace

const char* parse_config_line(std::string_view line, ConfigLine& out) {
    out = ConfigLine{};
    line = trim(strip_comment(trim(line)));
    if (line.empty()) return nullptr;
    if (line.front() == '[') {
        if (line.back() != ']') return "bad section header";
        std::string_view name = trim(std::string_view(line.data() + 1, line.size() - 2));
        if (!iequals(name, "policy")) return "unknown section (only [policy])";
        return nullptr;
    }
    std::string_view rest;
    std::string_view word = first_word(line, rest);
    if (word == "allow" || word == "deny") {
        if (!rest.empty() && rest.front() == '=') rest = trim(tail(rest, 1));
        rest = unquote(rest);
        // Filled before the check, so that an error can quote the rule.
        out.kind = ConfigLine::Kind::kRule;
        out.allow = word == "allow";
        out.value = rest;
        Rule rule;
        return parse_rule(rest, out.allow, rule);
    }
    const SettingRow* found = find_file_key(word);
    if (found == nullptr || found->id == Setting::kAllow || found->id == Setting::kDeny)
        return word.empty() ? "expected 'key = value'" : "unknown key";
    if (rest.empty() || rest.front() != '=') return "expected 'key = value'";
    out.kind = ConfigLine::Kind::kSetting;
    out.key = found->id;
    out.value = unquote(trim(tail(rest, 1)));
    return nullptr;
}

const char* parse_config_text(std::string_view text, ConfigLineFn fn, void* ctx, size_t& line_no,
                              ConfigLine* failed) {
    line_no = 0;
    while (!text.empty()) {
        ++line_no;
        size_t nl = text.find('\n');
        std::string_view line(text.data(), nl == std::string_view::npos ? text.size() : nl);
        text = nl == std::string_view::npos ? std::string_view{} : tail(text, nl + 1);
        if (line.find('\0') != std::string_view::npos) return "NUL byte in line";
        ConfigLine parsed;
        if (const char* e = parse_config_line(line, parsed)) {
            if (failed != nullptr) *failed = parsed;
            return e;
        }
        if (parsed.kind == ConfigLine::Kind::kBlank) continue;
        if (const char* e = fn(ctx, line_no, parsed)) return e;
    }
    return nullptr;
}

namespace {

// One [ProxyList] line split into fields, into entry.url.
const char* parse_proxy_entry(const std::string_view* f, size_t n, bool proxy_dns,
                              ProxychainsEntry& entry) {
    ProxyUrl& u = entry.url;
    u = ProxyUrl{};
    if (iequals(f[0], "socks5")) {
        u.kind = ProxyKind::kSocks5;
        u.remote_dns = proxy_dns;
    } else if (iequals(f[0], "socks4")) {
        u.kind = proxy_dns ? ProxyKind::kSocks4a : ProxyKind::kSocks4;
        u.remote_dns = proxy_dns;
    } else if (iequals(f[0], "http")) {
        u.kind = ProxyKind::kHttp;
        u.remote_dns = true;
    } else if (iequals(f[0], "raw")) {
        u.kind = ProxyKind::kRaw;  // a forwarder: nothing resolved here, nothing said
        u.remote_dns = true;
    } else {
        return "unknown proxy type";
    }
    if (n < 3 || n > 5) return "expected 'type host port [user [pass]]'";
    uint32_t port = 0;
    if (!parse_uint(f[2], 65535, port) || port == 0) return "bad port";
    if (!copy_field(f[1], u.host, sizeof u.host)) return "bad host";
    u.port = static_cast<uint16_t>(port);
    if (n >= 4 && u.kind == ProxyKind::kRaw) return "raw forwarders take no user name";
    if (n >= 4) {
        if (!copy_field(f[3], u.user, sizeof u.user)) return "user name longer than 255 bytes";
        u.has_user = true;
    }
    if (n == 5) {
        if (!copy_field(f[4], u.pass, sizeof u.pass)) return "password longer than 255 bytes";
        u.has_pass = true;
    }
    return nullptr;
}

void add_warning(ProxychainsConf& out, size_t line, const char* what) {
    if (out.warning_count < kMaxProxychainsWarnings)
        out.warnings[out.warning_count++] = {line, what};
}

}  // namespace

const char* parse_proxychains(std::string_view text, ProxychainsConf& out, size_t& line_no) {
    out = ProxychainsConf{};
    line_no = 0;
    bool in_list = false;
    // The entries are checked as they come and built at the end, with proxy_dns known.
    std::string_view entry_fields[kMaxHops][6];
    size_t entry_n[kMaxHops] = {};
    while (!text.empty()) {
        ++line_no;
        size_t nl = text.find('\n');
        std::string_view line(text.data(), nl == std::string_view::npos ? text.size() : nl);
        text = nl == std::string_view::npos ? std::string_view{} : tail(text, nl + 1);
        line = trim(line);
        if (line.empty() || line.front() == '#') continue;
        if (line.front() == '[') {
            // proxychains knows one section; anything after it is the list.
            in_list = iequals(line, "[ProxyList]");
            continue;
        }
        std::string_view f[6];
        size_t n = split_fields(strip_comment(line), f, 6);
        if (n == 0) continue;
        if (in_list) {
            if (out.proxy_count == kMaxHops)
                return "more than 8 proxies (chains have at most 8 hops)";
            ProxychainsEntry probe;
            if (const char* e = parse_proxy_entry(f, n, false, probe)) return e;
            for (size_t k = 0; k < n; ++k) entry_fields[out.proxy_count][k] = f[k];
            entry_n[out.proxy_count] = n;
            out.proxies[out.proxy_count++].line = line_no;
            continue;
        }
        std::string_view key = f[0];
        if (key == "proxy_dns" || key == "proxy_dns_old" || key == "proxy_dns_daemon") {
            out.proxy_dns = true;
        } else if (key == "strict_chain") {
            out.chain_mode = ChainMode::kStrict;
        } else if (key == "dynamic_chain") {
            out.chain_mode = ChainMode::kDynamic;
        } else if (key == "random_chain") {
            out.chain_mode = ChainMode::kRandom;
        } else if (key == "round_robin_chain") {
            out.chain_mode = ChainMode::kRoundRobin;
        } else if (key == "chain_len") {
            // "chain_len = 2", as proxychains' own file writes it, or "chain_len 2".
            std::string_view v = n >= 3 && f[1] == "=" ? f[2] : (n >= 2 ? f[1] : "");
            uint32_t len = 0;
            if (!parse_uint(v, kMaxHops, len) || len == 0) return "chain_len must be 1..8";
            out.chain_len = len;
        } else if (key == "tcp_read_time_out" || key == "tcp_connect_time_out") {
            uint32_t ms = 0;
            if (n < 2 || !parse_uint(f[1], 0x7fffffff, ms)) return "bad timeout (milliseconds)";
            if (static_cast<int>(ms) > out.timeout_ms) {
                out.timeout_ms = static_cast<int>(ms);
                out.timeout_line = line_no;
            }
        } else if (key == "localnet") {
            if (n < 2) return "expected 'localnet address/netmask'";
            if (out.localnet_count == kMaxLocalnets) return "too many localnet entries";
            if (const char* e = parse_localnet(f[1], out.localnet[out.localnet_count])) return e;
            ++out.localnet_count;
        } else if (key == "dnat") {
            add_warning(out, line_no, "dnat is not supported: ignored");
        } else if (key == "remote_dns_subnet" || key == "quiet_mode") {
            // socksify keeps its own fake range, and logs errors only by default.
        } else {
            add_warning(out, line_no, "unknown directive: ignored");
        }
    }
    for (size_t i = 0; i < out.proxy_count; ++i) {
        size_t at = out.proxies[i].line;
        parse_proxy_entry(entry_fields[i], entry_n[i], out.proxy_dns, out.proxies[i]);
        out.proxies[i].line = at;
    }
    return nullptr;
}

}  // namespace socksify::shim
