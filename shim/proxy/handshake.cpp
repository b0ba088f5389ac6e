// The blocking handshake driver: writes encoded messages, reads replies sized by
// their length fields (never past the reply, so no tunnelled byte is taken from
// the program), and maps every failure to one errno.
#include "shim/proxy/handshake.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "protocol/status.hpp"
#include "shim/real.hpp"

namespace socksify::shim {
namespace {

using proto::Bytes;
using proto::Method;
using proto::Status;

using proto::kReplyPrefix;
using proto::reply_rest;

int method_errno(Method m, bool offered_userpass) {
    if (m == Method::kNoAuth) return 0;
    if (m == Method::kUserPass && offered_userpass) return 0;
    if (m == Method::kNoAcceptable) return EACCES;  // the proxy wants credentials we lack
    return ECONNABORTED;                            // a method we never offered
}

// Checks a decoder's answer for a message that must be complete.
int complete(proto::Result r, size_t expected) {
    if (r.status == Status::kDone && r.consumed == expected) return 0;
    return ECONNABORTED;
}

// Encodes every message once; the two modes only differ in how they are written.
int encode_all(const proto::Request& request, const Credentials& creds, HandshakeMode mode,
               Encoded& e) {
    bool auth = !creds.user.empty();
    // Pipelined auth must offer only user/pass: a proxy choosing "no auth" would
    // read our credentials as the request.
    static constexpr uint8_t kNoAuth[] = {0x00};
    static constexpr uint8_t kUserPassOnly[] = {0x02};
    static constexpr uint8_t kBoth[] = {0x00, 0x02};
    Bytes methods = !auth                               ? Bytes(kNoAuth)
                    : mode == HandshakeMode::kPipelined ? Bytes(kUserPassOnly)
                                                        : Bytes(kBoth);
    proto::Out out(e.bytes);
    e.greeting = proto::encode_greeting(out, proto::Greeting{methods});
    if (auth)
        e.auth = proto::encode_userpass_request(out.subspan(e.greeting),
                                                proto::UserPassRequest{creds.user, creds.pass});
    e.request = proto::encode_request(out.subspan(e.greeting + e.auth), request);
    if (e.greeting == 0 || (auth && e.auth == 0) || e.request == 0) return EINVAL;
    return 0;
}

}  // namespace

int Handshake::start(const proto::Request& request, const Credentials& creds, HandshakeMode mode) {
    bool poll_first = poll_first_;  // the driver's, kept across hops
    *this = Handshake();
    poll_first_ = poll_first;
    if (int err = encode_all(request, creds, mode, e_)) return err;
    auth_ = !creds.user.empty();
    pipelined_ = mode == HandshakeMode::kPipelined;
    send_end_ = pipelined_ ? e_.greeting + e_.auth + e_.request : e_.greeting;
    want_ = 2;
    return 0;
}

short Handshake::finish(HandshakeResult& out, int err) {
    done_ = true;
    out.err = err;
    return 0;
}

// The errno for a read that failed with err: a failure reply cut short by a proxy
// that closes at once still tells the program what happened through its REP.
int Handshake::read_failed(const HandshakeResult& out, int err) const {
    bool in_reply = phase_ == Phase::kReplyPrefix || phase_ == Phase::kReplyRest;
    if (!in_reply || err != ECONNABORTED || have_ < 2 || out.storage[0] != proto::kVersion)
        return err;
    int rep_err = proto::reply_errno(out.storage[1]);
    return rep_err != 0 ? rep_err : err;
}

// One answer is complete: decode it and set up the next step. Returns -1 to go on,
// else the result (0 or an errno).
int Handshake::phase_done(HandshakeResult& out) {
    const uint8_t* buf = out.storage;
    size_t done = want_;
    switch (phase_) {
        case Phase::kMethod: {
            proto::MethodSelection sel;
            if (int err = complete(proto::decode_method_selection(Bytes(buf, 2), sel), 2))
                return err;
            if (int err = method_errno(sel.method, auth_)) return err;
            if (sel.method == Method::kUserPass) {
                if (!pipelined_) send_end_ += e_.auth;
                phase_ = Phase::kAuthStatus;
                want_ = 2;
            } else {
                if (pipelined_ && auth_) return ECONNABORTED;  // we offered only user/pass
                if (!pipelined_) {  // the credentials were not asked for: skip them
                    sent_ = e_.greeting + e_.auth;
                    send_end_ = sent_ + e_.request;
                }
                phase_ = Phase::kReplyPrefix;
                want_ = kReplyPrefix;
            }
            break;
        }
        case Phase::kAuthStatus: {
            proto::UserPassStatus status;
            if (int err = complete(proto::decode_userpass_status(Bytes(buf, 2), status), 2))
                return err;
            if (status.status != 0) return EACCES;
            if (!pipelined_) send_end_ += e_.request;
            phase_ = Phase::kReplyPrefix;
            want_ = kReplyPrefix;
            break;
        }
        case Phase::kReplyPrefix: {
            if (buf[0] != proto::kVersion) return ECONNABORTED;
            size_t rest = reply_rest(buf);
            if (rest == 0) {
                int rep_err = proto::reply_errno(buf[1]);
                return rep_err != 0 ? rep_err : ECONNABORTED;
            }
            phase_ = Phase::kReplyRest;
            want_ = kReplyPrefix + rest;
            return -1;  // the reply keeps its prefix: storage backs the decoded domain
        }
        case Phase::kReplyRest: {
            if (int err = complete(proto::decode_reply(Bytes(buf, want_), out.reply), want_))
                return err;
            return proto::reply_errno(static_cast<uint8_t>(out.reply.reply));
        }
    }
    // The next answer starts with the bytes read past this one.
    memmove(out.storage, out.storage + done, have_ - done);
    have_ -= done;
    return -1;
}

// Bytes certain to follow the current answer before anything of the program's: with
// everything sent at once, a server that accepts goes on to the authentication status
// and the reply, whose prefix (kReplyPrefix) comes before any tunnelled byte. A server
// that refuses closes instead, which a read reports as it is. Stepwise: nothing.
size_t Handshake::read_ahead() const {
    if (!pipelined_) return 0;
    if (phase_ == Phase::kMethod) return (auth_ ? 2 : 0) + kReplyPrefix;
    if (phase_ == Phase::kAuthStatus) return kReplyPrefix;
    return 0;
}

short send_step(int fd, const uint8_t* bytes, size_t& sent, size_t end, int& err) {
    while (sent < end) {
        ssize_t n = real::send(fd, bytes + sent, end - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<size_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return POLLOUT;
        } else {
            err = n < 0 ? errno : ECONNABORTED;
            return -1;
        }
    }
    return 0;
}

short Handshake::advance(int fd, HandshakeResult& out, short ready) {
    if (done_) return 0;
    if ((ready & (POLLIN | POLLERR | POLLHUP)) != 0) readable_ = true;
    for (;;) {
        if (sent_ < send_end_) {
            int err = 0;
            short ev = send_step(fd, e_.bytes, sent_, send_end_, err);
            if (ev < 0) return finish(out, err);
            readable_ = false;  // the answer to what was just sent is not there yet
            if (ev != 0) return ev;
        }
        while (have_ < want_) {
            if (poll_first_ && !readable_) return POLLIN;
            size_t ask = want_ - have_ + read_ahead();
            ssize_t n = real::recv(fd, out.storage + have_, ask, 0);
            if (n > 0) {
                have_ += static_cast<size_t>(n);
                readable_ = static_cast<size_t>(n) == ask;  // short: nothing more is there
            } else if (n == 0) {
                return finish(out, read_failed(out, ECONNABORTED));  // the proxy closed
            } else if (errno == EINTR) {
                continue;
            } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                readable_ = false;
                return POLLIN;
            } else {
                return finish(out, read_failed(out, errno));
            }
        }
        int r = phase_done(out);
        if (r >= 0) return finish(out, r);
    }
}

void run_handshake(int fd, const proto::Request& request, const Credentials& creds,
                   HandshakeMode mode, const Deadline& deadline, HandshakeResult& out) {
    Handshake h;
    out.err = 0;
    h.wait_before_reading();
    if ((out.err = h.start(request, creds, mode))) return;
    drive_exchange(h, fd, deadline, out);
}

}  // namespace socksify::shim
