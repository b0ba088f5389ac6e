#include "protocol/socks4.hpp"

namespace socksify::proto::socks4 {
namespace {

bool carriable(std::string_view s) { return s.size() <= 255 && s.find('\0') == s.npos; }

size_t put_string(Out out, size_t at, std::string_view s) {
    for (size_t i = 0; i < s.size(); ++i) out[at + i] = static_cast<uint8_t>(s[i]);
    out[at + s.size()] = 0;
    return at + s.size() + 1;
}

}  // namespace

size_t encode_connect(Out out, const ConnectRequest& m) {
    if (!carriable(m.user_id) || !carriable(m.host)) return 0;
    size_t need = 8 + m.user_id.size() + 1 + (m.host.empty() ? 0 : m.host.size() + 1);
    if (out.size() < need) return 0;
    out[0] = kVersion;
    out[1] = kConnect;
    out[2] = static_cast<uint8_t>(m.port >> 8);
    out[3] = static_cast<uint8_t>(m.port);
    if (m.host.empty()) {
        for (size_t i = 0; i < 4; ++i) out[4 + i] = m.ip[i];
    } else {
        // 4a: 0.0.0.x with x non-zero says "the name follows the user id".
        out[4] = out[5] = out[6] = 0;
        out[7] = 1;
    }
    size_t at = put_string(out, 8, m.user_id);
    if (!m.host.empty()) at = put_string(out, at, m.host);
    return at;
}

Result decode_reply(Bytes in, Reply& out) {
    if (!in.empty() && in[0] != kReplyVersion) return {Status::kMalformed, 0};
    if (in.size() < kReplySize) return {Status::kNeedMore, 0};
    out.code = in[1];
    out.port = static_cast<uint16_t>(in[2] << 8 | in[3]);
    for (size_t i = 0; i < 4; ++i) out.ip[i] = in[4 + i];
    return {Status::kDone, kReplySize};
}

size_t encode_reply(Out out, const Reply& m) {
    if (out.size() < kReplySize) return 0;
    out[0] = kReplyVersion;
    out[1] = m.code;
    out[2] = static_cast<uint8_t>(m.port >> 8);
    out[3] = static_cast<uint8_t>(m.port);
    for (size_t i = 0; i < 4; ++i) out[4 + i] = m.ip[i];
    return kReplySize;
}

}  // namespace socksify::proto::socks4
