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

}  // namespace socksify::shim
