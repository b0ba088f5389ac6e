// SOCKS4 and SOCKS4a CONNECT: one request, one 8-byte reply. SOCKS4 carries IPv4
// addresses only: a name (a fake address under remote DNS) is refused here rather
// than resolved behind the user's back, since resolving locally would leak the
// lookup the user asked to keep at the proxy.
#include <poll.h>

#include "protocol/socks4.hpp"
#include "shim/log.hpp"
#include "shim/proxy/upstream.hpp"

namespace socksify::shim {

int run_socks4(int fd, const Hop& hop, const Target& target, const Deadline& deadline) {
    namespace s4 = proto::socks4;
    s4::ConnectRequest req;
    req.port = target.port;
    req.user_id = hop.creds.user;
    if (target.type == proto::AddrType::kIpv6) {
        log_line(LogLevel::kError, "%s: socks4 carries IPv4 only", hop.text);
        return ENETUNREACH;  // what a host without IPv6 says: programs try IPv4 next
    }
    if (target.type == proto::AddrType::kDomain) {
        if (hop.kind == ProxyKind::kSocks4) {
            log_line(LogLevel::kError, "%s: socks4 cannot carry names; use socks4a", hop.text);
            return EHOSTUNREACH;
        }
        req.host = target.domain;
        req.ip = {0, 0, 0, 1};  // SOCKS4a: 0.0.0.x, x ≠ 0, means "the name follows"
    } else {
        for (size_t i = 0; i < 4; ++i) req.ip[i] = target.ip[i];
    }
    uint8_t buf[s4::kMaxRequest];
    size_t n = s4::encode_connect(buf, req);
    if (n == 0) return EINVAL;  // a name or user id SOCKS4 cannot carry
    if (int err = send_all(fd, {buf, n}, deadline)) return err;
    if (int err = wait_for(fd, POLLIN, deadline)) return err;
    uint8_t reply[s4::kReplySize];
    size_t got = 0;
    if (int err = recv_exact(fd, reply, got, deadline)) {
        // A refusal cut short still says what happened.
        if (got >= 2 && reply[0] == s4::kReplyVersion && s4::reply_errno(reply[1]) != 0)
            return s4::reply_errno(reply[1]);
        return err;
    }
    s4::Reply r;
    if (s4::decode_reply(reply, r).status != proto::Status::kDone) return ECONNABORTED;
    return s4::reply_errno(r.code);
}

}  // namespace socksify::shim
