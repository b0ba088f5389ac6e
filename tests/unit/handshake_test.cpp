// The handshake driver against a socketpair peer that plays scripted bytes.
#include "shim/proxy/handshake.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "shim/io.hpp"

namespace socksify::shim {
namespace {

using Bytes = std::vector<uint8_t>;

// One step of the peer's script: read `expect` exactly, then write `reply`.
struct Step {
    Bytes expect;
    Bytes reply;
    int delay_ms = 0;  // before the reply: a slow proxy (a Tor circuit being built)
};

class HandshakeTest : public ::testing::Test {
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

    // Plays the script; records what it actually read. close_after ends the peer.
    void play(std::vector<Step> steps, bool close_after = false) {
        peer_ = std::thread([this, steps, close_after] {
            for (const Step& s : steps) {
                Bytes got(s.expect.size());
                size_t have = 0;
                while (have < got.size()) {
                    ssize_t n = read(fds_[1], got.data() + have, got.size() - have);
                    if (n <= 0) return;
                    have += static_cast<size_t>(n);
                }
                received_.insert(received_.end(), got.begin(), got.end());
                if (s.delay_ms > 0)
                    std::this_thread::sleep_for(std::chrono::milliseconds(s.delay_ms));
                if (!s.reply.empty()) (void)write(fds_[1], s.reply.data(), s.reply.size());
            }
            if (close_after) {
                close(fds_[1]);
                fds_[1] = -1;
            }
        });
    }

    HandshakeResult run(HandshakeMode mode, Credentials creds = {}, int timeout_ms = 2000) {
        HandshakeResult r;
        run_handshake(fds_[0], request_, creds, mode, Deadline::after_ms(timeout_ms), r);
        return r;
    }

