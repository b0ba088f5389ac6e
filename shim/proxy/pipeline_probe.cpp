#include "shim/proxy/pipeline_probe.hpp"

#include <cerrno>

#include "protocol/messages.hpp"

namespace socksify::shim {
namespace {

using proto::Bytes;

// greeting [+ auth] + request in one write; then auth again and the second request,
// each on its own (a server that drops early bytes lost the first auth too, and
// would drop a request sent along with the second one).
struct ProbeBytes {
    uint8_t first[proto::kMaxGreeting + proto::kMaxUserPass + proto::kMaxRequest];
    size_t first_len = 0;
    size_t auth_at = 0;  // the auth message inside first
    size_t auth_len = 0;
    uint8_t second[proto::kMaxRequest];
    size_t second_len = 0;
};

bool encode_probe(const Credentials& creds, ProbeBytes& b) {
    bool auth = !creds.user.empty();
    // Pipelined auth offers only user/pass: a server choosing "no auth" would read
    // the credentials as a request (as in the handshake driver).
    static constexpr uint8_t kNoAuth[] = {0x00};
    static constexpr uint8_t kUserPassOnly[] = {0x02};
    proto::Address any{};
    any.type = proto::AddrType::kIpv4;  // 0.0.0.0:0
    proto::Out first(b.first);
    size_t n = proto::encode_greeting(
        first, proto::Greeting{auth ? Bytes(kUserPassOnly) : Bytes(kNoAuth)});
    size_t a = 0;
    if (auth) {
        a = proto::encode_userpass_request(first.subspan(n),
                                           proto::UserPassRequest{creds.user, creds.pass});
        if (a == 0) return false;
    }
    size_t r = proto::encode_request(first.subspan(n + a),
                                     proto::Request{proto::Command::kUdpAssociate, any});
    if (n == 0 || r == 0) return false;
    b.first_len = n + a + r;
    b.auth_at = n;
    b.auth_len = a;
    b.second_len = proto::encode_request(b.second, proto::Request{proto::Command::kConnect, any});
    return b.second_len != 0;
}

}  // namespace

ProbeOutcome probe_pipelining(int fd, const Credentials& creds, const Deadline& deadline) {
    ProbeOutcome out;
    ProbeBytes b;
    if (!encode_probe(creds, b)) {
        out.err = EINVAL;
        return out;
    }
    if ((out.err = send_all(fd, {b.first, b.first_len}, deadline))) return out;
    uint8_t buf[2];
    size_t got = 0;
    if ((out.err = recv_exact(fd, buf, got, deadline))) return out;
    if (buf[0] != proto::kVersion) {
        out.err = ECONNABORTED;
        return out;
    }
    out.method = buf[1];
    bool auth = !creds.user.empty();
    if (buf[1] != (auth ? 0x02 : 0x00)) {
        out.err = buf[1] == 0xFF ? EACCES : ECONNABORTED;
        return out;
    }
    // A server that kept the first request may have answered and closed already:
    // a failed write here is no verdict, the reply below is.
    if (auth) {
        (void)send_all(fd, {b.first + b.auth_at, b.auth_len}, deadline);
        if ((out.err = recv_exact(fd, buf, got, deadline))) return out;
        if (buf[0] != proto::kUserPassVersion || buf[1] != 0) {
            out.err = EACCES;
            return out;
        }
    }
    (void)send_all(fd, {b.second, b.second_len}, deadline);
    if ((out.err = recv_exact(fd, buf, got, deadline))) return out;
    if (buf[0] != proto::kVersion) {
        out.err = ECONNABORTED;
        return out;
    }
    out.rep = buf[1];
    out.verdict = proto::pipeline_verdict(buf[1]);
    return out;
}

}  // namespace socksify::shim
