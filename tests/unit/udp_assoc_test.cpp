// Datagram wrap/unwrap on an associated socket, against a loopback UDP socket that
// plays the relay: header forms, short buffers, fragments, foreign sources.
#include "shim/proxy/udp_assoc.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "protocol/messages.hpp"
#include "shim/io.hpp"

namespace socksify::shim {
namespace {

using Bytes = std::vector<uint8_t>;

sockaddr_in loopback(uint16_t port = 0) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    return a;
}

int bound_udp() {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = loopback();
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

sockaddr_in name_of(int fd) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    return a;
}

class UdpAssocTest : public ::testing::Test {
  protected:
    void SetUp() override {
        cfg_.valid = true;
        cfg_.udp = true;
        cfg_.dns_mode = DnsMode::kLocal;  // no fake-DNS table in this test
        ASSERT_EQ(parse_cidr("127.0.0.2/32", cfg_.direct[0]), nullptr);
        cfg_.direct_count = 1;  // only 127.0.0.2 is direct: the relay at .1 is not
        cfg_.log_level = LogLevel::kQuiet;
        app_ = bound_udp();
        relay_ = bound_udp();
        ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, control_), 0);
        adopt_udp(app_);
        FdRecord* rec = fd_record(app_);
        ASSERT_NE(rec, nullptr);
        sockaddr_in r = name_of(relay_);
        memcpy(&rec->udp.relay, &r, sizeof r);
        rec->udp.relay_len = sizeof r;
        rec->udp.control_fd = control_[0];
        rec->udp.checked_ns = monotonic_ns();
        fd_record(control_[0])->refs.store(1);
        set_kind(control_[0], FdKind::kControl);
    }
    void TearDown() override {
        release_udp(app_);  // closes control_[0] through the refcount
        close(app_);
        close(relay_);
        close(control_[1]);
    }

    // The relay sends raw bytes to the app socket.
    void relay_sends(const Bytes& b) {
        sockaddr_in to = name_of(app_);
        ASSERT_EQ(
            sendto(relay_, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
            static_cast<ssize_t>(b.size()));
    }

    ssize_t app_receives(void* buf, size_t len, int flags, sockaddr_storage* from = nullptr,
                         int* msg_flags = nullptr) {
        iovec iov{buf, len};
        sockaddr_storage src{};
        msghdr m{};
        m.msg_name = &src;
        m.msg_namelen = sizeof src;
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        int err = 0;
        bool handled = false;
        ssize_t n = udp_recvmsg(app_, &m, flags, cfg_, err, handled);
        EXPECT_TRUE(handled);
        if (n < 0) errno = err;
        if (from != nullptr) *from = src;
        if (msg_flags != nullptr) *msg_flags = m.msg_flags;
        return n;
    }

    static Bytes header_v4(const char* ip, uint16_t port, uint8_t frag = 0) {
        Bytes h = {
            0, 0, frag, 1, 0, 0, 0, 0, static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port)};
        inet_pton(AF_INET, ip, h.data() + 4);
        return h;
    }

    static Bytes cat(Bytes a, const std::string& s) {
        a.insert(a.end(), s.begin(), s.end());
        return a;
    }

    Config cfg_;
    int app_ = -1;
    int relay_ = -1;
    int control_[2] = {-1, -1};
};

TEST_F(UdpAssocTest, SendWrapsWithOneHeaderAndReportsPayloadLength) {
    sockaddr_in dest{};
    dest.sin_family = AF_INET;
    inet_pton(AF_INET, "203.0.113.10", &dest.sin_addr);
    dest.sin_port = htons(7);
    const char payload[] = "hello";
    iovec iov[2] = {{const_cast<char*>("hel"), 3}, {const_cast<char*>("lo"), 2}};
    msghdr m{};
    m.msg_name = &dest;
    m.msg_namelen = sizeof dest;
    m.msg_iov = iov;
    m.msg_iovlen = 2;
    int err = 0;
    bool handled = false;
    ASSERT_EQ(udp_sendmsg(app_, &m, 0, cfg_, err, handled), 5) << strerror(err);
    EXPECT_TRUE(handled);
    uint8_t got[64];
    ssize_t n = recv(relay_, got, sizeof got, 0);
    ASSERT_EQ(n, 15);
    Bytes expect = cat(header_v4("203.0.113.10", 7), payload);
    EXPECT_EQ(Bytes(got, got + n), expect);
}

