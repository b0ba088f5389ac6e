// The host-string reading of host_text.hpp, built to match glibc 2.36 (inet_aton's
// __inet_aton_exact, getaddrinfo's IPv6 branch, res_hnok); tests/unit/names_test.cpp
// checks it against libc itself.
#include "shim/settings/host_text.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>

namespace socksify::shim {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// One part of an inet_aton address from s[i], read as strtoul(…, 0) reads it: 0x hex,
// leading 0 octal, else decimal. i moves past the digits used; false past 2^32 - 1 or
// without a digit.
bool aton_part(std::string_view s, size_t& i, uint32_t& value) {
    if (i >= s.size() || !is_digit(s[i])) return false;
    int base = 10;
    if (s[i] == '0') {
        base = 8;
        // "0x" counts as hex only with a hex digit after it (strtoul reads "0x." as 0).
        if (i + 2 < s.size() && (s[i + 1] == 'x' || s[i + 1] == 'X') && hex_value(s[i + 2]) >= 0) {
            base = 16;
            i += 2;
        }
    }
    uint64_t v = 0;
    size_t start = i;
    for (; i < s.size(); ++i) {
        int d = base == 16 ? hex_value(s[i]) : (is_digit(s[i]) ? s[i] - '0' : -1);
        if (d < 0 || d >= base) break;
        v = v * static_cast<unsigned>(base) + static_cast<unsigned>(d);
        if (v > 0xffffffffu) return false;
    }
    value = static_cast<uint32_t>(v);
    return i > start;
}

// glibc's inet_aton over the whole of s (getaddrinfo's __inet_aton_exact): a, a.b,
// a.b.c or a.b.c.d, the last part filling the remaining bytes.
bool aton_exact(std::string_view s, uint8_t (&out)[16]) {
    static constexpr uint32_t kMax[4] = {0xffffffffu, 0xffffffu, 0xffffu, 0xffu};
    uint32_t parts[4] = {};
    size_t n = 0;
    size_t i = 0;
    uint32_t value = 0;
    for (;;) {
        if (!aton_part(s, i, value)) return false;
        if (i < s.size() && s[i] == '.') {
            if (n == 3 || value > 0xff) return false;
            parts[n++] = value;
            ++i;
            continue;
        }
        break;
    }
    if (i != s.size() || value > kMax[n]) return false;
    uint32_t addr = value;
    for (size_t k = 0; k < n; ++k) addr |= parts[k] << (24 - 8 * k);
    out[0] = static_cast<uint8_t>(addr >> 24);
    out[1] = static_cast<uint8_t>(addr >> 16);
    out[2] = static_cast<uint8_t>(addr >> 8);
    out[3] = static_cast<uint8_t>(addr);
    return true;
}

// getaddrinfo's IPv6 branch: inet_pton on the text before the first '%'; the rest
// is the scope (an interface name or a number, resolved by the caller).
bool ipv6_literal(std::string_view s, HostText& out) {
    size_t pct = s.find('%');
    std::string_view addr = s.substr(0, pct);
    char buf[64];
    if (addr.empty() || addr.size() >= sizeof buf) return false;  // valid forms are ≤ 45
    memcpy(buf, addr.data(), addr.size());
    buf[addr.size()] = '\0';
    if (inet_pton(AF_INET6, buf, out.addr) != 1) return false;
    if (pct == std::string_view::npos) return true;
    out.scoped = true;
    out.scope = s.substr(pct + 1);
    // glibc reads a numeric scope with strtoull base 10 when it starts with a digit.
    uint64_t id = 0;
    bool numeric = !out.scope.empty() && is_digit(out.scope[0]);
    for (char c : out.scope) {
        numeric =
            numeric && is_digit(c) && (id = id * 10 + static_cast<unsigned>(c - '0')) <= UINT32_MAX;
        if (!numeric) break;
    }
    out.scope_numeric = numeric;
    out.scope_id = numeric ? static_cast<uint32_t>(id) : 0;
    return true;
}

bool label_byte_ok(unsigned char c, bool utf8) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
           c == '_' || (utf8 && c >= 0x80);
}

