// getpeername on a socket the supervisor connected through the proxy: the program sees
// the destination it asked for, as it would without a proxy (issue 13), not the proxy.
//
// The supervisor notes each such connection under the socket's inode (what survives
// dup, fork and SCM_RIGHTS: every fd of the program naming that socket gets the same
// answer) with the kernel's own view of it then (the proxy as peer, the local address).
// A trapped getpeername on a noted socket answers the destination only while the
// kernel still reports that same proxy and local address, so a record left behind by
// a closed socket whose inode number came back is never applied. Every other socket
// gets the kernel's answer (the call continues: getpeername sends nothing).
#pragma once

#include <sys/socket.h>

#include "launcher/supervisor/notif.hpp"

namespace socksify::launcher {

// After the supervisor connected local (its copy of the program's socket) through the
// proxy to dest (the address the program asked for, len bytes).
void note_proxied_peer(int local, const sockaddr_storage& dest, socklen_t len);

// A trapped getpeername (never waits: served on the receiving thread).
Answer on_getpeername(int listener, const Call& c);

// How many sockets are noted (tests).
size_t noted_peer_count();

}  // namespace socksify::launcher
