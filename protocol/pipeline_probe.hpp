// Deciding whether a SOCKS5 server keeps bytes sent ahead of its answers, without a
// timer: a guess from the time a server takes cannot tell a slow server (a Tor circuit)
// from one that dropped what it had not asked for yet (docs/ARCHITECTURE.md, "Pipelining").
//
// The probe writes greeting [+ auth] + UDP ASSOCIATE 0.0.0.0:0 in one write; as soon as
// the method selection arrives it writes [auth +] CONNECT 0.0.0.0:0. A server that kept
// the first request answers UDP ASSOCIATE: success or "command not supported", at once
// and without reaching any destination. A server that dropped it only ever sees the
// CONNECT, which cannot succeed (port 0) and is answered with a connect failure. Both
// answers come fast, so no answer within the timeout only leaves the question open.
// Pure: no I/O.
#pragma once

#include <cstdint>

#include "protocol/wire.hpp"

namespace socksify::proto {

enum class PipelineVerdict : uint8_t {
    kUnknown = 0,  // not probed, no answer, or an answer either request could give
    kSafe = 1,     // the server kept the pipelined request
    kUnsafe = 2,   // the server dropped it
};

// The verdict from the REP of the first reply the probe receives.
constexpr PipelineVerdict pipeline_verdict(uint8_t rep) {
    switch (static_cast<Reply>(rep)) {
        case Reply::kSucceeded:            // CONNECT to port 0 never succeeds
        case Reply::kCommandNotSupported:  // CONNECT is always supported
            return PipelineVerdict::kSafe;
        case Reply::kNetworkUnreachable:
        case Reply::kHostUnreachable:
        case Reply::kConnectionRefused:
        case Reply::kTtlExpired:  // only a connect attempt gives these
            return PipelineVerdict::kUnsafe;
        default:  // general failure, not allowed, address type: either request
            return PipelineVerdict::kUnknown;
    }
}

constexpr const char* pipeline_verdict_name(PipelineVerdict v) {
    switch (v) {
        case PipelineVerdict::kSafe: return "safe";
        case PipelineVerdict::kUnsafe: return "unsafe";
        case PipelineVerdict::kUnknown: break;
    }
    return "unknown";
}

}  // namespace socksify::proto
