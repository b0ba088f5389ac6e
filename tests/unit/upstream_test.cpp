// The SOCKS4 and HTTP CONNECT drivers against a socketpair peer that plays scripted
// bytes: the errno of every answer, and the socket left exactly at the first
// tunnelled byte.
#include "shim/proxy/upstream.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

namespace socksify::shim {
namespace {

class UpstreamTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0);
        ASSERT_EQ(fcntl(fds_[0], F_SETFL, O_NONBLOCK), 0);
    }
    void TearDown() override {
        if (peer_.joinable()) peer_.join();
        close(fds_[0]);
        if (fds_[1] >= 0) close(fds_[1]);
    }

    // The peer reads `expect` bytes, then writes each chunk of `reply` apart (a head
    // split anywhere), then closes when asked.
    void play(size_t expect, std::vector<std::string> reply, bool close_after = false) {
        peer_ = std::thread([this, expect, reply, close_after] {
            std::string got(expect, '\0');
            size_t have = 0;
            while (have < expect) {
                ssize_t n = read(fds_[1], got.data() + have, expect - have);
                if (n <= 0) return;
                have += static_cast<size_t>(n);
            }
            received_ = got;
            for (const std::string& chunk : reply) {
                (void)write(fds_[1], chunk.data(), chunk.size());
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
            if (close_after) {
                close(fds_[1]);
                fds_[1] = -1;
            }
        });
    }

    int run(ProxyKind kind, const Target& t, Credentials creds = {}, int timeout_ms = 2000) {
        Hop hop{kind, creds, false, "test"};
        HandshakeResult r;
        return run_hop(fds_[0], hop, t, Deadline::after_ms(timeout_ms), r);
    }

    // What the program would read next.
    std::string rest() {
        char buf[64];
        ssize_t n = recv(fds_[0], buf, sizeof buf, MSG_DONTWAIT);
        return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
    }

    static Target by_name(std::string_view name, uint16_t port) {
        Target t;
        t.type = proto::AddrType::kDomain;
        t.domain = name;
        t.port = port;
        return t;
    }
    static Target v4(uint16_t port) {
        Target t;
        t.ip = {203, 0, 113, 10};
        t.port = port;
        return t;
    }

    int fds_[2] = {-1, -1};
    std::thread peer_;
    std::string received_;
};

const std::string kConnectWeb =
    "CONNECT web.socks.test:80 HTTP/1.1\r\nHost: web.socks.test:80\r\n\r\n";

TEST_F(UpstreamTest, HttpHeadReadExactlyWhateverTheSplit) {
    const std::string head = "HTTP/1.1 200 Connection established\r\nVia: 1.1 squid\r\n\r\n";
    // Every split point of the head, with the server's first tunnelled bytes glued on.
    for (size_t cut = 1; cut < head.size(); cut += 7) {
        TearDown();
        SetUp();
        play(kConnectWeb.size(), {head.substr(0, cut), head.substr(cut) + "SSH-2.0-x\r\n"});
        EXPECT_EQ(run(ProxyKind::kHttp, by_name("web.socks.test", 80)), 0) << cut;
        peer_.join();
        EXPECT_EQ(received_, kConnectWeb);
        EXPECT_EQ(rest(), "SSH-2.0-x\r\n") << cut;
    }
}

TEST_F(UpstreamTest, HttpSendsBasicCredentialsAndAddresses) {
    const std::string req =
        "CONNECT 203.0.113.10:443 HTTP/1.1\r\nHost: 203.0.113.10:443\r\n"
        "Proxy-Authorization: Basic YWxpY2U6cHc=\r\n\r\n";
    play(req.size(), {"HTTP/1.0 200 OK\r\n\r\n"});
    EXPECT_EQ(run(ProxyKind::kHttp, v4(443), {"alice", "pw"}), 0);
    peer_.join();
    EXPECT_EQ(received_, req);
}

TEST_F(UpstreamTest, HttpStatusesMapToErrnos) {
    struct Case {
        const char* head;
        int err;
    };
    for (const Case& c :
         {Case{"HTTP/1.1 204 No Content\r\n\r\n", 0},
          Case{"HTTP/1.1 407 Proxy Authentication Required\r\n"
               "Proxy-Authenticate: Basic realm=\"x\"\r\n\r\n",
               EACCES},
          Case{"HTTP/1.1 403 Forbidden\r\n\r\n", EACCES},
          Case{"HTTP/1.1 502 Bad Gateway\r\n\r\n", ECONNREFUSED},
          Case{"HTTP/1.1 503 Service Unavailable\r\n\r\n", ENETUNREACH},
          Case{"HTTP/1.1 504 Gateway Timeout\r\n\r\n", ETIMEDOUT},
          Case{"HTTP/1.1 404 Not Found\r\n\r\n", EHOSTUNREACH},
          Case{"HTTP/1.1 301 Moved\r\n\r\n", ECONNABORTED},
          Case{"SSH-2.0-OpenSSH\r\n\r\n", ECONNABORTED}, Case{"\x05\x00", ECONNABORTED}}) {
        TearDown();
        SetUp();
        play(kConnectWeb.size(), {c.head}, true);
        EXPECT_EQ(run(ProxyKind::kHttp, by_name("web.socks.test", 80)), c.err) << c.head;
    }
}

