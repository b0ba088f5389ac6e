// DNS query reading and answer writing for the supervisor's fake nameserver.
#include "launcher/dns_answer.hpp"

#include <cstring>

namespace socksify::launcher {
namespace {

constexpr size_t kHeader = 12;
constexpr uint32_t kTtl = 60;  // fake addresses live as long as the run; keep caches short

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
void put16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}

}  // namespace

bool parse_query(std::span<const uint8_t> msg, DnsQuestion& q) {
    if (msg.size() < kHeader) return false;
    const uint8_t* m = msg.data();
    q.id = be16(m);
    q.flags = be16(m + 2);
    bool is_response = (q.flags & 0x8000) != 0;
    unsigned opcode = (q.flags >> 11) & 0xf;
    if (is_response || opcode != 0 || be16(m + 4) == 0) return false;
    size_t at = kHeader, out = 0;
    for (;;) {
        if (at >= msg.size()) return false;
        uint8_t len = m[at++];
        if (len == 0) break;
        if ((len & 0xc0) != 0 || at + len > msg.size()) return false;  // no pointers in a query
        if (out + len + 1 >= sizeof q.name) return false;
        if (out != 0) q.name[out++] = '.';
        for (uint8_t i = 0; i < len; ++i) {
            char c = static_cast<char>(m[at + i]);
            if (c == '.' || c == '\0') return false;  // would change the name's meaning
            q.name[out++] = c;
        }
        at += len;
    }
    if (out == 0 || at + 4 > msg.size()) return false;  // the root, or a cut question
    q.name[out] = '\0';
    q.type = be16(m + at);
    q.klass = be16(m + at + 2);
    q.question_end = at + 4;
    return true;
}

size_t build_answer(std::span<const uint8_t> msg, const DnsQuestion& q, uint8_t rcode,
                    std::span<const uint8_t> addr, std::span<uint8_t> out) {
    size_t need = q.question_end + (addr.empty() ? 0 : 12 + addr.size());
    if (need > out.size() || q.question_end > msg.size()) return 0;
    uint8_t* o = out.data();
    std::memcpy(o, msg.data(), q.question_end);
    // QR, AA (Go takes an unauthoritative empty answer for a lame referral), RD
    // echoed, RA.
    put16(o + 2, static_cast<uint16_t>(0x8400 | (q.flags & 0x0100) | 0x0080 | rcode));
    put16(o + 4, 1);
    put16(o + 6, addr.empty() ? 0 : 1);
    put16(o + 8, 0);
    put16(o + 10, 0);
    if (addr.empty()) return q.question_end;
    uint8_t* r = o + q.question_end;
    put16(r, 0xc000 | kHeader);  // the question's name
    put16(r + 2, q.type);
    put16(r + 4, kClassIn);
    put16(r + 6, static_cast<uint16_t>(kTtl >> 16));
    put16(r + 8, static_cast<uint16_t>(kTtl));
    put16(r + 10, static_cast<uint16_t>(addr.size()));
    std::memcpy(r + 12, addr.data(), addr.size());
    return need;
}

}  // namespace socksify::launcher
