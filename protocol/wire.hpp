// SOCKS5 wire constants (RFC 1928, RFC 1929) and the decoder result type.
// Pure: no I/O, no allocation, no globals, no errno.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace socksify::proto {

inline constexpr uint8_t kVersion = 5;          // RFC 1928 VER
inline constexpr uint8_t kUserPassVersion = 1;  // RFC 1929 sub-negotiation VER

enum class Method : uint8_t {
    kNoAuth = 0x00,
    kGssapi = 0x01,
    kUserPass = 0x02,
    kNoAcceptable = 0xFF,
};

enum class Command : uint8_t {
    kConnect = 1,
    kBind = 2,
    kUdpAssociate = 3,
};

enum class AddrType : uint8_t {
    kIpv4 = 1,
    kDomain = 3,
    kIpv6 = 4,
};

enum class Reply : uint8_t {
    kSucceeded = 0,
    kGeneralFailure = 1,
    kNotAllowed = 2,
    kNetworkUnreachable = 3,
    kHostUnreachable = 4,
    kConnectionRefused = 5,
    kTtlExpired = 6,
    kCommandNotSupported = 7,
    kAddrTypeNotSupported = 8,
};

// Outcome of an incremental decoder. kNeedMore means every byte given so far is a
// valid prefix; kMalformed means no suffix can make it valid.
enum class Status : uint8_t { kDone, kNeedMore, kMalformed };

struct Result {
    Status status;
    size_t consumed;  // bytes of exactly one message when kDone, else 0

    friend bool operator==(const Result&, const Result&) = default;
};

using Bytes = std::span<const uint8_t>;
using Out = std::span<uint8_t>;

// Largest encoded sizes, for callers' stack buffers.
inline constexpr size_t kMaxGreeting = 2 + 255;
inline constexpr size_t kMaxUserPass = 3 + 255 + 255;
inline constexpr size_t kMaxAddress = 1 + 1 + 255 + 2;  // ATYP, LEN, DOMAIN, PORT
inline constexpr size_t kMaxRequest = 3 + kMaxAddress;  // also a reply
inline constexpr size_t kMaxUdpHeader = 3 + kMaxAddress;

}  // namespace socksify::proto
