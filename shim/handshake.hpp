// The SOCKS5 client exchange on a connected, non-blocking socket: greeting,
// optional RFC 1929 authentication, one request, its reply. Bytes come from and
// go to the protocol/ codec; this file only moves them under a deadline.
#pragma once

#include <string_view>

#include "protocol/messages.hpp"
#include "shim/io.hpp"

namespace socksify::shim {

struct Credentials {
    std::string_view user;  // empty: offer "no authentication" only
    std::string_view pass;
};

enum class HandshakeMode : uint8_t {
    kPipelined,  // greeting [+ auth] + request in one write (one round trip)
    kStepwise,   // one message per round trip
};

struct HandshakeResult {
    int err = 0;  // 0, or the errno the program should see
    proto::ReplyMessage reply;
    uint8_t storage[proto::kMaxRequest] = {};  // backs reply.bound.domain
};

// Runs the exchange under the deadline alone. The pipelined mode is only for servers
// known to keep early bytes (shim/pipeline_probe.hpp): nothing here guesses from time.
void run_handshake(int fd, const proto::Request& request, const Credentials& creds,
                   HandshakeMode mode, const Deadline& deadline, HandshakeResult& out);

}  // namespace socksify::shim
