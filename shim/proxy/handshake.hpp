// The SOCKS5 client exchange on a connected, non-blocking socket: greeting,
// optional RFC 1929 authentication, one request, its reply. Bytes come from and
// go to the protocol/ codec; this file only moves them under a deadline.
#pragma once

#include <string_view>

#include "protocol/messages.hpp"
#include "shim/io.hpp"

namespace socksify::shim {

struct Credentials {
    std::string_view user;  // empty: offer "no authentication" only
    std::string_view pass;
};

enum class HandshakeMode : uint8_t {
    kPipelined,  // greeting [+ auth] + request in one write (one round trip)
    kStepwise,   // one message per round trip
};

struct HandshakeResult {
    int err = 0;  // 0, or the errno the program should see
    proto::ReplyMessage reply;
    uint8_t storage[proto::kMaxRequest] = {};  // backs reply.bound.domain
};

// Everything the exchange sends, encoded once; the modes differ only in how it is written.
struct Encoded {
    uint8_t bytes[proto::kMaxGreeting + proto::kMaxUserPass + proto::kMaxRequest];
    size_t greeting = 0;
    size_t auth = 0;
    size_t request = 0;
};

// The writing step of an exchange: bytes [sent, end) as far as fd takes them now
// (MSG_NOSIGNAL: a vanished proxy is an errno, not SIGPIPE). Returns 0 when all are
// sent, POLLOUT to wait, or -1 with err the errno for the program. Every exchange
// (SOCKS5 here, SOCKS4 and HTTP in upstream.cpp) writes through it.
short send_step(int fd, const uint8_t* bytes, size_t& sent, size_t end, int& err);

// One hop's exchange as a state machine advanced from non-blocking I/O: the blocking
// driver (run_handshake) and the readiness hooks (shim/proxy/pending.hpp) drive the same
// steps, so there is one implementation. A SOCKS5 hop of a chain is one of these
// (shim/proxy/upstream.hpp, HopExchange).
class Handshake {
  public:
    // Encodes the messages (fd is connected to the proxy: shim/proxy/chain.hpp, Path,
    // waits for that). Returns 0 or an errno.
    int start(const proto::Request& request, const Credentials& creds, HandshakeMode mode);
    // Advances as far as fd allows now (never blocks, never reads past the reply).
    // Returns the poll events to wait for, or 0 when done: then out.err is the result.
    // ready: the events a wait just reported for fd (0: unknown).
    short advance(int fd, HandshakeResult& out, short ready = 0);
    // For a driver that waits in poll between calls (after start): an answer is
    // waited for before it is read unless the last wait said readable or the last
    // read filled all it asked for; a read first would mostly find nothing yet and
    // cost a call (issue 15). The readiness hooks' driver tries at once.
    void wait_before_reading() { poll_first_ = true; }

  private:
    enum class Phase : uint8_t { kMethod, kAuthStatus, kReplyPrefix, kReplyRest };
    short finish(HandshakeResult& out, int err);
    int read_failed(const HandshakeResult& out, int err) const;
    int phase_done(HandshakeResult& out);
    size_t read_ahead() const;

    Encoded e_;
    size_t sent_ = 0;
    size_t send_end_ = 0;
    // Bytes of the current answer in out.storage; past want_: the next answers' first
    // bytes, read with this one (read_ahead).
    size_t have_ = 0;
    size_t want_ = 0;
    Phase phase_ = Phase::kMethod;
    bool auth_ = false;
    bool pipelined_ = false;
    bool done_ = false;
    bool poll_first_ = false;
    bool readable_ = false;  // the last wait said readable, or the last read was full
};

// The blocking driver of one exchange X (Handshake, HopExchange), started and told to
// wait before reading: advances it, waits for what it asks under the deadline, hands
// it what the wait reported. Returns out.err (0 or the errno for the program).
template <class X>
int drive_exchange(X& x, int fd, const Deadline& deadline, HandshakeResult& out) {
    short ready = 0;
    for (;;) {
        short events = x.advance(fd, out, ready);
        if (events == 0) return out.err;
        if (int err = wait_for(fd, events, deadline, &ready)) return out.err = err;
    }
}

// Runs the exchange under the deadline alone. The pipelined mode is only for servers
// known to keep early bytes (shim/proxy/pipeline_probe.hpp): nothing here guesses from time.
void run_handshake(int fd, const proto::Request& request, const Credentials& creds,
                   HandshakeMode mode, const Deadline& deadline, HandshakeResult& out);

}  // namespace socksify::shim
