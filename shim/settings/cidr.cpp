// Networks: parsing "203.0.113.0/24", "::1" or "1.2.3.4" and matching an address.
#include "shim/settings/cidr.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "shim/settings/text.hpp"

namespace socksify::shim {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool to_cstr(std::string_view s, char* out, size_t cap) {
    if (s.size() >= cap) return false;
    std::memcpy(out, s.data(), s.size());
    out[s.size()] = '\0';
    return true;
}

bool prefix_matches(const uint8_t* net, const uint8_t* addr, unsigned prefix) {
    unsigned full = prefix / 8;
    if (std::memcmp(net, addr, full) != 0) return false;
    unsigned rest = prefix % 8;
    if (rest == 0) return true;
    auto mask = static_cast<uint8_t>(0xFF << (8 - rest));
    return (addr[full] & mask) == net[full];
}

bool is_v4_mapped(const uint8_t* a) {
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    return std::memcmp(a, kMapped, sizeof kMapped) == 0;
}

}  // namespace

const char* parse_cidr(std::string_view text, Cidr& out) {
    out = Cidr{};
    size_t slash = text.find('/');
    std::string_view addr = head(text, slash);
    if (addr.empty()) return "missing address";
    char buf[INET6_ADDRSTRLEN];
    bool v6 = addr.find(':') != std::string_view::npos;
    if (!to_cstr(addr, buf, sizeof buf) ||
        inet_pton(v6 ? AF_INET6 : AF_INET, buf, out.addr.data()) != 1) {
        return "bad address";
    }
    unsigned max = v6 ? 128 : 32;
    unsigned prefix = max;
    if (slash != std::string_view::npos) {
        std::string_view p = tail(text, slash + 1);
        if (p.empty() || p.size() > 3) return "bad prefix length";
        prefix = 0;
        for (char c : p) {
            if (!is_digit(c)) return "bad prefix length";
            prefix = prefix * 10 + static_cast<unsigned>(c - '0');
        }
        if (prefix > max) return "prefix length out of range";
    }
    out.family = v6 ? AF_INET6 : AF_INET;
    out.prefix = static_cast<uint8_t>(prefix);
    for (unsigned i = 0; i < 16; ++i) {
        unsigned bit = i * 8;
        if (bit >= prefix) {
            out.addr[i] = 0;
        } else if (prefix - bit < 8) {
            out.addr[i] &= static_cast<uint8_t>(0xFF << (8 - (prefix - bit)));
        }
    }
    return nullptr;
}

const char* parse_cidr_list(std::string_view text, Cidr* out, size_t cap, size_t& count) {
    count = 0;
    if (text.empty()) return nullptr;
    for (;;) {
        size_t comma = text.find(',');
        std::string_view item = trim(head(text, comma));
        if (item.empty()) return "empty item";
        if (count == cap) return "too many entries";
        if (const char* e = parse_cidr(item, out[count])) return e;
        ++count;
        if (comma == std::string_view::npos) return nullptr;
        text = tail(text, comma + 1);
    }
}

bool cidr_contains(const Cidr& c, const sockaddr* a) {
    if (a == nullptr) return false;
    uint8_t bytes[16];
    if (a->sa_family == AF_INET) {
        const auto* s = reinterpret_cast<const sockaddr_in*>(a);
        if (c.family == AF_INET) {
            std::memcpy(bytes, &s->sin_addr, 4);
            return prefix_matches(c.addr.data(), bytes, c.prefix);
        }
        if (c.family == AF_INET6) {  // as ::ffff:a.b.c.d
            std::memset(bytes, 0, 10);
            bytes[10] = bytes[11] = 0xFF;
            std::memcpy(bytes + 12, &s->sin_addr, 4);
            return prefix_matches(c.addr.data(), bytes, c.prefix);
        }
        return false;
    }
    if (a->sa_family == AF_INET6) {
        const auto* s = reinterpret_cast<const sockaddr_in6*>(a);
        std::memcpy(bytes, &s->sin6_addr, 16);
        if (c.family == AF_INET6) return prefix_matches(c.addr.data(), bytes, c.prefix);
        if (c.family == AF_INET && is_v4_mapped(bytes)) {
            return prefix_matches(c.addr.data(), bytes + 12, c.prefix);
        }
    }
    return false;
}

}  // namespace socksify::shim
