// HTTP/1.1 CONNECT. The response head is read exactly to its blank line: each
// read peeks first and then takes only bytes that belong to the head, so the
// first tunnelled byte (a server that speaks first) stays in the socket for the
// program.
#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "protocol/http_connect.hpp"
#include "shim/log.hpp"
#include "shim/proxy/upstream.hpp"
#include "shim/real.hpp"

namespace socksify::shim {

size_t encode_http(const Hop& hop, const Target& target, std::span<uint8_t> out, int& err) {
    namespace http = proto::http;
    char host[INET6_ADDRSTRLEN];
    http::ConnectRequest req;
    req.port = target.port;
    req.user = hop.creds.user;
    req.pass = hop.creds.pass;
    err = EINVAL;
    if (target.type == proto::AddrType::kDomain) {
        req.host = target.domain;
    } else {
        int af = target.type == proto::AddrType::kIpv4 ? AF_INET : AF_INET6;
        if (inet_ntop(af, target.ip.data(), host, sizeof host) == nullptr) return 0;
        req.host = host;
    }
    return http::encode_connect(out, req);
}

// recv that retries EINTR: the count, -1 for "wait for input", or -2 - errno.
static ssize_t recv_now(int fd, uint8_t* buf, size_t cap, int flags) {
    for (;;) {
        ssize_t r = real::recv(fd, buf, cap, flags | MSG_DONTWAIT);
        if (r >= 0) return r;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return -1;
        return -2 - errno;
    }
}

// The request is sent: read the head to its end.
short HopExchange::advance_http(int fd, HandshakeResult& out) {
    namespace http = proto::http;
    for (;;) {
        if (have_ == sizeof in_) return finish(out, ECONNABORTED);  // no end within the limit
        ssize_t peeked = recv_now(fd, in_ + have_, sizeof in_ - have_, MSG_PEEK);
        if (peeked == -1) return POLLIN;
        if (peeked < -1) return finish(out, static_cast<int>(-2 - peeked));
        if (peeked == 0) return finish(out, ECONNABORTED);  // closed before the head ended
        http::Response resp;
        proto::Result r = http::decode_response({in_, have_ + static_cast<size_t>(peeked)}, resp);
        if (r.status == proto::Status::kMalformed) {
            note_upstream_answer("%s: not an HTTP response to CONNECT", text_);
            return finish(out, ECONNABORTED);
        }
        // Take what belongs to the head: everything peeked, or up to its end.
        size_t take =
            r.status == proto::Status::kDone ? r.consumed - have_ : static_cast<size_t>(peeked);
        ssize_t took = recv_now(fd, in_ + have_, take, 0);
        if (took != static_cast<ssize_t>(take))  // peeked bytes are there: cannot happen
            return finish(out, took < -1 ? static_cast<int>(-2 - took) : ECONNABORTED);
        have_ += take;
        if (r.status != proto::Status::kDone) continue;
        int err = http::status_errno(resp.status);
        if (err != 0) {
            note_upstream_answer(
                "%s: http proxy answered %d %.*s", text_, resp.status,
                static_cast<int>(resp.reason.size() > 80 ? 80 : resp.reason.size()),
                resp.reason.data());
        }
        return finish(out, err);
    }
}

}  // namespace socksify::shim
