// SOCKS4 and SOCKS4a CONNECT: one request, one 8-byte reply. SOCKS4 carries IPv4
// addresses only: a name (a fake address under remote DNS) is refused here rather
// than resolved behind the user's back, since resolving locally would leak the
// lookup the user asked to keep at the proxy.
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "protocol/socks4.hpp"
#include "shim/log.hpp"
#include "shim/proxy/upstream.hpp"
#include "shim/real.hpp"

namespace socksify::shim {

size_t encode_socks4(const Hop& hop, const Target& target, std::span<uint8_t> out, int& err) {
    namespace s4 = proto::socks4;
    s4::ConnectRequest req;
    req.port = target.port;
    req.user_id = hop.creds.user;
    if (target.type == proto::AddrType::kIpv6) {
        note_upstream_answer("%s: socks4 carries IPv4 only", hop.text);
        err = ENETUNREACH;  // what a host without IPv6 says: programs try IPv4 next
        return 0;
    }
    if (target.type == proto::AddrType::kDomain) {
        if (hop.kind == ProxyKind::kSocks4) {
            note_upstream_answer("%s: socks4 cannot carry names; use socks4a", hop.text);
            err = EHOSTUNREACH;
            return 0;
        }
        req.host = target.domain;
        req.ip = {0, 0, 0, 1};  // SOCKS4a: 0.0.0.x, x ≠ 0, means "the name follows"
    } else {
        for (size_t i = 0; i < 4; ++i) req.ip[i] = target.ip[i];
    }
    err = EINVAL;  // a name or user id SOCKS4 cannot carry
    return s4::encode_connect(out, req);
}

// The request is sent: read the reply, exactly its 8 bytes.
short HopExchange::advance_socks4(int fd, HandshakeResult& out) {
    namespace s4 = proto::socks4;
    // A refusal cut short still says what happened.
    auto cut_short = [&](int err) {
        if (have_ >= 2 && in_[0] == s4::kReplyVersion && s4::reply_errno(in_[1]) != 0)
            return finish(out, s4::reply_errno(in_[1]));
        return finish(out, err);
    };
    while (have_ < s4::kReplySize) {
        ssize_t n = real::recv(fd, in_ + have_, s4::kReplySize - have_, 0);
        if (n > 0) {
            have_ += static_cast<size_t>(n);
        } else if (n == 0) {
            return cut_short(ECONNABORTED);
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return POLLIN;
        } else {
            return cut_short(errno);
        }
    }
    s4::Reply r;
    if (s4::decode_reply({in_, s4::kReplySize}, r).status != proto::Status::kDone)
        return finish(out, ECONNABORTED);
    return finish(out, s4::reply_errno(r.code));
}

}  // namespace socksify::shim
