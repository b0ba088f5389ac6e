// The address classification against the running kernel: for every family value 0..45
// and every length 0..128, on fresh TCP and UDP sockets of both families (and IPv6
// sockets with IPV6_V6ONLY), the kernel's own answer to connect, sendto, sendmsg and
// Fast Open sends must be what classify_address predicts, and an accepted datagram
// must arrive where the predicted destination says. Loopback only.
#include "shim/address_form.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace socksify::shim {
namespace {

struct Kind {
    const char* name;
    int domain;
    int type;
    bool v6only;
};

constexpr Kind kKinds[] = {
    {"tcp4", AF_INET, SOCK_STREAM, false},     {"tcp6", AF_INET6, SOCK_STREAM, false},
    {"tcp6only", AF_INET6, SOCK_STREAM, true}, {"udp4", AF_INET, SOCK_DGRAM, false},
    {"udp6", AF_INET6, SOCK_DGRAM, false},     {"udp6only", AF_INET6, SOCK_DGRAM, true},
};

enum class Call { kConnect, kSendto, kSendmsg, kTfoSendto, kTfoSendmsg };
constexpr Call kCalls[] = {Call::kConnect, Call::kSendto, Call::kSendmsg, Call::kTfoSendto,
                           Call::kTfoSendmsg};
const char* call_name(Call c) {
    switch (c) {
        case Call::kConnect: return "connect";
        case Call::kSendto: return "sendto";
        case Call::kSendmsg: return "sendmsg";
        case Call::kTfoSendto: return "tfo-sendto";
        default: return "tfo-sendmsg";
    }
}

// A loopback endpoint of each family on one port: v4 at 127.0.0.1, v6 (v6only) at ::1.
struct Pair {
    int v4 = -1;
    int v6 = -1;
    uint16_t port = 0;
};

bool bind_loopback(int fd, int family, uint16_t port) {
    if (family == AF_INET) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    a.sin6_addr = in6addr_loopback;
    return bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

Pair open_pair(int type) {
    for (int attempt = 0; attempt < 20; ++attempt) {
        Pair p;
        p.v4 = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        p.v6 = socket(AF_INET6, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        socklen_t n = sizeof a;
        if (bind_loopback(p.v4, AF_INET, 0) &&
            getsockname(p.v4, reinterpret_cast<sockaddr*>(&a), &n) == 0 &&
            bind_loopback(p.v6, AF_INET6, ntohs(a.sin_port))) {
            p.port = ntohs(a.sin_port);
            if (type == SOCK_STREAM) {
                listen(p.v4, 4096);
                listen(p.v6, 4096);
            }
            return p;
        }
        close(p.v4);
        close(p.v6);
    }
    return {};
}

// The probe's address bytes: family fam, the port, 127.0.0.1 where sockaddr_in has
// its address (= sin6_flowinfo, which the kernel ignores) and v6 where sockaddr_in6
// has its address, then a zero scope id and filler the kernel must not read.
void fill(uint8_t (&buf)[160], int fam, uint16_t port, const in6_addr& v6) {
    memset(buf, 0xa5, sizeof buf);
    sa_family_t f = static_cast<sa_family_t>(fam);
    memcpy(buf, &f, sizeof f);
    uint16_t p = htons(port);
    memcpy(buf + 2, &p, 2);
    in_addr v4{htonl(INADDR_LOOPBACK)};
    memcpy(buf + 4, &v4, 4);
    memcpy(buf + 8, &v6, 16);
    memset(buf + 24, 0, 4);
}

// The kernel's answer: 0 when it took the call (sent, or connecting), else errno.
int kernel_answer(int fd, Call c, const uint8_t* buf, socklen_t len) {
    char byte = 'x';
    iovec iov{&byte, 1};
    msghdr m{};
    m.msg_name = const_cast<uint8_t*>(buf);
    m.msg_namelen = len;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    auto* a = reinterpret_cast<const sockaddr*>(buf);
    long rc = 0;
    switch (c) {
        case Call::kConnect: rc = connect(fd, a, len); break;
        case Call::kSendto: rc = sendto(fd, &byte, 1, MSG_NOSIGNAL, a, len); break;
        case Call::kSendmsg: rc = sendmsg(fd, &m, MSG_NOSIGNAL); break;
        case Call::kTfoSendto:
            rc = sendto(fd, &byte, 1, MSG_NOSIGNAL | MSG_FASTOPEN, a, len);
            break;
        case Call::kTfoSendmsg: rc = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_FASTOPEN); break;
    }
    if (rc >= 0) return 0;
    return errno == EINPROGRESS ? 0 : errno;
}

// The datagram an accepted send put on a receiver: which family's, or 0 if none.
int drained(const Pair& udp) {
    char b[8];
    int got = 0;
    if (recv(udp.v4, b, sizeof b, MSG_DONTWAIT) >= 0) got = AF_INET;
    if (recv(udp.v6, b, sizeof b, MSG_DONTWAIT) >= 0) got = got ? -1 : AF_INET6;
    return got;
}

std::string errno_name(int e) {
    const char* n = e > 0 ? strerrorname_np(e) : nullptr;
    return n != nullptr ? n : std::to_string(e);
}

std::string describe(const Kind& k, Call c, int fam, socklen_t len, const char* variant) {
    return std::string(k.name) + " " + call_name(c) + " family " + std::to_string(fam) + " len " +
           std::to_string(len) + " " + variant;
}

TEST(AddressForm, MatchesTheKernelForEveryFamilyAndLength) {
    signal(SIGPIPE, SIG_IGN);
    Pair tcp = open_pair(SOCK_STREAM);
    Pair udp = open_pair(SOCK_DGRAM);
    if (tcp.port == 0 || udp.port == 0) GTEST_SKIP() << "no IPv4 and IPv6 loopback here";
    // Fast Open sends are compared only where the kernel lets clients use it.
    bool tfo_client = false;
    if (FILE* f = fopen("/proc/sys/net/ipv4/tcp_fastopen", "r")) {
        int v = 0;
        tfo_client = fscanf(f, "%d", &v) == 1 && (v & 1) != 0;
        fclose(f);
    }
    in6_addr mapped{};
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &mapped);
    struct Variant {
        const char* name;
        in6_addr v6;
        bool mapped;
        bool port_zero;
    } variants[] = {{"::1", in6addr_loopback, false, false},
                    {"::ffff:127.0.0.1", mapped, true, false},
                    {"::1 port 0", in6addr_loopback, false, true}};
    std::vector<std::string> wrong;
    long checked = 0;
    long accepted = 0;
    for (const Kind& k : kKinds) {
        bool udp_kind = k.type == SOCK_DGRAM;
        const Pair& target = udp_kind ? udp : tcp;
        SocketShape shape{k.domain, udp_kind ? Proto::kUdp : Proto::kTcp, k.v6only};
        for (Call c : kCalls) {
            bool tfo = c == Call::kTfoSendto || c == Call::kTfoSendmsg;
            if (udp_kind && tfo) continue;  // UDP ignores MSG_FASTOPEN: a plain send
            if (tfo && !tfo_client) continue;
            Entry entry = c == Call::kConnect                           ? Entry::kConnect
                          : c == Call::kSendto || c == Call::kTfoSendto ? Entry::kSendto
                                                                        : Entry::kSendmsg;
            for (const Variant& v : variants) {
                if (v.mapped && k.domain != AF_INET6) continue;
                if (v.port_zero && !udp_kind) continue;  // only UDP refuses port 0
                // One socket until the kernel takes a call: a refused call leaves
                // its state as it was.
                int fd = -1;
                for (int fam = 0; fam <= 45; ++fam) {
                    for (socklen_t len = 0; len <= 128; ++len) {
                        uint8_t buf[160];
                        fill(buf, fam, v.port_zero ? 0 : target.port, v.v6);
                        if (fd < 0) {
                            fd = socket(k.domain, k.type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                            ASSERT_GE(fd, 0);
                            int on = k.v6only ? 1 : 0;
                            if (k.domain == AF_INET6)
                                setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
                        }
                        AddressForm f = classify_address(
                            shape, entry, tfo, reinterpret_cast<const sockaddr*>(buf), len);
                        int got = kernel_answer(fd, c, buf, len);
                        ++checked;
                        if (got == 0 && (!udp_kind || c == Call::kConnect)) {
                            close(fd);
                            fd = -1;
                        }
                        int want = 0;
                        switch (f.form) {
                            case Form::kDest:
                            case Form::kDisconnect: want = 0; break;
                            case Form::kNoDest: want = EDESTADDRREQ; break;
                            case Form::kIgnored: want = EPIPE; break;
                            case Form::kRejected: want = f.err; break;
                            case Form::kUnknown: want = -1; break;
                        }
                        std::string what = describe(k, c, fam, len, v.name);
                        if (got != want) {
                            wrong.push_back(what + ": kernel " + errno_name(got) + ", predicted " +
                                            errno_name(want));
                            continue;
                        }
                        if (f.form != Form::kDest) continue;
                        ++accepted;
                        if (!udp_kind || c == Call::kConnect) continue;
                        // Where the datagram went must be where dest says.
                        int dest_family = f.dest.ss_family;
                        if (dest_family == AF_INET6 &&
                            IN6_IS_ADDR_V4MAPPED(
                                &reinterpret_cast<sockaddr_in6&>(f.dest).sin6_addr))
                            dest_family = AF_INET;
                        int arrived = drained(udp);
                        if (arrived != dest_family)
                            wrong.push_back(what + ": datagram arrived at family " +
                                            std::to_string(arrived) + ", predicted " +
                                            std::to_string(dest_family));
                    }
                }
                if (fd >= 0) close(fd);
            }
        }
    }
    EXPECT_GT(accepted, 1000);
    EXPECT_GT(checked, 200000);
    std::string first;
    for (size_t i = 0; i < wrong.size() && i < 30; ++i) first += wrong[i] + "\n";
    EXPECT_TRUE(wrong.empty()) << wrong.size() << " mismatches, first:\n" << first;
    for (int fd : {tcp.v4, tcp.v6, udp.v4, udp.v6}) close(fd);
}

TEST(AddressForm, NoNameAndNullPointers) {
    SocketShape udp4{AF_INET, Proto::kUdp, false};
    SocketShape tcp6{AF_INET6, Proto::kTcp, false};
    EXPECT_EQ(classify_address(udp4, Entry::kSendto, false, nullptr, 0).form, Form::kNoDest);
    EXPECT_EQ(classify_address(udp4, Entry::kSendmsg, false, nullptr, 16).form, Form::kNoDest);
    EXPECT_EQ(classify_address(tcp6, Entry::kConnect, false, nullptr, 28).err, EFAULT);
    EXPECT_EQ(classify_address(tcp6, Entry::kConnect, false, nullptr, 0).err, EINVAL);
    EXPECT_EQ(classify_address(tcp6, Entry::kSendto, true, nullptr, 0).err, EINVAL);
    EXPECT_EQ(classify_address(tcp6, Entry::kSendto, false, nullptr, 0).form, Form::kIgnored);
    SocketShape raw{AF_INET, Proto::kOther, false};
    EXPECT_EQ(classify_address(raw, Entry::kSendto, false, nullptr, 0).form, Form::kUnknown);
}

TEST(AddressForm, ShortSockaddrIn6IsAFullDestinationWithoutScope) {
    uint8_t buf[28];
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(80);
    inet_pton(AF_INET6, "2001:db8::7", &in6.sin6_addr);
    in6.sin6_scope_id = 0x01020304;
    memcpy(buf, &in6, sizeof buf);
    for (socklen_t len = 24; len <= 28; ++len) {
        SocketShape s{AF_INET6, Proto::kTcp, false};
        AddressForm f =
            classify_address(s, Entry::kConnect, false, reinterpret_cast<sockaddr*>(buf), len);
        ASSERT_EQ(f.form, Form::kDest) << len;
        EXPECT_EQ(f.dest_len, sizeof(sockaddr_in6));
        auto& d = reinterpret_cast<sockaddr_in6&>(f.dest);
        EXPECT_EQ(d.sin6_scope_id, len == 28 ? 0x01020304u : 0u) << len;
        EXPECT_EQ(memcmp(&d.sin6_addr, &in6.sin6_addr, 16), 0);
    }
}

TEST(AddressForm, UnspecOnIpv4UdpIsAnIpv4Destination) {
    sockaddr_in in{};
    in.sin_family = AF_UNSPEC;
    in.sin_port = htons(53);
    inet_pton(AF_INET, "203.0.113.7", &in.sin_addr);
    SocketShape s{AF_INET, Proto::kUdp, false};
    AddressForm f =
        classify_address(s, Entry::kSendto, false, reinterpret_cast<sockaddr*>(&in), sizeof in);
    ASSERT_EQ(f.form, Form::kDest);
    EXPECT_EQ(f.dest.ss_family, AF_INET);
    EXPECT_EQ(reinterpret_cast<sockaddr_in&>(f.dest).sin_addr.s_addr, in.sin_addr.s_addr);
    SocketShape s6{AF_INET6, Proto::kUdp, false};
    EXPECT_EQ(
        classify_address(s6, Entry::kSendto, false, reinterpret_cast<sockaddr*>(&in), sizeof in)
            .form,
        Form::kNoDest);
}

TEST(AddressForm, MayBeInetOnlyForTheThreeFamilies) {
    sockaddr_storage ss{};
    for (int fam = 0; fam < 64; ++fam) {
        ss.ss_family = static_cast<sa_family_t>(fam);
        bool want = fam == AF_UNSPEC || fam == AF_INET || fam == AF_INET6;
        EXPECT_EQ(may_be_inet(reinterpret_cast<sockaddr*>(&ss), 2), want) << fam;
    }
    EXPECT_FALSE(may_be_inet(reinterpret_cast<sockaddr*>(&ss), 1));
    EXPECT_FALSE(may_be_inet(nullptr, 16));
}

TEST(AddressForm, NeutralCopyKeepsOnlyFamilyAndPort) {
    uint8_t buf[128];
    memset(buf, 0xff, sizeof buf);
    sockaddr_storage out;
    EXPECT_EQ(neutral_copy(reinterpret_cast<sockaddr*>(buf), 200, out), 200u);
    const auto* o = reinterpret_cast<const uint8_t*>(&out);
    for (size_t i = 0; i < sizeof out; ++i) EXPECT_EQ(o[i], i < 4 ? 0xff : 0) << i;
}

}  // namespace
}  // namespace socksify::shim
