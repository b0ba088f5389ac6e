// RFC 1928 §4 and §6: the client's request (CONNECT, BIND, UDP ASSOCIATE) and the
// server's reply, both VER, a code, RSV(0) and an address.
#include "protocol/messages.hpp"

namespace socksify::proto {
namespace {

constexpr size_t kHeader = 3;  // VER CODE RSV

bool valid_command(uint8_t c) {
    return c >= static_cast<uint8_t>(Command::kConnect) &&
           c <= static_cast<uint8_t>(Command::kUdpAssociate);
}

bool valid_reply(uint8_t r) { return r <= static_cast<uint8_t>(Reply::kAddrTypeNotSupported); }

size_t encode(Out out, uint8_t code, const Address& a) {
    size_t n = address_size(a);
    if (n == 0 || out.size() < kHeader + n) return 0;
    out[0] = kVersion;
    out[1] = code;
    out[2] = 0;
    return kHeader + encode_address(out.subspan(kHeader), a);
}

// Checks VER, the code byte and RSV as each arrives, then decodes the address.
Result decode(Bytes in, bool (*valid_code)(uint8_t), Address& a) {
    if (in.size() >= 1 && in[0] != kVersion) return {Status::kMalformed, 0};
    if (in.size() >= 2 && !valid_code(in[1])) return {Status::kMalformed, 0};
    if (in.size() >= 3 && in[2] != 0) return {Status::kMalformed, 0};
    if (in.size() < kHeader) return {Status::kNeedMore, 0};
    Result r = decode_address(in.subspan(kHeader), a);
    if (r.status != Status::kDone) return r;
    return {Status::kDone, kHeader + r.consumed};
}

}  // namespace

size_t encode_request(Out out, const Request& m) {
    uint8_t cmd = static_cast<uint8_t>(m.command);
    return valid_command(cmd) ? encode(out, cmd, m.address) : 0;
}

// decode_address writes the address only once the whole message is in, so out is
// still untouched on kNeedMore / kMalformed.
Result decode_request(Bytes in, Request& out) {
    Result r = decode(in, valid_command, out.address);
    if (r.status == Status::kDone) out.command = static_cast<Command>(in[1]);
    return r;
}

size_t encode_reply(Out out, const ReplyMessage& m) {
    uint8_t rep = static_cast<uint8_t>(m.reply);
    return valid_reply(rep) ? encode(out, rep, m.bound) : 0;
}

Result decode_reply(Bytes in, ReplyMessage& out) {
    Result r = decode(in, valid_reply, out.bound);
    if (r.status == Status::kDone) out.reply = static_cast<Reply>(in[1]);
    return r;
}

}  // namespace socksify::proto
