// RFC 1928 §7 UDP request header: RSV(0,0) FRAG and an address, before the payload.
#include "protocol/messages.hpp"

namespace socksify::proto {
namespace {

constexpr size_t kHeader = 3;  // RSV RSV FRAG

}  // namespace

size_t encode_udp_header(Out out, const UdpHeader& m) {
    size_t n = address_size(m.address);
    if (n == 0 || out.size() < kHeader + n) return 0;
    out[0] = 0;
    out[1] = 0;
    out[2] = m.frag;
    return kHeader + encode_address(out.subspan(kHeader), m.address);
}

// Any FRAG is well-formed (§7: 1..127 positions, high bit ends a sequence); a client
// that does not reassemble drops FRAG != 0 itself.
Result decode_udp_header(Bytes in, UdpHeader& out) {
    if (in.size() >= 1 && in[0] != 0) return {Status::kMalformed, 0};
    if (in.size() >= 2 && in[1] != 0) return {Status::kMalformed, 0};
    if (in.size() < kHeader) return {Status::kNeedMore, 0};
    Result r = decode_address(in.subspan(kHeader), out.address);  // written only when done
    if (r.status != Status::kDone) return r;
    out.frag = in[2];
    return {Status::kDone, kHeader + r.consumed};
}

}  // namespace socksify::proto
