// HTTP/1.1 CONNECT. The response head is read exactly to its blank line: each
// read peeks first and then takes only bytes that belong to the head, so the
// first tunnelled byte (a server that speaks first) stays in the socket for the
// program.
#include <arpa/inet.h>
#include <poll.h>

#include "protocol/http_connect.hpp"
#include "shim/log.hpp"
#include "shim/proxy/upstream.hpp"

namespace socksify::shim {
namespace {

// recv that retries EINTR and waits out EAGAIN; 0 or an errno, n the bytes read.
int recv_some(int fd, uint8_t* buf, size_t cap, int flags, size_t& n, const Deadline& deadline) {
    for (;;) {
        ssize_t r = recv(fd, buf, cap, flags | MSG_DONTWAIT);
        if (r >= 0) {
            n = static_cast<size_t>(r);
            return 0;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return errno;
        if (int err = wait_for(fd, POLLIN, deadline)) return err;
    }
}

}  // namespace

int run_http(int fd, const Hop& hop, const Target& target, const Deadline& deadline) {
    namespace http = proto::http;
    char host[INET6_ADDRSTRLEN];
    http::ConnectRequest req;
    req.port = target.port;
    req.user = hop.creds.user;
    req.pass = hop.creds.pass;
    if (target.type == proto::AddrType::kDomain) {
        req.host = target.domain;
    } else {
        int af = target.type == proto::AddrType::kIpv4 ? AF_INET : AF_INET6;
        if (inet_ntop(af, target.ip.data(), host, sizeof host) == nullptr) return EINVAL;
        req.host = host;
    }
    uint8_t out[http::kMaxRequest];
    size_t n = http::encode_connect(out, req);
    if (n == 0) return EINVAL;
    if (int err = send_all(fd, {out, n}, deadline)) return err;

    uint8_t head[http::kMaxResponseHead];
    size_t have = 0;
    for (;;) {
        if (have == sizeof head) return ECONNABORTED;  // no end within the limit
        size_t peeked = 0;
        if (int err = recv_some(fd, head + have, sizeof head - have, MSG_PEEK, peeked, deadline))
            return err;
        if (peeked == 0) return ECONNABORTED;  // closed before the head ended
        http::Response resp;
        proto::Result r = http::decode_response({head, have + peeked}, resp);
        if (r.status == proto::Status::kMalformed) {
            log_line(LogLevel::kError, "%s: not an HTTP response to CONNECT", hop.text);
            return ECONNABORTED;
        }
        // Take what belongs to the head: everything peeked, or up to its end.
        size_t take = r.status == proto::Status::kDone ? r.consumed - have : peeked;
        size_t took = 0;
        if (int err = recv_some(fd, head + have, take, 0, took, deadline)) return err;
        if (took != take) return ECONNABORTED;  // peeked bytes are there: cannot happen
        have += took;
        if (r.status != proto::Status::kDone) continue;
        int err = http::status_errno(resp.status);
        if (err != 0) {
            log_line(LogLevel::kError, "%s: http proxy answered %d %.*s", hop.text, resp.status,
                     static_cast<int>(resp.reason.size() > 80 ? 80 : resp.reason.size()),
                     resp.reason.data());
        }
        return err;
    }
}

}  // namespace socksify::shim
