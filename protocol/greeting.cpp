// RFC 1928 §3 method negotiation: the client's greeting and the server's selection.
#include "protocol/messages.hpp"

namespace socksify::proto {

size_t encode_greeting(Out out, const Greeting& m) {
    size_t n = m.methods.size();
    if (n == 0 || n > 255 || out.size() < 2 + n) return 0;
    out[0] = kVersion;
    out[1] = static_cast<uint8_t>(n);
    for (size_t i = 0; i < n; ++i) out[2 + i] = m.methods[i];
    return 2 + n;
}

Result decode_greeting(Bytes in, Greeting& out) {
    if (in.size() >= 1 && in[0] != kVersion) return {Status::kMalformed, 0};
    if (in.size() >= 2 && in[1] == 0) return {Status::kMalformed, 0};
    if (in.size() < 2 || in.size() < 2 + size_t{in[1]}) return {Status::kNeedMore, 0};
    out.methods = in.subspan(2, in[1]);
    return {Status::kDone, 2 + size_t{in[1]}};
}

// Any METHOD byte is well-formed (IANA-assigned and private ones included); whether
// it is one the client offered is the driver's decision.
size_t encode_method_selection(Out out, const MethodSelection& m) {
    if (out.size() < 2) return 0;
    out[0] = kVersion;
    out[1] = static_cast<uint8_t>(m.method);
    return 2;
}

Result decode_method_selection(Bytes in, MethodSelection& out) {
    if (in.size() >= 1 && in[0] != kVersion) return {Status::kMalformed, 0};
    if (in.size() < 2) return {Status::kNeedMore, 0};
    out.method = static_cast<Method>(in[1]);
    return {Status::kDone, 2};
}

}  // namespace socksify::proto
