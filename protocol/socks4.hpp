// SOCKS4 and SOCKS4a (the 1990s NEC protocol and its "a" extension): CONNECT requests
// and the server's 8-byte reply. Pure: no I/O, no allocation, no globals, no errno;
// encoders write into the caller's buffer, decoders only look at what they are given.
#pragma once

#include <array>
#include <cerrno>
#include <cstdint>
#include <string_view>

#include "protocol/wire.hpp"

namespace socksify::proto::socks4 {

inline constexpr uint8_t kVersion = 4;       // VN of a request
inline constexpr uint8_t kReplyVersion = 0;  // VN of a reply
inline constexpr uint8_t kConnect = 1;
inline constexpr size_t kReplySize = 8;
// VN CD PORT IP, the user id (≤ 255) and its NUL, a 4a host name (≤ 255) and its NUL.
inline constexpr size_t kMaxRequest = 8 + 255 + 1 + 255 + 1;

enum class Code : uint8_t {
    kGranted = 90,
    kRejected = 91,        // rejected or failed
    kNoIdentd = 92,        // the server cannot reach our identd
    kIdentdMismatch = 93,  // identd says another user
};

struct ConnectRequest {
    uint16_t port = 0;            // host order
    std::array<uint8_t, 4> ip{};  // network order; ignored when host is set (4a)
    std::string_view user_id;     // may be empty; no NUL inside
    std::string_view host;        // SOCKS4a: the name the server resolves; empty: 4
};

// Bytes written, or 0 if out is too small or a field cannot be carried (NUL inside,
// longer than 255, an empty 4a host is fine: it means plain SOCKS4).
size_t encode_connect(Out out, const ConnectRequest& m);

struct Reply {
    uint8_t code = 0;
    uint16_t port = 0;
    std::array<uint8_t, 4> ip{};
};

// Decodes the 8-byte reply; malformed when VN is not 0.
Result decode_reply(Bytes in, Reply& out);
size_t encode_reply(Out out, const Reply& m);  // for test servers

// 0 when granted; the errno a program should see otherwise.
constexpr int reply_errno(uint8_t code) {
    switch (code) {
        case static_cast<uint8_t>(Code::kGranted): return 0;
        case static_cast<uint8_t>(Code::kRejected): return ECONNREFUSED;
        case static_cast<uint8_t>(Code::kNoIdentd):
        case static_cast<uint8_t>(Code::kIdentdMismatch): return EACCES;
        default: return ECONNABORTED;
    }
}

}  // namespace socksify::proto::socks4
