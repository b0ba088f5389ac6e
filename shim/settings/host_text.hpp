// Host strings read as glibc's resolver reads them: an IP literal in any spelling, a
// host name, or text no resolver would look up. Pure (no I/O, no allocation, no
// locale), so the library's resolver hooks and the policy parser the launcher shares
// use the same reading.
#pragma once

#include <cstdint>
#include <string_view>

namespace socksify::shim {

// What a host string is, decided the way glibc's resolver decides it (measured:
// tests/unit/names_test.cpp walks the forms against libc itself).
enum class HostKind : uint8_t {
    kIpv4,     // an inet_aton form (127.1, 0x7f.1, 2130706433, 0177.0.0.1), maybe with
               // one trailing dot (203.0.113.7.)
    kIpv6,     // an inet_pton form, maybe with "%scope" (fe80::1%eth0, ::ffff:127.0.0.1%1)
    kName,     // a host name a resolver would ask a nameserver about (glibc's res_hnok)
    kNotHost,  // a name no host can have: the root "." or an all-numeric last label
               // (1.2.3.4.5, 08.1.1.1, foo.123: RFC 1123 §2.1) — a mistyped address
    kInvalid,  // rejected by the resolver without any query: empty, a byte outside
               // 0x21-0x7e (space, control, NUL, 0x80+), a character other than
               // [0-9A-Za-z_-] in a label, an empty label, a label over 63 bytes, a
               // name over 253 (254 with the trailing dot), a leading '-'
};

struct HostText {
    HostKind kind = HostKind::kInvalid;
    uint8_t addr[16] = {};       // kIpv4: 4 bytes; kIpv6: 16 (network order)
    bool trailing_dot = false;   // kIpv4: written with one trailing dot
    bool scoped = false;         // kIpv6: written with '%'
    std::string_view scope;      // kIpv6: the text after '%' (may be empty)
    bool scope_numeric = false;  // scope is a number that fits 32 bits (scope_id)
    uint32_t scope_id = 0;
    // kName, kNotHost: the name with \DDD and \X escapes undone (what a query would
    // carry); equal to the input when it has no backslash.
    char name[256] = {};
    uint8_t name_len = 0;
};

// Classifies text (its whole length: a NUL inside makes it kInvalid). utf8: bytes
// 0x80+ count as letters (getaddrinfo's AI_IDN, which would encode them). Pure: no
// I/O, no allocation, no locale.
HostKind parse_host(std::string_view text, bool utf8, HostText& out);

// Why a list item (policy rule, direct list) written as an address in a spelling other
// than inet_pton's (0x7f.1, 127.1, 2130706433, 203.0.113.7.) or with a scope id is
// refused, or nullptr. Such an item must not become a name or a suffix (no connection
// would ever match it: the resolver reads the text as an address), and 203.1 means
// 203.0.0.1 to inet_aton, not 203.1.0.0/16: the user writes a.b.c.d instead.
const char* unusual_address(std::string_view text);

}  // namespace socksify::shim
