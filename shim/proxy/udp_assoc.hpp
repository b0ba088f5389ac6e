// The UDP path (RFC 1928 §7): one UDP ASSOCIATE per socket on a hidden TCP control
// connection, datagrams wrapped on the way out and unwrapped on the way in.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include "shim/fd_table.hpp"
#include "shim/settings/config.hpp"

namespace socksify::shim {

// fd no longer names what the table says (closed, or the number now holds another
// object): its record goes, and with a UDP socket's its association.
void release_fd(int fd);

// kind_of(fd), after checking that an owned fd still names the socket its record was
// made for; a record left behind by a close the shim did not see is released (kNone).
FdKind live_kind(int fd);

// Starts watching fd, a fresh AF_INET/AF_INET6 datagram socket.
void adopt_udp(int fd);

// Drops fd's share of its association (close, or dup2 over it).
void release_udp(int fd);

// dup: fd `to` now shares from's association.
void share_udp(int from, int to);

// connect() on a watched UDP socket to dest, a destination classify_address gave.
// handled false: pass to the real connect.
int udp_connect(int fd, const sockaddr* dest, socklen_t len, const Config& cfg, bool& handled);

// sendmsg on a watched UDP socket: dest is msg->msg_name (a destination
// classify_address gave), or the connected peer.
// handled false: pass through unchanged (direct destination, nothing to wrap).
// Returns the payload bytes sent, or -1 with err.
ssize_t udp_sendmsg(int fd, const msghdr* msg, int flags, const Config& cfg, int& err,
                    bool& handled);

// recvmsg on a watched UDP socket with an association: datagrams from the relay are
// unwrapped and reported with their true source; others pass only from direct
// sources. handled false: pass through.
ssize_t udp_recvmsg(int fd, msghdr* msg, int flags, const Config& cfg, int& err, bool& handled);

// True for a watched UDP socket without an association: its receives run outside the
// shim (they may block) and are looked at afterwards by udp_after_recv.
bool udp_unassociated(int fd);

// After real::recvmsg(fd, in, flags) returned n (>= 0) on an unassociated socket,
// with in.msg_name our own storage and in.msg_iov the program's buffers: if an
// association opened meanwhile (another thread's first send) and the datagram came
// from its relay, takes the header off in place and reports the true source. Fills
// msg's name, flags and control length. Returns the length for the program, or -1
// when the datagram is to be dropped (malformed, a fragment, not the peer).
ssize_t udp_after_recv(int fd, msghdr* msg, const msghdr& in, ssize_t n, int flags,
                       const Config& cfg);

// True while fd is a connected, proxied UDP socket (getpeername answers peer).
bool udp_connected(int fd);

// In the child of fork(): associations other threads were opening are dropped and
// their locks released (the child opens its own on its next send).
void udp_after_fork_child();

// --- Supervised runs (--strict): the supervisor runs the association ---------------
//
// Under --strict the library may not speak to the proxy (a hostile job could ask it for
// anything), and a datagram to the relay carries its destination in a SOCKS header the
// job writes. So the supervisor opens each association on a control connection of its
// own, and makes every datagram to a relay itself from its copy, after judging and
// re-encoding the header (launcher/supervisor/udp_relay.cpp). The library asks for an
// association over a TCP connection to "a nameserver" (127.0.0.53:53, which the
// supervisor connects to its own responder): one request, one reply, then the
// connection stays open as the association's control connection — closing it (with the
// socket) ends the association.
// Later, on the same connection, judge requests (family_or_err kRelayJudge, addr the
// destination a connect() names) get the supervisor's verdict: 0 or an errno.
inline constexpr char kRelayMagic[16] = "socksify-relay1";
inline constexpr int32_t kRelayJudge = -1;
inline constexpr uint16_t kRelayMessage = 16 + 4 + 4 + sizeof(sockaddr_storage);
struct RelayMessage {
    char magic[16];
    int32_t family_or_err;  // request: the socket's family; reply: 0 or an errno
    uint32_t len;           // of addr
    sockaddr_storage addr;  // request: the first destination (its route); reply: the relay
};
static_assert(sizeof(RelayMessage) == kRelayMessage);

// The supervisor's side: opens an association for a datagram socket of family through
// route's upstream (nullptr: the proxy or the chain). control: the control connection
// (close with close_relay_control). 0 or errno; via and why as the library's log line.
int open_relay(int family, const Config& cfg, const RouteSpec* route, int& control,
               sockaddr_storage& relay, socklen_t& relay_len, char* via, size_t via_cap, char* why,
               size_t why_cap);
void close_relay_control(int control);

}  // namespace socksify::shim
