// The proxy's host name, resolved once and locally with the real resolver: by the
// launcher before the run, and by a library preloaded by hand. One function for both
// binaries, so both accept and refuse the same names.
#pragma once

#include <sys/socket.h>

#include <cstdint>

namespace socksify::shim {

// Fills out/len with host's first address and port; nullptr, or the resolver's reason.
const char* resolve_proxy_host(const char* host, uint16_t port, sockaddr_storage& out,
                               socklen_t& len);

}  // namespace socksify::shim