// glibc's res_hnok, which its DNS backend applies before any query: printable text,
// escapes undone as ns_name_pton does, labels of 1-63 bytes, at most 255 bytes in
// wire form, [0-9A-Za-z_-] only, no leading '-'. Writes the unescaped name.
bool host_name_ok(std::string_view s, bool utf8, HostText& out) {
    size_t len = 0;    // bytes written to out.name
    size_t label = 0;  // bytes in the current label
    size_t wire = 1;   // the root label's length byte
    if (s == ".") {    // the root: the only name with an empty label
        out.trailing_dot = true;
        return true;
    }
    for (size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if ((c <= ' ' || c > '~') && !(utf8 && c >= 0x80)) return false;
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            if (i + 1 < s.size())
                out.name[len++] = '.';
            else
                out.trailing_dot = true;
            continue;
        }
        if (c == '\\') {
            if (++i == s.size()) return false;
            c = static_cast<unsigned char>(s[i]);
            if (is_digit(static_cast<char>(c))) {
                if (i + 2 >= s.size() || !is_digit(s[i + 1]) || !is_digit(s[i + 2])) return false;
                unsigned v = (c - '0') * 100u + static_cast<unsigned>(s[i + 1] - '0') * 10u +
                             static_cast<unsigned>(s[i + 2] - '0');
                if (v > 255) return false;
                c = static_cast<unsigned char>(v);
                i += 2;
            }
        }
        if (!label_byte_ok(c, utf8) || (c == '-' && label == 0 && len == 0)) return false;
        if (++label > 63) return false;
        if (label == 1) ++wire;
        if (++wire > 255 || len + 1 >= sizeof out.name) return false;
        out.name[len++] = static_cast<char>(c);
    }
    out.name[len] = '\0';
    out.name_len = static_cast<uint8_t>(len);
    return true;
}

// A label that is a number as inet_aton writes one (decimal, 0 octal, 0x hex, even
// when out of range or with a bad digit: 08, 0x, 4294967296).
bool numeric_label(std::string_view l) {
    size_t i = 0;
    bool hex = l.size() >= 2 && l[0] == '0' && (l[1] == 'x' || l[1] == 'X');
    if (hex) i = 2;
    if (!hex && l.empty()) return false;
    for (; i < l.size(); ++i)
        if (hex ? hex_value(l[i]) < 0 : !is_digit(l[i])) return false;
    return true;
}

// The root, or a name whose last label is a number: no host has it (top-level labels
// are alphabetic, RFC 1123 §2.1); such text is a mistyped address.
bool is_not_host(std::string_view name) {
    size_t dot = name.rfind('.');
    return name.empty() ||
           numeric_label(dot == std::string_view::npos ? name : name.substr(dot + 1));
}

}  // namespace

HostKind parse_host(std::string_view text, bool utf8, HostText& out) {
    out = HostText{};
    if (text.empty() || text.find('\0') != std::string_view::npos) return out.kind;
    std::string_view v4 = text;
    if (v4.size() > 1 && v4.back() == '.') v4.remove_suffix(1);
    if (aton_exact(v4, out.addr)) {
        out.trailing_dot = v4.size() != text.size();
        return out.kind = HostKind::kIpv4;
    }
    if (ipv6_literal(text, out)) return out.kind = HostKind::kIpv6;
    out = HostText{};
    if (!host_name_ok(text, utf8, out)) return out.kind = HostKind::kInvalid;
    return out.kind = is_not_host({out.name, out.name_len}) ? HostKind::kNotHost : HostKind::kName;
}

const char* unusual_address(std::string_view text) {
    HostText host;
    HostKind kind = parse_host(text, false, host);
    if (kind == HostKind::kIpv6 && host.scoped) return "an address in a list takes no scope id";
    if (kind != HostKind::kIpv4) return nullptr;
    char buf[INET_ADDRSTRLEN];
    uint8_t addr[4];
    if (!host.trailing_dot && text.size() < sizeof buf) {
        memcpy(buf, text.data(), text.size());
        buf[text.size()] = '\0';
        if (inet_pton(AF_INET, buf, addr) == 1) return nullptr;  // a.b.c.d
    }
    return "write the address as a.b.c.d (the resolver reads this spelling as one)";
}

}  // namespace socksify::shim
