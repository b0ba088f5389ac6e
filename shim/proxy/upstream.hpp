// One hop of the way out: CONNECT on a socket already connected to an upstream proxy,
// in the language that upstream speaks (SOCKS5, SOCKS4/4a, HTTP CONNECT). Each kind's
// driver moves bytes from protocol/ codecs under the caller's deadline and leaves
// the socket positioned exactly at the first tunnelled byte.
#pragma once

#include "protocol/address.hpp"
#include "settings/config.hpp"
#include "shim/io.hpp"
#include "shim/proxy/handshake.hpp"

namespace socksify::shim {

struct Hop {
    ProxyKind kind = ProxyKind::kSocks5;
    Credentials creds;       // SOCKS4: user is the USERID; HTTP: Basic
    bool pipelined = false;  // SOCKS5 only (the others are one message anyway)
    const char* text = "";   // "198.51.100.1:1080", for log lines
};

// The destination asked of a hop: a name or an address, as SOCKS5 spells it.
using Target = proto::Address;

// Runs CONNECT to target through hop on fd (connected, non-blocking). Returns 0 or
// the errno for the program (README, "Upstream errors"); result.reply is filled for
// SOCKS5 only.
int run_hop(int fd, const Hop& hop, const Target& target, const Deadline& deadline,
            HandshakeResult& result);

// The per-kind drivers behind run_hop.
int run_socks4(int fd, const Hop& hop, const Target& target, const Deadline& deadline);
int run_http(int fd, const Hop& hop, const Target& target, const Deadline& deadline);

const char* kind_name(ProxyKind kind);

}  // namespace socksify::shim