TEST_F(UdpAssocTest, DirectDestinationIsNotWrapped) {
    sockaddr_in dest = loopback(9);
    dest.sin_addr.s_addr = htonl(0x7f000002);
    iovec iov{const_cast<char*>("x"), 1};
    msghdr m{};
    m.msg_name = &dest;
    m.msg_namelen = sizeof dest;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    int err = 0;
    bool handled = true;
    udp_sendmsg(app_, &m, 0, cfg_, err, handled);
    EXPECT_FALSE(handled);
}

TEST_F(UdpAssocTest, UdpOffRefusesWithEacces) {
    cfg_.udp = false;
    sockaddr_in dest{};
    dest.sin_family = AF_INET;
    inet_pton(AF_INET, "203.0.113.10", &dest.sin_addr);
    iovec iov{const_cast<char*>("x"), 1};
    msghdr m{};
    m.msg_name = &dest;
    m.msg_namelen = sizeof dest;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    int err = 0;
    bool handled = false;
    EXPECT_EQ(udp_sendmsg(app_, &m, 0, cfg_, err, handled), -1);
    EXPECT_TRUE(handled);
    EXPECT_EQ(err, EACCES);
}

TEST_F(UdpAssocTest, ReceiveUnwrapsIpv4AndReportsTrueSource) {
    relay_sends(cat(header_v4("203.0.113.10", 7), "pong"));
    char buf[64] = {};
    sockaddr_storage from{};
    ASSERT_EQ(app_receives(buf, sizeof buf, 0, &from), 4);
    EXPECT_EQ(std::string(buf, 4), "pong");
    auto& in = reinterpret_cast<sockaddr_in&>(from);
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &in.sin_addr, ip, sizeof ip);
    EXPECT_STREQ(ip, "203.0.113.10");
    EXPECT_EQ(ntohs(in.sin_port), 7);
}

TEST_F(UdpAssocTest, HeaderOfAnotherSizeMovesThePayloadBothWays) {
    std::string payload(300, 'z');
    payload[0] = 'A';
    payload[299] = 'Z';
    char buf[512] = {};
    // The receive layout expects the last header size sent; a larger or smaller one
    // costs one move of the payload, and the next datagram lands in place again.
    for (uint8_t expect : {22, 7}) {
        fd_record(app_)->udp.expect_header = expect;
        relay_sends(cat(header_v4("203.0.113.10", 7), payload));
        ASSERT_EQ(app_receives(buf, sizeof buf, 0), 300) << int(expect);
        EXPECT_EQ(std::string(buf, 300), payload) << int(expect);
        EXPECT_EQ(fd_record(app_)->udp.expect_header, 10);
    }
    relay_sends(cat(header_v4("203.0.113.10", 7), "again"));
    ASSERT_EQ(app_receives(buf, sizeof buf, 0), 5);
    EXPECT_EQ(std::string(buf, 5), "again");
}

TEST_F(UdpAssocTest, LongerHeaderThanExpectedLosesNothing) {
    // The program's buffer fits the payload exactly; the header is longer than the
    // layout expected, so the payload's end first lands past the program's buffer.
    const std::string payload = "0123456789abcdef";
    for (uint8_t expect : {7, 3}) {
        fd_record(app_)->udp.expect_header = expect;
        relay_sends(cat(header_v4("203.0.113.10", 7), payload));
        char buf[16] = {};
        int flags = 0;
        ASSERT_EQ(app_receives(buf, sizeof buf, 0, nullptr, &flags), 16) << int(expect);
        EXPECT_EQ(std::string(buf, 16), payload) << int(expect);
        EXPECT_FALSE(flags & MSG_TRUNC) << int(expect);
    }
    // Smaller than the header itself: still delivered, not dropped.
    fd_record(app_)->udp.expect_header = 3;
    relay_sends(cat(header_v4("203.0.113.10", 7), "abcd"));
    char small[4] = {};
    ASSERT_EQ(app_receives(small, sizeof small, 0), 4);
    EXPECT_EQ(std::string(small, 4), "abcd");
}

