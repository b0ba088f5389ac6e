// SOCKSIFY_CHAIN parsing and the hops each chain mode picks.
#include "shim/proxy/chain.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <set>
#include <string>

namespace socksify::shim {
namespace {

std::map<std::string, std::string> g_env;
const char* fake_env(const char* name) {
    auto it = g_env.find(name);
    return it == g_env.end() ? nullptr : it->second.c_str();
}

Config load(const std::string& chain, const std::string& mode = "", const std::string& len = "") {
    g_env.clear();
    g_env["SOCKSIFY_PROXY"] = "socks5h://198.51.100.1:1080";
    g_env["SOCKSIFY_CHAIN"] = chain;
    if (!mode.empty()) g_env["SOCKSIFY_CHAIN_MODE"] = mode;
    if (!len.empty()) g_env["SOCKSIFY_CHAIN_LEN"] = len;
    Config cfg;
    load_config(cfg, fake_env, nullptr);
    return cfg;
}

TEST(ChainConfigTest, HopsKindsAndCredentials) {
    Config cfg = load(
        "socks5h://198.51.100.1:1080, socks4a://bob@198.51.100.1:1090,"
        "http://alice:p%2Cw@[2001:db8::1]:3128");
    ASSERT_TRUE(cfg.valid) << cfg.error;
    ASSERT_EQ(cfg.hop_count, 3u);
    EXPECT_EQ(cfg.hops[0].kind, ProxyKind::kSocks5);
    EXPECT_EQ(cfg.hops[1].kind, ProxyKind::kSocks4a);
    EXPECT_STREQ(cfg.hops[1].user, "bob");
    EXPECT_EQ(cfg.hops[2].kind, ProxyKind::kHttp);
    EXPECT_STREQ(cfg.hops[2].text, "[2001:db8::1]:3128");
    EXPECT_STREQ(cfg.hops[2].pass, "p,w");
    EXPECT_EQ(cfg.chain_mode, ChainMode::kStrict);
}

TEST(ChainConfigTest, OneHopIsTheProxyAlone) {
    Config cfg = load("socks5h://198.51.100.1:1080");
    ASSERT_TRUE(cfg.valid) << cfg.error;
    EXPECT_EQ(cfg.hop_count, 0u);
}

TEST(ChainConfigTest, BadChainsAreRefusedWithoutThePassword) {
    for (const char* bad :
         {"socks5h://198.51.100.1,", ",socks5h://198.51.100.1", "socks5h://proxy.test:1080,h:1",
          "http://u:s3cret@198.51.100.1,ftp://198.51.100.2", "http://u@198.51.100.1,1.2.3.4",
          "1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,1.1.1.7,1.1.1.8,1.1.1.9"}) {
        Config cfg = load(bad);
        EXPECT_FALSE(cfg.valid) << bad;
        EXPECT_NE(std::string(cfg.error).find("SOCKSIFY_CHAIN"), std::string::npos) << cfg.error;
        EXPECT_EQ(std::string(cfg.error).find("s3cret"), std::string::npos) << cfg.error;
    }
    EXPECT_FALSE(load("1.1.1.1,1.1.1.2", "chaotic").valid);
    EXPECT_FALSE(load("1.1.1.1,1.1.1.2", "random", "0").valid);
    EXPECT_FALSE(load("1.1.1.1,1.1.1.2", "random", "9").valid);
}

TEST(ChainPickTest, StrictAndDynamicUseEveryHopInOrder) {
    for (const char* mode : {"strict", "dynamic"}) {
        Config cfg = load("1.1.1.1,1.1.1.2,1.1.1.3", mode);
        ASSERT_TRUE(cfg.valid) << cfg.error;
        size_t order[kMaxHops];
        ASSERT_EQ(pick_hops(cfg, 5, 12345, order), 3u);
        EXPECT_EQ(order[0], 0u);
        EXPECT_EQ(order[1], 1u);
        EXPECT_EQ(order[2], 2u);
    }
}

TEST(ChainPickTest, RoundRobinMovesOnePerTurn) {
    Config cfg = load("1.1.1.1,1.1.1.2,1.1.1.3", "round-robin", "2");
    ASSERT_TRUE(cfg.valid) << cfg.error;
    size_t order[kMaxHops];
    for (uint32_t turn = 0; turn < 6; ++turn) {
        ASSERT_EQ(pick_hops(cfg, turn, 0, order), 2u);
        EXPECT_EQ(order[0], turn % 3);
        EXPECT_EQ(order[1], (turn + 1) % 3);
    }
}

TEST(ChainPickTest, RandomDrawsDistinctHopsAndReachesEveryOne) {
    Config cfg = load("1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4", "random", "2");
    ASSERT_TRUE(cfg.valid) << cfg.error;
    std::set<size_t> firsts;
    uint64_t r = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 64; ++i) {
        size_t order[kMaxHops];
        ASSERT_EQ(pick_hops(cfg, 0, r, order), 2u);
        EXPECT_NE(order[0], order[1]);
        EXPECT_LT(order[0], 4u);
        EXPECT_LT(order[1], 4u);
        firsts.insert(order[0]);
        r = r * 6364136223846793005u + 1442695040888963407u;
    }
    EXPECT_EQ(firsts.size(), 4u);
}

Config load_routes(const std::string& routes) {
    g_env.clear();
    g_env["SOCKSIFY_PROXY"] = "socks5h://198.51.100.1:1080";
    g_env["SOCKSIFY_ROUTES"] = routes;
    Config cfg;
    load_config(cfg, fake_env, nullptr);
    return cfg;
}

sockaddr_in v4(const char* ip, uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

TEST(ChainUdpTest, LastHopWithoutARelayIsRefusedBeforeAnyConnect) {
    for (const char* last :
         {"http://198.51.100.1:3128", "socks4a://198.51.100.1:1090", "raw://198.51.100.1:9"}) {
        Config cfg = load(std::string("socks5h://198.51.100.1:1080,") + last);
        ASSERT_TRUE(cfg.valid) << cfg.error;
        int domain = AF_INET;
        HandshakeResult result;
        uint8_t path[kMaxHops];
        size_t path_len = 0;
        proto::Request request{proto::Command::kUdpAssociate, proto::Address{}};
        // fd -1: any attempt to connect would fail with EBADF, not EACCES.
        EXPECT_EQ(run_chain_associate(-1, domain, request, cfg, false, Deadline::after_ms(1000),
                                      result, path, path_len),
                  EACCES)
            << last;
        ASSERT_EQ(path_len, 2u);
        EXPECT_EQ(path[0], 0);
        EXPECT_EQ(path[1], 1);
    }
}

TEST(ChainUdpTest, LastHopSocks5GoesOnToConnect) {
    Config cfg = load("http://198.51.100.1:3128,socks5h://198.51.100.1:1080");
    ASSERT_TRUE(cfg.valid) << cfg.error;
    int domain = AF_INET;
    Path way;
    proto::Request request{proto::Command::kUdpAssociate, proto::Address{}};
    // Not refused as a kind: the connect to the first hop is tried (and fd -1 fails it).
    int err = way.start(-1, domain, cfg, nullptr, request, false, Deadline::after_ms(1000));
    EXPECT_NE(err, EACCES);
    EXPECT_NE(err, 0);
    uint8_t path[kMaxHops];
    ASSERT_EQ(way.drawn(path), 2u);
    EXPECT_EQ(path[0], 0);
    EXPECT_EQ(path[1], 1);
}

// A loopback port nothing listens on (bound once, then closed), or a listener on one.
uint16_t loopback_port(int* listener) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        return 0;
    if (listener != nullptr && listen(s, 4) == 0) {
        *listener = s;
    } else {
        close(s);
    }
    return ntohs(a.sin_port);
}

// A dynamic chain whose first hop refuses goes on to the next on a fresh socket. The
// port the kernel gave the refused connect is not the program's binding: another
// socket may hold it by then, and the fresh socket must not ask for it.
TEST(ChainDynamicTest, ReplacementSocketDoesNotTakeTheKernelsPort) {
    int live = -1;
    uint16_t live_port = loopback_port(&live);
    uint16_t dead_port = loopback_port(nullptr);
    ASSERT_GE(live, 0);
    ASSERT_NE(dead_port, 0);
    Config cfg = load("socks5h://127.0.0.1:" + std::to_string(dead_port) +
                          ",socks5h://127.0.0.1:" + std::to_string(live_port),
                      "dynamic");
    ASSERT_TRUE(cfg.valid) << cfg.error;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ASSERT_GE(fd, 0);
    int domain = AF_INET;
    proto::Request request{proto::Command::kConnect, proto::Address{}};
    request.address.type = proto::AddrType::kIpv4;
    request.address.ip = {203, 0, 113, 10};
    request.address.port = 7;
    Path way;
    ASSERT_EQ(way.start(fd, domain, cfg, nullptr, request, false, Deadline::after_ms(3000)), 0);
    pollfd p{fd, POLLOUT, 0};
    ASSERT_EQ(poll(&p, 1, 2000), 1);  // refused (or refused already)
    // Someone else takes the port the refused connect had.
    sockaddr_in mine{};
    socklen_t len = sizeof mine;
    ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&mine), &len), 0);
    int other = socket(AF_INET, SOCK_STREAM, 0);
    bool taken =
        mine.sin_port != 0 && bind(other, reinterpret_cast<sockaddr*>(&mine), sizeof mine) == 0;
    HandshakeResult result;
    short events = way.advance(fd, domain, result, p.revents);
    for (int i = 0; i < 10 && events == POLLOUT; ++i) {
        pollfd q{fd, POLLOUT, 0};
        ASSERT_EQ(poll(&q, 1, 2000), 1);
        events = way.advance(fd, domain, result, q.revents);
    }
    EXPECT_EQ(events, POLLIN) << "ended with " << strerror(result.err);  // greeting sent
    EXPECT_EQ(way.replacements(), 1u);
    pollfd l{live, POLLIN, 0};
    int accepted = poll(&l, 1, 1000) == 1 ? accept(live, nullptr, nullptr) : -1;
    EXPECT_GE(accepted, 0);  // the next hop was reached
    if (!taken) GTEST_SKIP() << "the refused connect's port could not be taken";
    if (accepted >= 0) close(accepted);
    close(other);
    close(fd);
    close(live);
}

