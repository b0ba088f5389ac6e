// The TCP path: connect the program's own socket to the proxy and run CONNECT.
#pragma once

#include <sys/socket.h>

#include "shim/config.hpp"

namespace socksify::shim {

// Connects fd (an AF_INET/AF_INET6 stream socket) to dest through the proxy of cfg.
// Blocks until the reply or the configured timeout, whatever O_NONBLOCK says, and
// leaves O_NONBLOCK as it found it. Returns 0 or the errno for the program
// (DESIGN.md, Failure); on failure the socket is shut down so nothing flows.
int connect_via_proxy(int fd, const sockaddr* dest, socklen_t dest_len, const Config& cfg);

}  // namespace socksify::shim
