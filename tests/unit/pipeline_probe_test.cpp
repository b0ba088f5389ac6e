// The pipelining probe against socketpair peers that keep, or drop, early bytes.
#include "shim/proxy/pipeline_probe.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "protocol/pipeline_probe.hpp"

namespace socksify::shim {
namespace {

using Bytes = std::vector<uint8_t>;
using proto::PipelineVerdict;

const Bytes kGreetingNoAuth = {5, 1, 0};
const Bytes kUdpAssociateAny = {5, 3, 0, 1, 0, 0, 0, 0, 0, 0};
const Bytes kConnectAny = {5, 1, 0, 1, 0, 0, 0, 0, 0, 0};
const Bytes kAuth = {1, 1, 'u', 1, 'p'};

// A peer that reads what it is given in one read each (lossy: the rest of that read
// is gone, as microsocks 1.0.3 does) or a byte stream (keeping everything).
class ProbeTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0);
        ASSERT_EQ(fcntl(fds_[0], F_SETFL, O_NONBLOCK), 0);
    }
    void TearDown() override {
        if (peer_.joinable()) peer_.join();
        close(fds_[0]);
        close(fds_[1]);
    }
    // Reads exactly n bytes (a keeping server), or one read whose extra bytes are
    // dropped (lossy); returns what the message was.
    Bytes take(size_t n, bool lossy) {
        Bytes b(lossy ? 1024 : n);
        size_t have = 0;
        while (have < n) {
            ssize_t r = read(fds_[1], b.data() + have, b.size() - have);
            if (r <= 0) return {};
            have += static_cast<size_t>(r);
            if (lossy) break;
        }
        b.resize(std::min(have, n));
        return b;
    }
    void put(const Bytes& b) { ASSERT_EQ(write(fds_[1], b.data(), b.size()), ssize_t(b.size())); }

    ProbeOutcome probe(Credentials creds = {}) {
        return probe_pipelining(fds_[0], creds, Deadline::after_ms(5000));
    }

    int fds_[2] = {-1, -1};
    std::thread peer_;
};

TEST_F(ProbeTest, KeepingServerAnsweringUdpAssociateIsSafe) {
    peer_ = std::thread([this] {
        EXPECT_EQ(take(3, false), kGreetingNoAuth);
        put({5, 0});
        EXPECT_EQ(take(10, false), kUdpAssociateAny);
        put({5, 0, 0, 1, 127, 0, 0, 1, 0x10, 0x00});
    });
    ProbeOutcome o = probe();
    EXPECT_EQ(o.verdict, PipelineVerdict::kSafe);
    EXPECT_EQ(o.rep, 0);
}

TEST_F(ProbeTest, KeepingServerWithoutUdpIsSafe) {
    peer_ = std::thread([this] {
        take(3, false);
        put({5, 0});
        take(10, false);
        put({5, 7, 0, 1, 0, 0, 0, 0, 0, 0});
    });
    EXPECT_EQ(probe().verdict, PipelineVerdict::kSafe);
}

TEST_F(ProbeTest, LossyServerAnswersTheConnectAndIsUnsafe) {
    peer_ = std::thread([this] {
        EXPECT_EQ(take(3, true), kGreetingNoAuth);  // UDP ASSOCIATE lost with it
        put({5, 0});
        EXPECT_EQ(take(10, true), kConnectAny);
        put({5, 5, 0, 1, 0, 0, 0, 0, 0, 0});
    });
    ProbeOutcome o = probe();
    EXPECT_EQ(o.verdict, PipelineVerdict::kUnsafe);
    EXPECT_EQ(o.rep, 5);
}

TEST_F(ProbeTest, LossyServerWithAuthGetsAuthAgainThenTheConnect) {
    peer_ = std::thread([this] {
        EXPECT_EQ(take(3, true), (Bytes{5, 1, 2}));
        put({5, 2});
        EXPECT_EQ(take(5, true), kAuth);
        put({1, 0});
        EXPECT_EQ(take(10, true), kConnectAny);
        put({5, 4, 0, 1, 0, 0, 0, 0, 0, 0});
    });
    EXPECT_EQ(probe({"u", "p"}).verdict, PipelineVerdict::kUnsafe);
}

TEST_F(ProbeTest, KeepingServerWithAuthIsSafe) {
    peer_ = std::thread([this] {
        take(3, false);
        put({5, 2});
        EXPECT_EQ(take(5, false), kAuth);
        put({1, 0});
        EXPECT_EQ(take(10, false), kUdpAssociateAny);
        put({5, 0, 0, 1, 127, 0, 0, 1, 0x10, 0x00});
    });
    EXPECT_EQ(probe({"u", "p"}).verdict, PipelineVerdict::kSafe);
}

TEST_F(ProbeTest, AmbiguousReplyLeavesItUnknown) {
    peer_ = std::thread([this] {
        take(3, false);
        put({5, 0});
        take(10, false);
        put({5, 1, 0, 1, 0, 0, 0, 0, 0, 0});  // general failure: either request
    });
    EXPECT_EQ(probe().verdict, PipelineVerdict::kUnknown);
}

TEST_F(ProbeTest, ClosedServerLeavesItUnknownWithTheErrno) {
    peer_ = std::thread([this] {
        take(3, false);
        put({5, 0});
        shutdown(fds_[1], SHUT_WR);
    });
    ProbeOutcome o = probe();
    EXPECT_EQ(o.verdict, PipelineVerdict::kUnknown);
    EXPECT_EQ(o.err, ECONNABORTED);
}

TEST(PipelineVerdict, EveryReplyCode) {
    for (int rep = 0; rep < 256; ++rep) {
        PipelineVerdict v = proto::pipeline_verdict(static_cast<uint8_t>(rep));
        PipelineVerdict want = rep == 0 || rep == 7   ? PipelineVerdict::kSafe
                               : rep >= 3 && rep <= 6 ? PipelineVerdict::kUnsafe
                                                      : PipelineVerdict::kUnknown;
        EXPECT_EQ(v, want) << rep;
    }
}

}  // namespace
}  // namespace socksify::shim