// Drives way on fd as the readiness hooks do (pending.cpp): a zero-timeout advance
// after each poll. Returns the events it ends waiting for (0: done).
short drive(Path& way, int fd, int& domain, HandshakeResult& result) {
    short events = way.advance(fd, domain, result, 0);
    for (int i = 0; i < 10 && events == POLLOUT; ++i) {
        pollfd q{fd, POLLOUT, 0};
        if (poll(&q, 1, 2000) != 1) break;
        events = way.advance(fd, domain, result, q.revents);
    }
    return events;
}

// What the listener's accepted connection received within 200 ms ("" when nothing).
std::string received_by(int listener) {
    pollfd l{listener, POLLIN, 0};
    int c = poll(&l, 1, 1000) == 1 ? accept(listener, nullptr, nullptr) : -1;
    if (c < 0) return "no connection";
    pollfd r{c, POLLIN, 0};
    char buf[64];
    ssize_t n = poll(&r, 1, 200) == 1 ? read(c, buf, sizeof buf) : 0;
    close(c);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// A raw last hop is crossed once connected: nothing sent, nothing awaited, the
// destination (a name here) told to no one.
TEST(ChainRawTest, RawLastHopIsDoneOnceConnected) {
    int live = -1;
    uint16_t port = loopback_port(&live);
    ASSERT_GE(live, 0);
    g_env.clear();
    g_env["SOCKSIFY_PROXY"] = "raw://127.0.0.1:" + std::to_string(port);
    Config cfg;
    load_config(cfg, fake_env, nullptr);
    ASSERT_TRUE(cfg.valid) << cfg.error;
    ASSERT_EQ(cfg.proxy_kind, ProxyKind::kRaw);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int domain = AF_INET;
    proto::Request request{proto::Command::kConnect, proto::Address{}};
    request.address.type = proto::AddrType::kDomain;
    request.address.domain = "web.socks.test";
    request.address.port = 80;
    Path way;
    way.wait_before_reading();  // as run_path: would wait for an answer if one were due
    ASSERT_EQ(way.start(fd, domain, cfg, nullptr, request, false, Deadline::after_ms(3000)), 0);
    HandshakeResult result;
    EXPECT_EQ(drive(way, fd, domain, result), 0);
    EXPECT_EQ(result.err, 0);
    EXPECT_EQ(received_by(live), "");
    close(fd);
    close(live);
}

// A raw first hop: the next hop's greeting goes straight through it, first thing.
TEST(ChainRawTest, RawFirstHopPassesTheNextHandshakeThrough) {
    int live = -1;
    uint16_t port = loopback_port(&live);
    ASSERT_GE(live, 0);
    Config cfg = load("raw://127.0.0.1:" + std::to_string(port) + ",socks5h://198.51.100.1:1080");
    ASSERT_TRUE(cfg.valid) << cfg.error;
    ASSERT_EQ(cfg.hops[0].kind, ProxyKind::kRaw);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int domain = AF_INET;
    proto::Request request{proto::Command::kConnect, proto::Address{}};
    request.address.ip = {203, 0, 113, 10};
    request.address.port = 80;
    Path way;
    ASSERT_EQ(way.start(fd, domain, cfg, nullptr, request, false, Deadline::after_ms(3000)), 0);
    EXPECT_STREQ(way.via(), ("127.0.0.1:" + std::to_string(port) + " > 198.51.100.1:1080").c_str());
    HandshakeResult result;
    EXPECT_EQ(drive(way, fd, domain, result), POLLIN);  // the SOCKS5 hop awaits its answer
    EXPECT_EQ(received_by(live), std::string("\x05\x01\x00", 3));  // its greeting, nothing before
    close(fd);
    close(live);
}

TEST(ChainUdpTest, PathToHopNeedsALaterHop) {
    Config cfg = load("socks5h://198.51.100.1:1080,socks5h://198.51.100.1:1081");
    ASSERT_TRUE(cfg.valid) << cfg.error;
    int domain = AF_INET;
    Path way;
    EXPECT_EQ(way.start_to_hop(-1, domain, cfg, 0, Deadline::after_ms(1000)), EINVAL);
    EXPECT_EQ(way.start_to_hop(-1, domain, cfg, 2, Deadline::after_ms(1000)), EINVAL);
    EXPECT_NE(way.start_to_hop(-1, domain, cfg, 1, Deadline::after_ms(1000)), EINVAL);
    EXPECT_STREQ(way.via(), "198.51.100.1:1080");
}

TEST(ChainUdpTest, FormatHopsNamesThePath) {
    Config cfg = load(
        "socks5h://198.51.100.1:1080,socks5h://198.51.100.1:1081,"
        "socks5h://198.51.100.1:1082");
    ASSERT_TRUE(cfg.valid) << cfg.error;
    uint8_t path[] = {2, 0};
    char out[160];
    format_hops(cfg, path, 2, out, sizeof out);
    EXPECT_STREQ(out, "198.51.100.1:1082 > 198.51.100.1:1080");
}

TEST(RouteTest, FirstMatchWinsNamesBeforeAddresses) {
    Config cfg = load_routes(
        "*.onion=socks5h://127.0.0.1:9050 web.test:443=http://198.51.100.3:3128 "
        " 203.0.113.0/24=socks4://198.51.100.4 *=http://u:p@198.51.100.5:8080");
    ASSERT_TRUE(cfg.valid) << cfg.error;
    ASSERT_EQ(cfg.route_count, 4u);
    auto fake = v4("240.0.0.1", 443);
    auto sa = reinterpret_cast<const sockaddr*>(&fake);
    EXPECT_EQ(find_route(cfg, sa, "abc.onion"), &cfg.routes[0]);
    EXPECT_EQ(find_route(cfg, sa, "web.test"), &cfg.routes[1]);
    auto fake80 = v4("240.0.0.1", 80);
    EXPECT_EQ(find_route(cfg, reinterpret_cast<const sockaddr*>(&fake80), "web.test"),
              &cfg.routes[3]);
    // A fake address is judged by its name: the network rule never sees it.
    auto in_net = v4("203.0.113.10", 80);
    EXPECT_EQ(find_route(cfg, reinterpret_cast<const sockaddr*>(&in_net), ""), &cfg.routes[2]);
    EXPECT_EQ(find_route(cfg, reinterpret_cast<const sockaddr*>(&in_net), "x.test"),
              &cfg.routes[3]);
    EXPECT_EQ(cfg.routes[2].hop.kind, ProxyKind::kSocks4);
    EXPECT_STREQ(cfg.routes[3].hop.user, "u");
}

TEST(RouteTest, NoRouteMatchesWithoutRules) {
    Config cfg = load_routes("web.test=http://198.51.100.3:3128");
    ASSERT_TRUE(cfg.valid) << cfg.error;
    auto a = v4("203.0.113.10", 80);
    EXPECT_EQ(find_route(cfg, reinterpret_cast<const sockaddr*>(&a), ""), nullptr);
    EXPECT_EQ(find_route(cfg, reinterpret_cast<const sockaddr*>(&a), "other.test"), nullptr);
}

TEST(RouteTest, BadRoutesAreRefusedWithoutThePassword) {
    for (const char* bad : {"web.test", "=http://198.51.100.3", "web.test=ftp://198.51.100.3",
                            "web.test=http://proxy.test:3128", "bad..name=198.51.100.3",
                            "web.test=http://u:s3cret@198.51.100.3 x=y"}) {
        Config cfg = load_routes(bad);
        EXPECT_FALSE(cfg.valid) << bad;
        EXPECT_NE(std::string(cfg.error).find("SOCKSIFY_ROUTES"), std::string::npos) << cfg.error;
        EXPECT_EQ(std::string(cfg.error).find("s3cret"), std::string::npos) << cfg.error;
    }
}

}  // namespace
}  // namespace socksify::shim
