// DNS query decoding and answer encoding (RFC 1035 §4.1, RFC 3596), field by field.
#include "protocol/dns_message.hpp"

namespace socksify::proto {
namespace {

uint16_t be16(Bytes in, size_t at) { return static_cast<uint16_t>((in[at] << 8) | in[at + 1]); }

void put16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}

// Reads the name at `at`. Every compression pointer must point below the start of
// the stretch of labels it ends, so the offsets read only go down: no loops, at most
// `at` jumps. *end is the offset just past the name where it started (past its first
// pointer, or its root label).
bool decode_name(Bytes in, size_t at, DnsQuery& out, size_t& end) {
    size_t pos = at;
    size_t floor = at;  // the lowest offset a label of this name was read from
    size_t wire = 0;    // RFC 1035 §3.1: labels with their length bytes, ≤ 255
    size_t len = 0;
    bool jumped = false;
    for (;;) {
        if (pos >= in.size()) return false;
        uint8_t b = in[pos];
        if ((b & 0xc0) == 0xc0) {
            if (pos + 1 >= in.size()) return false;
            size_t target = static_cast<size_t>(((b & 0x3f) << 8) | in[pos + 1]);
            if (target >= floor || target < kDnsHeaderSize) return false;
            if (!jumped) end = pos + 2;
            jumped = true;
            floor = target;
            pos = target;
            continue;
        }
        if ((b & 0xc0) != 0) return false;  // 0x40/0x80: extended label types (RFC 6891 §5)
        wire += 1 + b;
        if (wire > kDnsMaxWireName) return false;
        if (b == 0) {
            if (!jumped) end = pos + 1;
            break;
        }
        if (pos + 1 + b > in.size()) return false;
        if (len != 0) out.name[len++] = '.';
        for (size_t i = 0; i < b; ++i) {
            uint8_t c = in[pos + 1 + i];
            if (c < 0x21 || c > 0x7e || c == '.') return false;
            out.name[len++] = static_cast<char>(c);
        }
        pos += 1 + b;
    }
    out.name[len] = '\0';
    out.name_len = len;
    return true;
}

}  // namespace

Result decode_dns_query(Bytes in, DnsQuery& out) {
    out = DnsQuery{};
    constexpr Result kBad{Status::kMalformed, 0};
    if (in.size() < kDnsHeaderSize) return kBad;
    out.id = be16(in, 0);
    out.flags = be16(in, 2);
    uint16_t opcode = (out.flags >> 11) & 0xf;
    if ((out.flags & kDnsFlagQr) != 0 || opcode != 0) return kBad;
    if (be16(in, 4) != 1 || be16(in, 6) != 0 || be16(in, 8) != 0) return kBad;
    DnsQuery q = out;
    size_t end = 0;
    if (!decode_name(in, kDnsHeaderSize, q, end) || end + 4 > in.size()) return kBad;
    q.qtype = be16(in, end);
    q.qclass = be16(in, end + 2);
    q.has_question = true;
    out = q;
    return {Status::kDone, end + 4};
}

size_t encode_dns_answer(Out out, const DnsQuery& q, DnsRcode rcode, const uint8_t* addrs,
                         size_t addr_len, size_t count, uint32_t ttl) {
    if (!q.has_question) count = 0;
    if (count > kDnsMaxAnswers ||
        (count > 0 && (addrs == nullptr || (addr_len != 4 && addr_len != 16))))
        return 0;
    if (q.name_len > kDnsMaxName) return 0;
    size_t question = q.has_question ? (q.name_len == 0 ? 1 : q.name_len + 2) + 4 : 0;
    size_t need = kDnsHeaderSize + question + count * (12 + addr_len);
    if (out.size() < need) return 0;
    uint8_t* p = out.data();
    put16(p, q.id);
    uint16_t flags =
        static_cast<uint16_t>(kDnsFlagQr | (q.flags & 0x7800) | (q.flags & kDnsFlagRd) |
                              kDnsFlagRa | static_cast<uint16_t>(rcode));
    put16(p + 2, flags);
    put16(p + 4, q.has_question ? 1 : 0);
    put16(p + 6, static_cast<uint16_t>(count));
    put16(p + 8, 0);
    put16(p + 10, 0);
    size_t at = kDnsHeaderSize;
    if (q.has_question) {
        // Labels back from the dotted form; decode_dns_query never lets '.' into one.
        size_t start = 0;
        while (start < q.name_len) {
            size_t stop = start;
            while (stop < q.name_len && q.name[stop] != '.') ++stop;
            size_t label = stop - start;
            if (label == 0 || label > 63) return 0;
            p[at++] = static_cast<uint8_t>(label);
            for (size_t i = start; i < stop; ++i) p[at++] = static_cast<uint8_t>(q.name[i]);
            start = stop + 1;
        }
        p[at++] = 0;
        put16(p + at, q.qtype);
        put16(p + at + 2, q.qclass);
        at += 4;
    }
    for (size_t i = 0; i < count; ++i) {
        put16(p + at, 0xc000 | kDnsHeaderSize);  // the question's name
        put16(p + at + 2, addr_len == 4 ? kDnsTypeA : kDnsTypeAaaa);
        put16(p + at + 4, kDnsClassIn);
        put16(p + at + 6, static_cast<uint16_t>(ttl >> 16));
        put16(p + at + 8, static_cast<uint16_t>(ttl));
        put16(p + at + 10, static_cast<uint16_t>(addr_len));
        at += 12;
        for (size_t b = 0; b < addr_len; ++b) p[at++] = addrs[i * addr_len + b];
    }
    return at;
}

}  // namespace socksify::proto