    int fds_[2] = {-1, -1};
    std::thread peer_;
    Bytes received_;
    proto::Request request_ = [] {
        proto::Request r;
        r.command = proto::Command::kConnect;
        r.address.type = proto::AddrType::kIpv4;
        r.address.ip = {203, 0, 113, 10};
        r.address.port = 80;
        return r;
    }();
};

const Bytes kGreetingNoAuth = {5, 1, 0};
const Bytes kGreetingUserPassOnly = {5, 1, 2};
const Bytes kGreetingBoth = {5, 2, 0, 2};
const Bytes kUserPass = {1, 1, 'u', 2, 'p', 'w'};
const Bytes kRequest = {5, 1, 0, 1, 203, 0, 113, 10, 0, 80};
const Bytes kSelNoAuth = {5, 0};
const Bytes kSelUserPass = {5, 2};
const Bytes kAuthOk = {1, 0};
const Bytes kReplyOk = {5, 0, 0, 1, 198, 51, 100, 1, 0x04, 0x38};

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

TEST_F(HandshakeTest, PipelinedNoAuthIsOneWriteAndLeavesTunnelBytes) {
    play({{cat({kGreetingNoAuth, kRequest}), cat({kSelNoAuth, kReplyOk, {'h', 'i'}})}});
    HandshakeResult r = run(HandshakeMode::kPipelined);
    EXPECT_EQ(r.err, 0);
    peer_.join();
    EXPECT_EQ(received_, cat({kGreetingNoAuth, kRequest}));
    char buf[8] = {};
    EXPECT_EQ(read(fds_[0], buf, sizeof buf), 2);  // the tunnel's first bytes stay unread
    EXPECT_EQ(std::string(buf, 2), "hi");
}

TEST_F(HandshakeTest, PipelinedUserPassOffersOnlyUserPass) {
    play({{cat({kGreetingUserPassOnly, kUserPass, kRequest}),
           cat({kSelUserPass, kAuthOk, kReplyOk})}});
    EXPECT_EQ(run(HandshakeMode::kPipelined, {"u", "pw"}).err, 0);
}

// Pipelined, the method read also takes the bytes certain to follow it (issue 15):
// with every answer, the shortest replies RFC 1928 allows and the tunnel's first bytes
// in one write, the tunnel's bytes are still the program's.
class ReadAheadTest : public HandshakeTest,
                      public ::testing::WithParamInterface<std::tuple<bool, size_t>> {};

TEST_P(ReadAheadTest, NeverTakesTunnelBytes) {
    auto [auth, name_len] = GetParam();
    Bytes reply = {5, 0, 0, 3, static_cast<uint8_t>(name_len)};
    reply.insert(reply.end(), name_len, 'n');
    reply.insert(reply.end(), {0, 1});
    Bytes answers = auth ? cat({kSelUserPass, kAuthOk, reply, {'h', 'i', '!'}})
                         : cat({kSelNoAuth, reply, {'h', 'i', '!'}});
    Bytes sent =
        auth ? cat({kGreetingUserPassOnly, kUserPass, kRequest}) : cat({kGreetingNoAuth, kRequest});
    play({{sent, answers}});
    HandshakeResult r =
        auth ? run(HandshakeMode::kPipelined, {"u", "pw"}) : run(HandshakeMode::kPipelined);
    EXPECT_EQ(r.err, 0);
    EXPECT_EQ(r.reply.bound.domain.size(), name_len);
    peer_.join();
    char buf[8] = {};
    EXPECT_EQ(read(fds_[0], buf, sizeof buf), 3);
    EXPECT_EQ(std::string(buf, 3), "hi!");
}

INSTANTIATE_TEST_SUITE_P(ShortReplies, ReadAheadTest,
                         ::testing::Combine(::testing::Bool(), ::testing::Values(1, 2, 3)));

// The blocking driver waits before reading; a reply that comes in pieces (a read
// that brings less than it asked for) is waited for again, not spun on.
TEST_F(HandshakeTest, ReplyInPiecesUnderTheBlockingDriver) {
    play({{cat({kGreetingNoAuth, kRequest}), {5}},
          {{}, {0}, 50},
          {{}, {5, 0, 0}, 50},
          {{}, {1, 198, 51, 100}, 50},
          {{}, {1, 0, 80, 'x'}, 50}});
    EXPECT_EQ(run(HandshakeMode::kPipelined).err, 0);
    peer_.join();
    char c = 0;
    EXPECT_EQ(read(fds_[0], &c, 1), 1);
    EXPECT_EQ(c, 'x');
}

TEST_F(HandshakeTest, StepwiseNoAuth) {
    play({{kGreetingNoAuth, kSelNoAuth}, {kRequest, kReplyOk}});
    EXPECT_EQ(run(HandshakeMode::kStepwise).err, 0);
}

TEST_F(HandshakeTest, StepwiseUserPass) {
    play({{kGreetingBoth, kSelUserPass}, {kUserPass, kAuthOk}, {kRequest, kReplyOk}});
    EXPECT_EQ(run(HandshakeMode::kStepwise, {"u", "pw"}).err, 0);
}

TEST_F(HandshakeTest, StepwiseCredentialsButProxyChoosesNoAuth) {
    play({{kGreetingBoth, kSelNoAuth}, {kRequest, kReplyOk}});
    EXPECT_EQ(run(HandshakeMode::kStepwise, {"u", "pw"}).err, 0);
}

TEST_F(HandshakeTest, ReplyWithDomainBoundAddressIsConsumedExactly) {
    Bytes reply = {5, 0, 0, 3, 5, 'p', 'r', 'o', 'x', 'y', 0, 1};
    play({{cat({kGreetingNoAuth, kRequest}), cat({kSelNoAuth, reply, {'x'}})}});
    HandshakeResult r = run(HandshakeMode::kPipelined);
    EXPECT_EQ(r.err, 0);
    EXPECT_EQ(r.reply.bound.domain, "proxy");
    peer_.join();
    char c = 0;
    EXPECT_EQ(read(fds_[0], &c, 1), 1);
    EXPECT_EQ(c, 'x');
}

TEST_F(HandshakeTest, ReplyWithIpv6BoundAddress) {
    Bytes reply = {5, 0, 0, 4};
    reply.resize(4 + 16 + 2, 7);
    play({{kGreetingNoAuth, kSelNoAuth}, {kRequest, reply}});
    EXPECT_EQ(run(HandshakeMode::kStepwise).err, 0);
}

class ReplyCodeTest : public HandshakeTest,
                      public ::testing::WithParamInterface<std::pair<uint8_t, int>> {};

TEST_P(ReplyCodeTest, MapsToErrno) {
    Bytes reply = kReplyOk;
    reply[1] = GetParam().first;
    play({{cat({kGreetingNoAuth, kRequest}), cat({kSelNoAuth, reply})}}, true);
    EXPECT_EQ(run(HandshakeMode::kPipelined).err, GetParam().second);
}

INSTANTIATE_TEST_SUITE_P(AllCodes, ReplyCodeTest,
                         ::testing::Values(std::pair<uint8_t, int>{1, ECONNREFUSED},
                                           std::pair<uint8_t, int>{2, EACCES},
                                           std::pair<uint8_t, int>{3, ENETUNREACH},
                                           std::pair<uint8_t, int>{4, EHOSTUNREACH},
                                           std::pair<uint8_t, int>{5, ECONNREFUSED},
                                           std::pair<uint8_t, int>{6, ETIMEDOUT},
                                           std::pair<uint8_t, int>{7, EOPNOTSUPP},
                                           std::pair<uint8_t, int>{8, EAFNOSUPPORT},
                                           std::pair<uint8_t, int>{9, ECONNABORTED}));

TEST_F(HandshakeTest, FailureReplyCutShortStillReportsItsCode) {
    play({{cat({kGreetingNoAuth, kRequest}), cat({kSelNoAuth, {5, 5, 0, 1, 0}})}}, true);
    EXPECT_EQ(run(HandshakeMode::kPipelined).err, ECONNREFUSED);
}

TEST_F(HandshakeTest, StepwiseReplyCutInsideItsPrefixStillReportsItsCode) {
    play({{kGreetingNoAuth, kSelNoAuth}, {kRequest, {5, 2, 0}}}, true);
    EXPECT_EQ(run(HandshakeMode::kStepwise).err, EACCES);
}

TEST_F(HandshakeTest, NoAcceptableMethodIsEacces) {
    play({{cat({kGreetingNoAuth, kRequest}), {5, 0xff}}}, true);
    EXPECT_EQ(run(HandshakeMode::kPipelined).err, EACCES);
}

TEST_F(HandshakeTest, UnofferedMethodIsAborted) {
    play({{kGreetingNoAuth, {5, 1}}}, true);
    EXPECT_EQ(run(HandshakeMode::kStepwise).err, ECONNABORTED);
}

TEST_F(HandshakeTest, BadAuthStatusIsEacces) {
    play({{cat({kGreetingUserPassOnly, kUserPass, kRequest}), cat({kSelUserPass, {1, 1}})}}, true);
    EXPECT_EQ(run(HandshakeMode::kPipelined, {"u", "pw"}).err, EACCES);
}

TEST_F(HandshakeTest, StepwiseBadAuthStatusIsEacces) {
    play({{kGreetingBoth, kSelUserPass}, {kUserPass, {1, 1}}}, true);
    EXPECT_EQ(run(HandshakeMode::kStepwise, {"u", "pw"}).err, EACCES);
}

TEST_F(HandshakeTest, WrongVersionIsAborted) {
    play({{cat({kGreetingNoAuth, kRequest}), cat({{4, 0}, kReplyOk})}});
    EXPECT_EQ(run(HandshakeMode::kPipelined).err, ECONNABORTED);
}

TEST_F(HandshakeTest, UnknownAddressTypeIsAborted) {
    play({{cat({kGreetingNoAuth, kRequest}), cat({kSelNoAuth, {5, 0, 0, 9, 0, 0, 0}})}});
    EXPECT_EQ(run(HandshakeMode::kPipelined).err, ECONNABORTED);
}

TEST_F(HandshakeTest, CloseMidReplyIsAborted) {
    play({{cat({kGreetingNoAuth, kRequest}), cat({kSelNoAuth, {5, 0, 0, 1, 1, 2}})}}, true);
    EXPECT_EQ(run(HandshakeMode::kPipelined).err, ECONNABORTED);
}

TEST_F(HandshakeTest, SilentProxyTimesOutOnTime) {
    play({{cat({kGreetingNoAuth, kRequest}), {}}});
    auto start = std::chrono::steady_clock::now();
    HandshakeResult r = run(HandshakeMode::kPipelined, {}, 300);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    EXPECT_EQ(r.err, ETIMEDOUT);
    EXPECT_GE(ms, 250);
    shutdown(fds_[0], SHUT_RDWR);
}

// A correct proxy whose reply comes long after its method selection (a Tor circuit):
// waited for, under the deadline alone, in both modes.
TEST_F(HandshakeTest, PipelinedSlowReplyAfterMethodSelectionSucceeds) {
    play({{cat({kGreetingNoAuth, kRequest}), kSelNoAuth},
          {{}, {5, 0, 0, 1, 198, 51, 100, 1, 0, 80}, 300}});
    EXPECT_EQ(run(HandshakeMode::kPipelined, {}, 5000).err, 0);
}

TEST_F(HandshakeTest, StepwiseSlowReplySucceeds) {
    play({{kGreetingNoAuth, kSelNoAuth}, {kRequest, {5, 0, 0, 1, 198, 51, 100, 1, 0, 80}, 300}});
    EXPECT_EQ(run(HandshakeMode::kStepwise, {}, 5000).err, 0);
}

}  // namespace
}  // namespace socksify::shim

