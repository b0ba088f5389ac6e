// RFC 1929 username/password sub-negotiation: the request and the status reply.
#include "protocol/messages.hpp"

namespace socksify::proto {
namespace {

std::string_view view(Bytes in, size_t offset, size_t len) {
    // uint8_t → char is an aliasing-safe view of the same bytes.
    return {reinterpret_cast<const char*>(in.data() + offset), len};
}

}  // namespace

size_t encode_userpass_request(Out out, const UserPassRequest& m) {
    size_t ulen = m.user.size();
    size_t plen = m.pass.size();
    if (ulen == 0 || ulen > 255 || plen == 0 || plen > 255) return 0;
    size_t n = 3 + ulen + plen;
    if (out.size() < n) return 0;
    size_t i = 0;
    out[i++] = kUserPassVersion;
    out[i++] = static_cast<uint8_t>(ulen);
    for (char c : m.user) out[i++] = static_cast<uint8_t>(c);
    out[i++] = static_cast<uint8_t>(plen);
    for (char c : m.pass) out[i++] = static_cast<uint8_t>(c);
    return i;
}

Result decode_userpass_request(Bytes in, UserPassRequest& out) {
    if (in.size() >= 1 && in[0] != kUserPassVersion) return {Status::kMalformed, 0};
    if (in.size() >= 2 && in[1] == 0) return {Status::kMalformed, 0};
    if (in.size() < 2) return {Status::kNeedMore, 0};
    size_t ulen = in[1];
    size_t plen_at = 2 + ulen;
    if (in.size() <= plen_at) return {Status::kNeedMore, 0};
    if (in[plen_at] == 0) return {Status::kMalformed, 0};
    size_t plen = in[plen_at];
    size_t n = plen_at + 1 + plen;
    if (in.size() < n) return {Status::kNeedMore, 0};
    out.user = view(in, 2, ulen);
    out.pass = view(in, plen_at + 1, plen);
    return {Status::kDone, n};
}

size_t encode_userpass_status(Out out, const UserPassStatus& m) {
    if (out.size() < 2) return 0;
    out[0] = kUserPassVersion;
    out[1] = m.status;
    return 2;
}

Result decode_userpass_status(Bytes in, UserPassStatus& out) {
    if (in.size() >= 1 && in[0] != kUserPassVersion) return {Status::kMalformed, 0};
    if (in.size() < 2) return {Status::kNeedMore, 0};
    out.status = in[1];
    return {Status::kDone, 2};
}

}  // namespace socksify::proto