TEST_F(UpstreamTest, HttpCutHeadOrSilenceFail) {
    play(kConnectWeb.size(), {"HTTP/1.1 200 OK\r\nVia: x\r\n"}, true);
    EXPECT_EQ(run(ProxyKind::kHttp, by_name("web.socks.test", 80)), ECONNABORTED);
    TearDown();
    SetUp();
    play(kConnectWeb.size(), {});  // a proxy that stalls: the deadline decides
    EXPECT_EQ(run(ProxyKind::kHttp, by_name("web.socks.test", 80), {}, 200), ETIMEDOUT);
}

TEST_F(UpstreamTest, Socks4ConnectAndReplies) {
    // VN CD PORT IP USERID NUL
    const std::string req(
        "\x04\x01\x00\x50\xcb\x00\x71\x0a"
        "bob\0",
        12);
    play(req.size(), {std::string("\x00\x5a\x00\x00\x00\x00\x00\x00", 8) + "hello"});
    EXPECT_EQ(run(ProxyKind::kSocks4, v4(80), {"bob", ""}), 0);
    peer_.join();
    EXPECT_EQ(received_, req);
    EXPECT_EQ(rest(), "hello");
    struct Case {
        uint8_t code;
        int err;
    };
    for (const Case& c :
         {Case{91, ECONNREFUSED}, Case{92, EACCES}, Case{93, EACCES}, Case{17, ECONNABORTED}}) {
        TearDown();
        SetUp();
        play(9, {std::string("\x00", 1) + static_cast<char>(c.code)}, true);  // cut short
        EXPECT_EQ(run(ProxyKind::kSocks4, v4(80)), c.err) << int{c.code};
    }
}

TEST_F(UpstreamTest, Socks4aSendsTheName) {
    const std::string req("\x04\x01\x00\x50\x00\x00\x00\x01\0web.socks.test\0", 24);
    play(req.size(), {std::string("\x00\x5a\x00\x00\x00\x00\x00\x00", 8)});
    EXPECT_EQ(run(ProxyKind::kSocks4a, by_name("web.socks.test", 80)), 0);
    peer_.join();
    EXPECT_EQ(received_, req);
}

// Plain SOCKS4 carries no names and no IPv6: refused before a byte is sent.
TEST_F(UpstreamTest, Socks4RefusesNamesAndIpv6) {
    EXPECT_EQ(run(ProxyKind::kSocks4, by_name("web.socks.test", 80)), EHOSTUNREACH);
    Target t6;
    t6.type = proto::AddrType::kIpv6;
    t6.ip[0] = 0x20;
    t6.port = 80;
    EXPECT_EQ(run(ProxyKind::kSocks4, t6), ENETUNREACH);
    EXPECT_EQ(run(ProxyKind::kSocks4a, t6), ENETUNREACH);
    EXPECT_EQ(rest(), "");
}

// A raw forwarder is told nothing: connected is done, whatever the target (name,
// IPv4, IPv6), and the forwarder's first bytes are all the program's.
TEST_F(UpstreamTest, RawSendsNothingAndReadsNothing) {
    Target t6;
    t6.type = proto::AddrType::kIpv6;
    t6.ip[0] = 0x20;
    t6.port = 80;
    for (const Target& t : {by_name("web.socks.test", 80), v4(7), t6}) {
        ASSERT_EQ(write(fds_[1], "SSH-2.0-x\r\n", 11), 11);
        EXPECT_EQ(run(ProxyKind::kRaw, t), 0);
        EXPECT_EQ(rest(), "SSH-2.0-x\r\n");
        char c;
        EXPECT_EQ(recv(fds_[1], &c, 1, MSG_DONTWAIT), -1);  // nothing was sent
        EXPECT_EQ(errno, EAGAIN);
    }
    // Datagrams need a SOCKS5 last hop: never direct.
    HopExchange x;
    proto::Request assoc{proto::Command::kUdpAssociate, v4(0)};
    EXPECT_EQ(x.start(Hop{ProxyKind::kRaw, {}, false, "test"}, assoc), EACCES);
    EXPECT_STREQ(kind_name(ProxyKind::kRaw), "raw");
}

}  // namespace
}  // namespace socksify::shim
