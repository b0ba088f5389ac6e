// HopExchange: the one state machine for a hop, whatever the upstream speaks. SOCKS5
// is Handshake's; SOCKS4 and HTTP (upstream_socks4.cpp, upstream_http.cpp) send one
// request and read one answer, sharing the send step here; a raw forwarder is done
// once connected.
#include "shim/proxy/upstream.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "shim/real.hpp"

namespace socksify::shim {

namespace {
thread_local char t_answer[128];
thread_local char t_taken[128];
}  // namespace

void note_upstream_answer(const char* format, ...) {
    va_list ap;
    va_start(ap, format);
    std::vsnprintf(t_answer, sizeof t_answer, format, ap);
    va_end(ap);
}

const char* take_upstream_answer() {
    memcpy(t_taken, t_answer, sizeof t_taken);
    t_answer[0] = '\0';
    return t_taken;
}

// The URL scheme, with SOCKS5 named alone (whether names go remote is not the kind).
const char* kind_name(ProxyKind kind) { return proxy_scheme(kind, false); }

// The per-kind encoders (upstream_socks4.cpp, upstream_http.cpp): the request's bytes
// into out, their count, or 0 with err set.
size_t encode_socks4(const Hop& hop, const Target& target, std::span<uint8_t> out, int& err);
size_t encode_http(const Hop& hop, const Target& target, std::span<uint8_t> out, int& err);

int HopExchange::start(const Hop& hop, const proto::Request& request) {
    kind_ = hop.kind;
    text_ = hop.text;
    done_ = readable_ = false;
    out_len_ = sent_ = have_ = 0;
    if (kind_ == ProxyKind::kSocks5)
        return socks5_.start(request, hop.creds,
                             hop.pipelined ? HandshakeMode::kPipelined : HandshakeMode::kStepwise);
    // Never direct: a datagram path exists only through a SOCKS5 upstream (the UDP
    // path says so before it connects anywhere).
    if (request.command != proto::Command::kConnect) return EACCES;
    if (kind_ == ProxyKind::kRaw) return 0;  // a forwarder: connected is done
    int err = 0;
    out_len_ = kind_ == ProxyKind::kHttp ? encode_http(hop, request.address, out_, err)
                                         : encode_socks4(hop, request.address, out_, err);
    return out_len_ == 0 ? (err != 0 ? err : EINVAL) : 0;
}

short HopExchange::finish(HandshakeResult& out, int err) {
    done_ = true;
    out.err = err;
    return 0;
}

short HopExchange::advance(int fd, HandshakeResult& out, short ready) {
    if (done_) return 0;
    if (kind_ == ProxyKind::kSocks5) return socks5_.advance(fd, out, ready);
    if (kind_ == ProxyKind::kRaw) return finish(out, 0);
    if ((ready & (POLLIN | POLLERR | POLLHUP)) != 0) readable_ = true;
    if (sent_ < out_len_) {
        int err = 0;
        short ev = send_step(fd, out_, sent_, out_len_, err);
        if (ev < 0) return finish(out, err);
        readable_ = false;  // the answer is not there yet
        if (ev != 0) return ev;
    }
    if (poll_first_ && !readable_) return POLLIN;
    short ev = kind_ == ProxyKind::kHttp ? advance_http(fd, out) : advance_socks4(fd, out);
    if (ev == 0) done_ = true;
    readable_ = false;  // a wait comes next, or the end
    return ev;
}

int run_hop(int fd, const Hop& hop, const Target& target, const Deadline& deadline,
            HandshakeResult& result) {
    HopExchange x;
    result.err = 0;
    x.wait_before_reading();
    if ((result.err = x.start(hop, proto::Request{proto::Command::kConnect, target})))
        return result.err;
    return drive_exchange(x, fd, deadline, result);
}

}  // namespace socksify::shim
