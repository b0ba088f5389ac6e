// The TCP path: connect the program's own socket to the proxy and run CONNECT.
#pragma once

#include <sys/socket.h>

#include <string_view>

#include "shim/config.hpp"

namespace socksify::shim {

// Connects fd (an AF_INET/AF_INET6 stream socket) to dest through the proxy of cfg;
// a non-empty name (the fake-DNS name behind dest) is sent as DOMAINNAME.
// Blocks until the reply or the configured timeout, whatever O_NONBLOCK says, and
// leaves O_NONBLOCK as it found it. Returns 0 or the errno for the program
// (DESIGN.md, Failure); on failure the socket is shut down so nothing flows.
int connect_via_proxy(int fd, const sockaddr* dest, socklen_t dest_len, std::string_view name,
                      const Config& cfg);

}  // namespace socksify::shim
