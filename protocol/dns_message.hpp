// DNS messages (RFC 1035 §4.1) as far as a fake-DNS answerer needs them: read the one
// question of a query, write a response with A/AAAA records or an error code.
// Pure: no I/O, no allocation, no globals, no errno. Shared by the preloaded
// library's port-53 interception and, later, the seccomp supervisor.
#pragma once

#include <cstddef>
#include <cstdint>

#include "protocol/wire.hpp"

namespace socksify::proto {

inline constexpr size_t kDnsHeaderSize = 12;    // RFC 1035 §4.1.1
inline constexpr size_t kDnsMaxName = 253;      // presentation form, no trailing dot
inline constexpr size_t kDnsMaxWireName = 255;  // RFC 1035 §3.1: labels and lengths
inline constexpr size_t kDnsMaxAnswers = 8;     // addresses one encoded answer may carry
inline constexpr uint16_t kDnsTypeA = 1;        // RFC 1035 §3.2.2
inline constexpr uint16_t kDnsTypePtr = 12;
inline constexpr uint16_t kDnsTypeAaaa = 28;  // RFC 3596 §2.1
inline constexpr uint16_t kDnsClassIn = 1;
inline constexpr uint16_t kDnsFlagQr = 0x8000;  // a response
inline constexpr uint16_t kDnsFlagTc = 0x0200;  // truncated
inline constexpr uint16_t kDnsFlagRd = 0x0100;  // recursion desired
inline constexpr uint16_t kDnsFlagRa = 0x0080;  // recursion available
// The largest response encode_dns_answer writes: header, question, kDnsMaxAnswers
// AAAA records (pointer name, type, class, TTL, length, 16 bytes).
inline constexpr size_t kDnsMaxAnswer =
    kDnsHeaderSize + kDnsMaxWireName + 4 + kDnsMaxAnswers * (2 + 10 + 16);

enum class DnsRcode : uint8_t {  // RFC 1035 §4.1.1
    kNoError = 0,
    kFormErr = 1,
    kServFail = 2,
    kNxDomain = 3,
    kNotImp = 4,
    kRefused = 5,
};

// A decoded query. name points into the caller's DnsQuery, not into the message, so
// the message buffer may be reused for the answer.
struct DnsQuery {
    uint16_t id = 0;
    uint16_t flags = 0;         // the header's second word as received
    bool has_question = false;  // false: only id and flags are valid
    uint16_t qtype = 0;
    uint16_t qclass = 0;
    // Presentation form ("web.socks.test", "" for the root), case as sent, NUL-ended.
    char name[kDnsMaxName + 1] = {};
    size_t name_len = 0;
};

// Decodes a query (QR=0, opcode 0 QUERY, QDCOUNT 1, ANCOUNT 0, NSCOUNT 0; additional
// records such as an EDNS OPT are allowed and not read). in is one whole message (a
// datagram, or a TCP message without its length prefix): there is no need-more.
// kDone: consumed is the offset just past the question. kMalformed: consumed 0;
// out.id/flags are still filled when in holds a header (has_question false) so a
// FORMERR/NOTIMP can be sent back. Malformed: a short header, a response, another
// opcode, counts other than above, a name past the end, a compression pointer that
// does not point strictly backwards (which rules out loops), a name over 255 wire
// bytes, an extended label type, or a label holding '.', a byte below 0x21 or above
// 0x7e (those have no plain presentation form; no host name needs them).
Result decode_dns_query(Bytes in, DnsQuery& out);

// Writes the response to q into out: the header (q's id, QR, q's opcode and RD, RA,
// rcode), q's question as asked (uncompressed), and one record per address of
// addr_len bytes (4 → type A, 16 → type AAAA) from addrs, count at most
// kDnsMaxAnswers, owner name a pointer to the question, class IN, ttl seconds. count 0
// with kNoError is a "no data" answer. Without q.has_question the response has no
// question and no records. Returns the bytes written, or 0 when out is too short or
// the arguments are invalid (addr_len not 4/16 with count > 0, count too large).
size_t encode_dns_answer(Out out, const DnsQuery& q, DnsRcode rcode, const uint8_t* addrs,
                         size_t addr_len, size_t count, uint32_t ttl);

}  // namespace socksify::proto
