// SOCKS5 reply code → errno, the one mapping every caller uses (docs/ARCHITECTURE.md, Failure).
#pragma once

#include <cerrno>
#include <cstdint>

namespace socksify::proto {

// 0 for success; RFC 1928 §6 codes 1–8 map to distinct errnos; anything else is
// a reply we cannot interpret, hence ECONNABORTED.
constexpr int reply_errno(uint8_t rep) {
    switch (rep) {
        case 0: return 0;
        case 1: return ECONNREFUSED;  // general SOCKS server failure
        case 2: return EACCES;        // connection not allowed by ruleset
        case 3: return ENETUNREACH;
        case 4: return EHOSTUNREACH;
        case 5: return ECONNREFUSED;
        case 6: return ETIMEDOUT;     // TTL expired
        case 7: return EOPNOTSUPP;    // command not supported
        case 8: return EAFNOSUPPORT;  // address type not supported
        default: return ECONNABORTED;
    }
}

}  // namespace socksify::proto
