// The fd table: ownership bytes, records, dup and range semantics.
#include "shim/fd_table.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <thread>
#include <vector>

namespace socksify::shim {
namespace {

TEST(FdTable, UnownedByDefaultAndOutOfRange) {
    EXPECT_EQ(kind_of(12345), FdKind::kNone);
    EXPECT_EQ(kind_of(-1), FdKind::kNone);
    EXPECT_EQ(kind_of(kMaxFds), FdKind::kNone);
    EXPECT_EQ(fd_record(kMaxFds), nullptr);
    EXPECT_EQ(fd_record(-5), nullptr);
}

TEST(FdTable, PublishRecordAndRelease) {
    FdRecord* rec = fd_record(700000);
    ASSERT_NE(rec, nullptr);
    rec->peer_len = sizeof(sockaddr_in);
    set_kind(700000, FdKind::kTcpProxied);
    EXPECT_EQ(kind_of(700000), FdKind::kTcpProxied);
    EXPECT_EQ(fd_record(700000)->peer_len, sizeof(sockaddr_in));
    set_kind(700000, FdKind::kNone);
    EXPECT_EQ(kind_of(700000), FdKind::kNone);
}

TEST(FdTable, CopyStateFollowsDupSemantics) {
    fd_record(40)->peer_len = 16;
    set_kind(40, FdKind::kTcpProxied);
    copy_fd_state(40, 41);
    EXPECT_EQ(kind_of(41), FdKind::kTcpProxied);
    EXPECT_EQ(fd_record(41)->peer_len, 16u);
    set_kind(40, FdKind::kNone);
    copy_fd_state(40, 41);  // dup2 of an unowned fd over an owned one releases it
    EXPECT_EQ(kind_of(41), FdKind::kNone);
}

// A close the shim cannot see (stdio's) leaves the record; the next object on that
// number is not the socket the record was made for, and a dup is.
TEST(FdTable, RecordsKnowTheirSocket) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(fd, 0);
    FdRecord* rec = fd_record(fd);
    ASSERT_NE(rec, nullptr);
    remember_object(fd, *rec);
    EXPECT_TRUE(same_object(fd, *rec));
    int copy = dup(fd);
    ASSERT_GE(copy, 0);
    EXPECT_TRUE(same_object(copy, *rec));
    close(copy);
    fclose(fdopen(fd, "r+"));
    int pair[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM, 0, pair), 0);
    ASSERT_TRUE(pair[0] == fd || pair[1] == fd);
    EXPECT_FALSE(same_object(fd, *rec));
    close(pair[0]);
    close(pair[1]);
    EXPECT_FALSE(same_object(fd, *rec));  // closed: nothing is the same
}

TEST(FdTable, ClearRangeReleasesOnlyTheRange) {
    for (int fd : {100, 101, 102, 200}) set_kind(fd, FdKind::kTcpProxied);
    clear_range(101, 150);
    EXPECT_EQ(kind_of(100), FdKind::kTcpProxied);
    EXPECT_EQ(kind_of(101), FdKind::kNone);
    EXPECT_EQ(kind_of(102), FdKind::kNone);
    EXPECT_EQ(kind_of(200), FdKind::kTcpProxied);
    clear_range(0, ~0u);  // closefrom-style upper bound
    EXPECT_EQ(kind_of(100), FdKind::kNone);
    EXPECT_EQ(kind_of(200), FdKind::kNone);
}

TEST(FdTable, ConcurrentFirstUseOfAChunkGivesOneRecord) {
    std::vector<FdRecord*> seen(8);
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) threads.emplace_back([&, t] { seen[t] = fd_record(900000 + t); });
    for (auto& th : threads) th.join();
    for (int t = 1; t < 8; ++t) EXPECT_EQ(seen[t], seen[0] + t);
}

}  // namespace
}  // namespace socksify::shim
