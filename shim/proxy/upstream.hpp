// One hop of the way out: CONNECT on a socket already connected to an upstream proxy,
// in the language that upstream speaks (SOCKS5, SOCKS4/4a, HTTP CONNECT; nothing to a
// raw forwarder). One state machine per hop (HopExchange) moves bytes from protocol/
// codecs without blocking and leaves the socket positioned exactly at the first
// tunnelled byte; the blocking driver (run_hop) and the readiness hooks
// (shim/proxy/pending.hpp) drive the same steps.
#pragma once

#include "protocol/address.hpp"
#include "protocol/http_connect.hpp"
#include "protocol/socks4.hpp"
#include "shim/io.hpp"
#include "shim/proxy/handshake.hpp"
#include "shim/settings/config.hpp"

namespace socksify::shim {

struct Hop {
    ProxyKind kind = ProxyKind::kSocks5;
    Credentials creds;       // SOCKS4: user is the USERID; HTTP: Basic
    bool pipelined = false;  // SOCKS5 only (the others are one message anyway)
    const char* text = "";   // "198.51.100.1:1080", for log lines
};

// The destination asked of a hop: a name or an address, as SOCKS5 spells it.
using Target = proto::Address;

class HopExchange {
  public:
    // Encodes request (CONNECT for every kind; SOCKS5 also UDP ASSOCIATE) in hop's
    // language. Returns 0 or the errno for the program (nothing is sent then).
    int start(const Hop& hop, const proto::Request& request);
    // Advances as far as fd allows now. Returns the poll events to wait for, or 0 when
    // done: then out.err is the result (out.reply is filled for SOCKS5 only). ready: the
    // events a wait just reported for fd (0: unknown).
    short advance(int fd, HandshakeResult& out, short ready = 0);
    // For a driver that waits in poll between calls: as Handshake::wait_before_reading,
    // for every hop this exchange runs.
    void wait_before_reading() {
        poll_first_ = true;
        socks5_.wait_before_reading();
    }

  private:
    short advance_socks4(int fd, HandshakeResult& out);
    short advance_http(int fd, HandshakeResult& out);
    short finish(HandshakeResult& out, int err);

    static constexpr size_t kMaxOut = proto::socks4::kMaxRequest > proto::http::kMaxRequest
                                          ? proto::socks4::kMaxRequest
                                          : proto::http::kMaxRequest;
    ProxyKind kind_ = ProxyKind::kSocks5;
    const char* text_ = "";
    bool done_ = false;
    bool poll_first_ = false;
    bool readable_ = false;  // as Handshake's
    Handshake socks5_;
    uint8_t out_[kMaxOut];  // the SOCKS4 or HTTP request
    size_t out_len_ = 0;
    size_t sent_ = 0;
    size_t have_ = 0;                            // answer bytes taken into in_
    uint8_t in_[proto::http::kMaxResponseHead];  // the SOCKS4 reply or the HTTP head
};

// Runs CONNECT to target through hop on fd (connected, non-blocking) under deadline.
// Returns 0 or the errno for the program (README, "Upstream errors"); result.reply is
// filled for SOCKS5 only.
int run_hop(int fd, const Hop& hop, const Target& target, const Deadline& deadline,
            HandshakeResult& result);

const char* kind_name(ProxyKind kind);

// What an upstream said when it refused (the HTTP status line, "socks4 carries IPv4
// only"), kept for the calling thread's next connection line, so a failure logs one
// line. take_upstream_answer returns it ("" when none) and forgets it.
void note_upstream_answer(const char* format, ...) __attribute__((format(printf, 1, 2)));
const char* take_upstream_answer();

}  // namespace socksify::shim
