// The blocking handshake driver: writes encoded messages, reads replies sized by
// their length fields (never past the reply, so no tunnelled byte is taken from
// the program), and maps every failure to one errno.
#include "shim/handshake.hpp"

#include <poll.h>

#include <cerrno>

#include "protocol/status.hpp"

namespace socksify::shim {
namespace {

using proto::Bytes;
using proto::Method;
using proto::Status;

constexpr size_t kReplyPrefix = 5;  // VER REP RSV ATYP + first address byte

// Bytes of a reply still to read once its 5-byte prefix is in; 0 if ATYP is bad.
size_t reply_rest(const uint8_t* prefix) {
    switch (static_cast<proto::AddrType>(prefix[3])) {
        case proto::AddrType::kIpv4: return 4 + 2 - 1;
        case proto::AddrType::kIpv6: return 16 + 2 - 1;
        case proto::AddrType::kDomain: return static_cast<size_t>(prefix[4]) + 2;
    }
    return 0;
}

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

// Reads and decodes the reply; its first `have` bytes may already be in buf.
int read_reply(int fd, uint8_t* buf, size_t have, const Deadline& deadline, HandshakeResult& out) {
    size_t got = 0;
    if (have < kReplyPrefix) {
        if (int err = recv_exact(fd, {buf + have, kReplyPrefix - have}, got, deadline)) {
            // Cut inside the prefix: a REP that did arrive still says what happened.
            bool has_rep = have + got >= 2 && buf[0] == proto::kVersion;
            int rep_err = has_rep ? proto::reply_errno(buf[1]) : 0;
            return rep_err != 0 && err == ECONNABORTED ? rep_err : err;
        }
    }
    if (buf[0] != proto::kVersion) return ECONNABORTED;
    // A failure reply may be cut short by a proxy that closes at once: its REP
    // still tells the program what happened.
    int rep_err = proto::reply_errno(buf[1]);
    size_t rest = reply_rest(buf);
    if (rest == 0) return rep_err != 0 ? rep_err : ECONNABORTED;
    int err = recv_exact(fd, {buf + kReplyPrefix, rest}, got, deadline);
    if (err != 0) return rep_err != 0 && err == ECONNABORTED ? rep_err : err;
    size_t len = kReplyPrefix + rest;
    if (int e = complete(proto::decode_reply(Bytes(buf, len), out.reply), len)) return e;
    return proto::reply_errno(static_cast<uint8_t>(out.reply.reply));
}

// Every answer is read right after our own write: the proxy has rarely answered yet
// (with microsocks, 6 times in 10 not even the method selection), so a read first would
// mostly say EAGAIN and cost a call more than the wait it leads to.
int wait_then_recv(int fd, std::span<uint8_t> buf, size_t& got, const Deadline& deadline) {
    got = 0;
    if (int err = wait_for(fd, POLLIN, deadline)) return err;
    return recv_exact(fd, buf, got, deadline);
}

struct Encoded {
    uint8_t bytes[proto::kMaxGreeting + proto::kMaxUserPass + proto::kMaxRequest];
    size_t greeting = 0;
    size_t auth = 0;
    size_t request = 0;
};

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

void run_pipelined(int fd, const Encoded& e, bool auth, const Deadline& deadline,
                   HandshakeResult& out) {
    if ((out.err = send_all(fd, {e.bytes, e.greeting + e.auth + e.request}, deadline))) return;
    // Method selection, the auth status and the reply prefix are fixed-size: one read.
    // Only the deadline bounds it: a slow proxy is not a broken one.
    uint8_t* buf = out.storage;
    size_t want = 2 + (auth ? 2 : 0) + kReplyPrefix;
    size_t got = 0;
    int err = wait_then_recv(fd, {buf, want}, got, deadline);
    proto::MethodSelection sel;
    if (got >= 2) {
        if ((out.err = complete(proto::decode_method_selection(Bytes(buf, 2), sel), 2))) return;
        if ((out.err = method_errno(sel.method, auth))) return;
        if (auth && sel.method != Method::kUserPass) {
            out.err = ECONNABORTED;  // we offered only user/pass
            return;
        }
    }
    if (auth && got >= 4) {
        proto::UserPassStatus status;
        if ((out.err = complete(proto::decode_userpass_status(Bytes(buf + 2, 2), status), 2)))
            return;
        if (status.status != 0) {
            out.err = EACCES;
            return;
        }
    }
    size_t before_reply = 2 + (auth ? 2 : 0);
    if (err != 0 && got < before_reply + 2) {
        out.err = err;
        return;
    }
    // Move the reply prefix to the front so storage backs the decoded domain.
    size_t have = got - before_reply;
    for (size_t i = 0; i < have; ++i) buf[i] = buf[before_reply + i];
    if (err != 0 && have < kReplyPrefix) {
        int rep_err = have >= 2 && buf[0] == proto::kVersion ? proto::reply_errno(buf[1]) : 0;
        out.err = rep_err != 0 ? rep_err : err;
        return;
    }
    out.err = read_reply(fd, buf, have, deadline, out);
}

void run_stepwise(int fd, const Encoded& e, bool auth, const Deadline& deadline,
                  HandshakeResult& out) {
    uint8_t* buf = out.storage;
    size_t got = 0;
    if ((out.err = send_all(fd, {e.bytes, e.greeting}, deadline))) return;
    if ((out.err = wait_then_recv(fd, {buf, 2}, got, deadline))) return;
    proto::MethodSelection sel;
    if ((out.err = complete(proto::decode_method_selection(Bytes(buf, 2), sel), 2))) return;
    if ((out.err = method_errno(sel.method, auth))) return;
    if (sel.method == Method::kUserPass) {
        if ((out.err = send_all(fd, {e.bytes + e.greeting, e.auth}, deadline))) return;
        if ((out.err = wait_then_recv(fd, {buf, 2}, got, deadline))) return;
        proto::UserPassStatus status;
        if ((out.err = complete(proto::decode_userpass_status(Bytes(buf, 2), status), 2))) return;
        if (status.status != 0) {
            out.err = EACCES;
            return;
        }
    }
    if ((out.err = send_all(fd, {e.bytes + e.greeting + e.auth, e.request}, deadline))) return;
    if ((out.err = wait_for(fd, POLLIN, deadline))) return;
    out.err = read_reply(fd, buf, 0, deadline, out);
}

}  // namespace

void run_handshake(int fd, const proto::Request& request, const Credentials& creds,
                   HandshakeMode mode, const Deadline& deadline, HandshakeResult& out) {
    out.err = 0;
    Encoded e;
    if ((out.err = encode_all(request, creds, mode, e))) return;
    bool auth = !creds.user.empty();
    if (mode == HandshakeMode::kPipelined)
        run_pipelined(fd, e, auth, deadline, out);
    else
        run_stepwise(fd, e, auth, deadline, out);
}

}  // namespace socksify::shim
