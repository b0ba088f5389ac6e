// Just enough of the DNS message format (RFC 1035) to answer a program's own resolver
// from the fake-DNS table: read one question, write one answer. Pure: no I/O, no
// allocation. To be replaced by protocol/dns_message once that codec is merged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace socksify::launcher {

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kClassIn = 1;
inline constexpr uint8_t kRcodeOk = 0;
inline constexpr uint8_t kRcodeServFail = 2;
inline constexpr uint8_t kRcodeNxDomain = 3;
inline constexpr uint8_t kRcodeNotImp = 4;
inline constexpr uint8_t kRcodeRefused = 5;

struct DnsQuestion {
    uint16_t id = 0;
    uint16_t flags = 0;   // the query's flags (RD is echoed)
    char name[256] = {};  // dotted, no trailing dot, NUL-terminated
    uint16_t type = 0;
    uint16_t klass = 0;
    size_t question_end = 0;  // offset just past the question in the query
};

// Reads the header and first question of a standard query. False when it is not
// one (a response, another opcode, no question, a compressed or malformed name, a
// label with a dot or NUL in it).
bool parse_query(std::span<const uint8_t> msg, DnsQuestion& q);

// Writes the response to query q (whose bytes are msg) into out: rcode, and one
// A/AAAA record carrying addr (4 or 16 bytes) when addr is not empty. Returns the
// length written, or 0 when out is too small.
size_t build_answer(std::span<const uint8_t> msg, const DnsQuestion& q, uint8_t rcode,
                    std::span<const uint8_t> addr, std::span<uint8_t> out);

}  // namespace socksify::launcher
