// UDP through the proxy under --strict: the supervisor opens every association on a
// control connection of its own and makes every datagram to a relay itself, from its
// copy, after judging the destination in the SOCKS header and encoding the header
// anew. Design and the library's side: shim/proxy/udp_assoc.hpp (supervised runs).
//
// Why not let the program send to the relay on a socket connected to it (a connect
// trapped once, then plain send() calls the filter never sees): the destination of
// each datagram is in the header the job writes, so the job could name any
// destination, the policy's denied ones included. Each datagram to a relay traps.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "shim/settings/config.hpp"

namespace socksify::launcher {

// The nameserver's TCP server calls this with a client's first message: when it is a
// relay request (kRelayMagic), opens the association, replies with its relay, and
// holds it until the client or the proxy closes its connection; then true (the caller
// closes client). False: not a relay request.
bool serve_relay_request(const shim::Config& cfg, int client, const uint8_t* msg, size_t n);

// True when dest is the relay of an association the supervisor holds now.
bool is_known_relay(const sockaddr_storage& dest);

// A datagram for relay (a known one), as the program wrote it: its header is decoded,
// the destination named from the supervisor's own fake-DNS table and judged (policy,
// DNS, the association's upstream); on success data becomes a header of our own
// encoding and the payload. 0, or the errno after one log line and one record.
int judge_relayed(const shim::Config& cfg, const sockaddr_storage& relay,
                  std::vector<uint8_t>& data);

// --strict: dest is on an upstream's host (a proxy, hop or route address, any port):
// a relay there could be reached around the supervisor by a datagram socket
// connected to it before the relay was known, so UDP to that host other than a relay
// datagram is refused.
bool is_upstream_host(const shim::Config& cfg, const sockaddr_storage& dest);

}  // namespace socksify::launcher
