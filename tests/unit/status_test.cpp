// The SOCKS reply code → errno table (docs/ARCHITECTURE.md, Failure).
#include "protocol/status.hpp"

#include <gtest/gtest.h>

#include <cerrno>

namespace socksify::proto {
namespace {

static_assert(reply_errno(0) == 0, "usable in constant expressions");

TEST(ReplyErrnoTest, MapsEveryAssignedCode) {
    EXPECT_EQ(reply_errno(0), 0);
    EXPECT_EQ(reply_errno(1), ECONNREFUSED);
    EXPECT_EQ(reply_errno(2), EACCES);
    EXPECT_EQ(reply_errno(3), ENETUNREACH);
    EXPECT_EQ(reply_errno(4), EHOSTUNREACH);
    EXPECT_EQ(reply_errno(5), ECONNREFUSED);
    EXPECT_EQ(reply_errno(6), ETIMEDOUT);
    EXPECT_EQ(reply_errno(7), EOPNOTSUPP);
    EXPECT_EQ(reply_errno(8), EAFNOSUPPORT);
}

TEST(ReplyErrnoTest, UnassignedCodesAbort) {
    for (int rep = 9; rep <= 255; ++rep) {
        EXPECT_EQ(reply_errno(static_cast<uint8_t>(rep)), ECONNABORTED) << rep;
    }
}

TEST(ReplyErrnoTest, EveryFailureIsAnError) {
    for (int rep = 1; rep <= 255; ++rep) {
        EXPECT_NE(reply_errno(static_cast<uint8_t>(rep)), 0) << rep;
    }
}

}  // namespace
}  // namespace socksify::proto
