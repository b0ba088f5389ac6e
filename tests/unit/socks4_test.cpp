// SOCKS4/4a codec: requests byte for byte, the reply whole, split and followed by data.
#include "protocol/socks4.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace socksify::proto::socks4 {
namespace {

using V = std::vector<uint8_t>;

V encode(const ConnectRequest& m) {
    uint8_t buf[kMaxRequest];
    size_t n = encode_connect(buf, m);
    return V(buf, buf + n);
}

TEST(Socks4, ConnectByAddress) {
    EXPECT_EQ(encode({80, {203, 0, 113, 10}, "", ""}), (V{4, 1, 0, 80, 203, 0, 113, 10, 0}));
    EXPECT_EQ(encode({443, {198, 51, 100, 1}, "bob", ""}),
              (V{4, 1, 1, 187, 198, 51, 100, 1, 'b', 'o', 'b', 0}));
}

TEST(Socks4, Socks4aSendsTheName) {
    EXPECT_EQ(encode({7, {}, "u", "web.socks.test"}),
              (V{4,   1,   0,   7,   0,   0,   0,   1,   'u', 0,   'w', 'e', 'b',
                 '.', 's', 'o', 'c', 'k', 's', '.', 't', 'e', 's', 't', 0}));
}

TEST(Socks4, RefusesWhatCannotBeCarried) {
    uint8_t buf[kMaxRequest];
    EXPECT_EQ(encode_connect(buf, {80, {}, std::string_view("a\0b", 3), ""}), 0u);
    EXPECT_EQ(encode_connect(buf, {80, {}, "", std::string_view("a\0b", 3)}), 0u);
    std::string long_name(256, 'a');
    EXPECT_EQ(encode_connect(buf, {80, {}, "", long_name}), 0u);
    EXPECT_EQ(encode_connect(buf, {80, {}, long_name, ""}), 0u);
    // Every buffer one byte short of the message fails whole.
    V full = encode({7, {}, "u", "name"});
    for (size_t n = 0; n < full.size(); ++n)
        EXPECT_EQ(encode_connect({buf, n}, {7, {}, "u", "name"}), 0u);
}

TEST(Socks4, ReplyWholeSplitAndFollowedByData) {
    const V granted = {0, 90, 0, 80, 203, 0, 113, 10, 'h', 'i'};
    for (size_t n = 0; n <= granted.size(); ++n) {
        Reply r;
        Result res = decode_reply(Bytes(granted.data(), n), r);
        if (n < kReplySize) {
            EXPECT_EQ(res, (Result{Status::kNeedMore, 0})) << n;
        } else {
            EXPECT_EQ(res, (Result{Status::kDone, kReplySize})) << n;
            EXPECT_EQ(r.code, 90);
            EXPECT_EQ(r.port, 80);
        }
    }
    Reply r;
    EXPECT_EQ(decode_reply(V{4}, r).status, Status::kMalformed);  // a SOCKS4 request VN
    EXPECT_EQ(decode_reply(V{5, 0}, r).status, Status::kMalformed);
    uint8_t out[kReplySize];
    EXPECT_EQ(encode_reply(out, Reply{91, 1, {1, 2, 3, 4}}), kReplySize);
    EXPECT_EQ(V(out, out + kReplySize), (V{0, 91, 0, 1, 1, 2, 3, 4}));
}

TEST(Socks4, ErrnoForEveryCode) {
    for (int c = 0; c < 256; ++c) {
        int want = c == 90              ? 0
                   : c == 91            ? ECONNREFUSED
                   : c == 92 || c == 93 ? EACCES
                                        : ECONNABORTED;
        EXPECT_EQ(reply_errno(static_cast<uint8_t>(c)), want) << c;
    }
}

}  // namespace
}  // namespace socksify::proto::socks4