TEST_F(UdpAssocTest, Ipv6SourceCannotBeReportedOnAnIpv4SocketAndIsDropped) {
    Bytes h = {0, 0, 0, 4};
    in6_addr a{};
    inet_pton(AF_INET6, "2001:db8:2::10", &a);
    h.insert(h.end(), a.s6_addr, a.s6_addr + 16);
    h.push_back(0);
    h.push_back(7);
    relay_sends(cat(h, "v6"));
    relay_sends(cat(header_v4("203.0.113.10", 7), "v4"));
    char buf[16] = {};
    ASSERT_EQ(app_receives(buf, sizeof buf, 0), 2);
    EXPECT_EQ(std::string(buf, 2), "v4");
}

TEST_F(UdpAssocTest, ShortBufferTruncatesLikeTheKernel) {
    relay_sends(cat(header_v4("203.0.113.10", 7), "0123456789"));
    char buf[4] = {};
    int flags = 0;
    EXPECT_EQ(app_receives(buf, sizeof buf, 0, nullptr, &flags), 4);
    EXPECT_EQ(std::string(buf, 4), "0123");
    EXPECT_TRUE(flags & MSG_TRUNC);
    relay_sends(cat(header_v4("203.0.113.10", 7), "0123456789"));
    EXPECT_EQ(app_receives(buf, sizeof buf, MSG_TRUNC), 10);  // the real length, as asked
}

TEST_F(UdpAssocTest, FragmentsMalformedAndForeignDatagramsAreDropped) {
    relay_sends(cat(header_v4("203.0.113.10", 7, 1), "frag"));  // FRAG != 0
    relay_sends({0, 1, 0, 1});                                  // bad RSV, truncated
    int stranger = bound_udp();                                 // not the relay, not direct
    sockaddr_in to = name_of(app_);
    sendto(stranger, "spoof", 5, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    close(stranger);
    relay_sends(cat(header_v4("203.0.113.10", 7), "good"));
    char buf[64] = {};
    ASSERT_EQ(app_receives(buf, sizeof buf, 0), 4);
    EXPECT_EQ(std::string(buf, 4), "good");
}

TEST_F(UdpAssocTest, DirectSourcesPassThroughUnchanged) {
    int local = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a = loopback();
    a.sin_addr.s_addr = htonl(0x7f000002);  // 127.0.0.2: direct
    ASSERT_EQ(bind(local, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    sockaddr_in to = name_of(app_);
    sendto(local, "plain datagram", 14, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    char buf[64] = {};
    sockaddr_storage from{};
    ASSERT_EQ(app_receives(buf, sizeof buf, 0, &from), 14);
    EXPECT_EQ(std::string(buf, 14), "plain datagram");
    EXPECT_EQ(reinterpret_cast<sockaddr_in&>(from).sin_addr.s_addr, htonl(0x7f000002));
    close(local);
}

TEST_F(UdpAssocTest, DupSharesTheAssociationAndTheLastCloseEndsIt) {
    int copy = dup(app_);
    share_udp(app_, copy);
    EXPECT_EQ(kind_of(copy), FdKind::kUdp);
    EXPECT_EQ(fd_record(control_[0])->refs.load(), 2u);
    release_udp(copy);
    close(copy);
    EXPECT_EQ(kind_of(control_[0]), FdKind::kControl);  // still used by app_
}

}  // namespace
}  // namespace socksify::shim
