// The TCP path: connect the program's own socket to the proxy and run CONNECT.
#pragma once

#include <sys/socket.h>

#include <string_view>

#include "protocol/messages.hpp"
#include "shim/io.hpp"
#include "shim/proxy/handshake.hpp"
#include "shim/settings/config.hpp"

namespace socksify::shim {

// Connects fd (an AF_INET/AF_INET6 stream socket of dest's family) to dest through the proxy of
// cfg; a non-empty name (the fake-DNS name behind dest) is sent as DOMAINNAME. Blocks until the
// reply or the configured timeout, whatever O_NONBLOCK says, and leaves O_NONBLOCK as it found it.
// Returns 0 or the errno for the program (docs/ARCHITECTURE.md, Failure); on failure the socket is
// shut down so nothing flows.
int connect_via_proxy(int fd, const sockaddr* dest, socklen_t dest_len, std::string_view name,
                      const Config& cfg);

// connect_via_proxy for a caller that read fd's status flags (F_GETFL) already;
// fresh: as for proxied_tcp_connect.
int connect_blocking(int fd, int flags, const sockaddr* dest, socklen_t dest_len,
                     std::string_view name, const Config& cfg, bool fresh);

// The whole TCP decision for a destination that is not direct: refuse under a bad
// configuration, find the name behind a fake address, apply the policy, then
// connect_via_proxy; one log line (errors, or -v) and one audit record either way.
// fd must be a stream socket of dest's family (the callers check). fresh: fd's
// record already names its socket (FdRecord dev/ino), so the new record needs no
// fstat unless the socket is replaced on the way. Returns 0 or an errno.
int proxied_tcp_connect(int fd, const sockaddr* dest, socklen_t dest_len, const Config& cfg,
                        bool fresh = false);

// Connects fd (non-blocking) to the proxy and runs request on it, once: pipelined
// when pipelining(cfg), else one message per round trip. Returns 0 or an errno;
// result holds the reply. domain is fd's family.
// Whether connections pipeline now: allowed by the settings and the run's proxy
// found to keep early bytes (SharedHeader::pipeline).
bool pipelining(const Config& cfg);

// An address of proxy the socket fd can connect to: proxy itself, its v4-mapped form
// on a dual-stack AF_INET6 socket, or — failing both — fd is replaced by a socket of
// proxy's family (domain, fd's family, is updated then). 0 or an errno.
int reachable_address(int fd, int& domain, const sockaddr_storage& proxy, socklen_t proxy_len,
                      sockaddr_storage& out, socklen_t& out_len);

int proxy_exchange(int fd, int domain, const proto::Request& request, const Config& cfg,
                   const Deadline& deadline, HandshakeResult& result);

// The end of an exchange on fd, blocking or not: on success the record (getpeername
// answers dest), on failure the socket shut down so nothing flows; EISCONN/EALREADY
// (the program's own connection) leave it alone. fresh: as for proxied_tcp_connect.
void settle(int fd, const sockaddr* dest, socklen_t dest_len, int err, bool fresh = false);

// settle, then the log line and audit record proxied_tcp_connect would write; via
// names the upstream(s) used (Path::via).
void finish_connect(int fd, const sockaddr* dest, socklen_t dest_len, std::string_view name,
                    const Config& cfg, int err, int64_t start_ns, const char* via);

HandshakeMode handshake_mode(const Config& cfg);
Credentials proxy_credentials(const Config& cfg);

}  // namespace socksify::shim
