// Which names are faked, and index ↔ fake address arithmetic. Index i is host
// number i+1 of each range (the range's own network address is never handed out).
#include "shim/names.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstring>

#include "shim/fake_dns.hpp"
#include "shim/hosts_file.hpp"
#include "shim/log.hpp"
#include "shim/shared_state.hpp"

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

namespace {

bool has_suffix(const Config& cfg, std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    for (size_t i = 0; i < cfg.suffix_count; ++i) {
        std::string_view suffix(cfg.suffixes[i]);  // stored with its leading dot
        std::string_view bare = suffix;
        bare.remove_prefix(1);
        if (name.size() == bare.size() && strncasecmp(name.data(), bare.data(), bare.size()) == 0)
            return true;
        if (name.size() > suffix.size() && strncasecmp(name.data() + name.size() - suffix.size(),
                                                       suffix.data(), suffix.size()) == 0)
            return true;
    }
    return false;
}

uint64_t host_count(const Cidr& c) {
    int bits = (c.family == AF_INET ? 32 : 128) - c.prefix;
    if (bits >= 32) return UINT32_MAX;
    return (uint64_t{1} << bits);
}

// Adds n to the big-endian address bytes of c (host part only).
void add_to(const Cidr& c, uint32_t n, uint8_t* out) {
    size_t size = c.family == AF_INET ? 4 : 16;
    memcpy(out, c.addr.data(), size);
    uint64_t carry = n;
    for (size_t i = size; i-- > 0 && carry != 0;) {
        carry += out[i];
        out[i] = static_cast<uint8_t>(carry & 0xff);
        carry >>= 8;
    }
}

// The offset of addr inside c, if it is inside.
bool offset_in(const Cidr& c, const uint8_t* addr, uint64_t& offset) {
    size_t size = c.family == AF_INET ? 4 : 16;
    size_t full = c.prefix / 8;
    if (memcmp(addr, c.addr.data(), full) != 0) return false;
    if (c.prefix % 8 != 0) {
        uint8_t mask = static_cast<uint8_t>(0xff << (8 - c.prefix % 8));
        if ((addr[full] & mask) != c.addr[full]) return false;
    }
    // Host numbers fit in 32 bits: the ranges' capacity is at most 2^17.
    offset = 0;
    for (size_t i = size >= 4 ? size - 4 : 0; i < size; ++i) offset = (offset << 8) | addr[i];
    uint64_t base = 0;
    for (size_t i = size - 4; i < size; ++i) base = (base << 8) | c.addr[i];
    offset -= base;
    return true;
}

}  // namespace

NameRoute route_name(const Config& cfg, const char* name, bool utf8, HostText& host) {
    host = HostText{};
    if (name == nullptr) return NameRoute::kLocal;
    HostKind kind = parse_host(name, utf8, host);
    // An address in any spelling is an address: no lookup, and the policy's network
    // rules and the direct list judge it (the proxy never sees it as a DOMAINNAME).
    if (kind == HostKind::kIpv4 || kind == HostKind::kIpv6) return NameRoute::kLiteral;
    if (!cfg.valid) return NameRoute::kRefuse;
    if (cfg.dns_mode == DnsMode::kLocal) return NameRoute::kLocal;
    // The hosts file answers any text its lines hold, before the DNS backend's checks.
    if (hosts_file_has("/etc/hosts", name)) return NameRoute::kLocal;
    if (kind != HostKind::kName) return NameRoute::kNotFound;
    if (has_suffix(cfg, name)) return NameRoute::kLocal;
    if (cfg.dns_mode == DnsMode::kOff) return NameRoute::kRefuse;
    return NameRoute::kFake;
}

uint32_t fake_capacity(const Config& cfg) {
    uint64_t cap = kFakeDnsCapacity;
    for (const Cidr* c : {&cfg.fake_net4, &cfg.fake_net6}) {
        if (c->family == AF_UNSPEC) continue;
        uint64_t hosts = host_count(*c);
        cap = std::min<uint64_t>(cap, hosts > 2 ? hosts - 2 : 0);
    }
    return static_cast<uint32_t>(cap);
}

void fake_address(const Config& cfg, uint32_t index, int family, sockaddr_storage& out,
                  socklen_t& len) {
    memset(&out, 0, sizeof out);
    if (family == AF_INET6) {
        auto& in6 = reinterpret_cast<sockaddr_in6&>(out);
        in6.sin6_family = AF_INET6;
        add_to(cfg.fake_net6, index + 1, in6.sin6_addr.s6_addr);
        len = sizeof in6;
    } else {
        auto& in = reinterpret_cast<sockaddr_in&>(out);
        in.sin_family = AF_INET;
        add_to(cfg.fake_net4, index + 1, reinterpret_cast<uint8_t*>(&in.sin_addr));
        len = sizeof in;
    }
}

bool fake_index_of_bytes(const Config& cfg, int family, const void* addr, uint32_t& index) {
    const auto* bytes = static_cast<const uint8_t*>(addr);
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    const Cidr* range = nullptr;
    if (family == AF_INET6 && memcmp(bytes, kMapped, 12) == 0) {
        bytes += 12;
        family = AF_INET;
    }
    range = family == AF_INET ? &cfg.fake_net4 : &cfg.fake_net6;
    if (range->family != family) return false;
    uint64_t offset = 0;
    if (!offset_in(*range, bytes, offset) || offset == 0 || offset > fake_capacity(cfg))
        return false;
    index = static_cast<uint32_t>(offset - 1);
    return true;
}

bool fake_index_of(const Config& cfg, const sockaddr* a, uint32_t& index) {
    if (a->sa_family == AF_INET)
        return fake_index_of_bytes(cfg, AF_INET, &reinterpret_cast<const sockaddr_in*>(a)->sin_addr,
                                   index);
    if (a->sa_family == AF_INET6)
        return fake_index_of_bytes(cfg, AF_INET6,
                                   &reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr, index);
    return false;
}

int fake_lookup(const Config& cfg, const char* name, int family, sockaddr_storage& out,
                socklen_t& len) {
    FakeDnsTable* table = fake_dns_table();
    if (table == nullptr) return EAI_AGAIN;
    uint32_t index = 0;
    switch (fake_dns_insert(*table, name, index)) {
        case InsertResult::kOk: fake_address(cfg, index, family, out, len); return 0;
        case InsertResult::kBadName: return EAI_NONAME;
        case InsertResult::kFull:
            uint32_t zero = 0;
            if (table->full_logged.compare_exchange_strong(zero, 1))
                log_line(LogLevel::kError, "fake-DNS table full (%u names); lookups now fail",
                         table->capacity);
            return EAI_AGAIN;
    }
    return EAI_AGAIN;
}

std::string_view fake_name_of(const Config& cfg, const sockaddr* a) {
    uint32_t index = 0;
    FakeDnsTable* table = fake_dns_table();
    if (table == nullptr || !fake_index_of(cfg, a, index)) return {};
    return fake_dns_name(*table, index);
}

}  // namespace socksify::shim
