// run_hop: the one entry point tcp_connect uses, whatever the upstream speaks.
#include "shim/proxy/upstream.hpp"

namespace socksify::shim {

const char* kind_name(ProxyKind kind) {
    switch (kind) {
        case ProxyKind::kSocks4: return "socks4";
        case ProxyKind::kSocks4a: return "socks4a";
        case ProxyKind::kHttp: return "http";
        case ProxyKind::kSocks5: break;
    }
    return "socks5";
}

int run_hop(int fd, const Hop& hop, const Target& target, const Deadline& deadline,
            HandshakeResult& result) {
    switch (hop.kind) {
        case ProxyKind::kSocks4:
        case ProxyKind::kSocks4a: return result.err = run_socks4(fd, hop, target, deadline);
        case ProxyKind::kHttp: return result.err = run_http(fd, hop, target, deadline);
        case ProxyKind::kSocks5: break;
    }
    run_handshake(fd, proto::Request{proto::Command::kConnect, target}, hop.creds,
                  hop.pipelined ? HandshakeMode::kPipelined : HandshakeMode::kStepwise, deadline,
                  result);
    return result.err;
}

}  // namespace socksify::shim