namespace socksify::shim {
namespace {

// The machine the readiness hooks drive: each advance takes what is there, says what
// it waits for, and never blocks; bytes arriving in pieces make the same result.
TEST(HandshakeMachine, AdvancesStepByStepWithoutBlocking) {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    proto::Request request;
    request.command = proto::Command::kConnect;
    request.address.type = proto::AddrType::kIpv4;
    request.address.ip = {203, 0, 113, 10};
    request.address.port = 80;
    Handshake h;
    HandshakeResult r;
    ASSERT_EQ(h.start(request, {"u", "pw"}, HandshakeMode::kStepwise), 0);
    EXPECT_EQ(h.advance(fds[0], r), POLLIN);  // greeting sent, nothing back yet
    uint8_t buf[64];
    EXPECT_EQ(read(fds[1], buf, sizeof buf), 4);  // greeting only: 5 2 0 2
    EXPECT_EQ(h.advance(fds[0], r), POLLIN);      // still nothing: no busy loop, no block
    // Method selection one byte at a time.
    ASSERT_EQ(write(fds[1], "\x05", 1), 1);
    EXPECT_EQ(h.advance(fds[0], r), POLLIN);
    ASSERT_EQ(write(fds[1], "\x02", 1), 1);
    EXPECT_EQ(h.advance(fds[0], r), POLLIN);
    EXPECT_EQ(read(fds[1], buf, sizeof buf), 6);  // the credentials, then it waits
    ASSERT_EQ(write(fds[1], "\x01\x00", 2), 2);
    EXPECT_EQ(h.advance(fds[0], r), POLLIN);
    EXPECT_EQ(read(fds[1], buf, sizeof buf), 10);  // the request
    const uint8_t reply[] = {5, 0, 0, 1, 198, 51, 100, 1, 0x04, 0x38, 'h', 'i'};
    ASSERT_EQ(write(fds[1], reply, 4), 4);
    EXPECT_EQ(h.advance(fds[0], r), POLLIN);
    ASSERT_EQ(write(fds[1], reply + 4, sizeof reply - 4), static_cast<ssize_t>(sizeof reply - 4));
    EXPECT_EQ(h.advance(fds[0], r), 0);
    EXPECT_EQ(r.err, 0);
    EXPECT_EQ(h.advance(fds[0], r), 0);  // done stays done
    char tunnel[2];
    EXPECT_EQ(read(fds[0], tunnel, 2), 2);  // never read past the reply
    EXPECT_EQ(memcmp(tunnel, "hi", 2), 0);
    close(fds[0]);
    close(fds[1]);
}

}  // namespace
}  // namespace socksify::shim
