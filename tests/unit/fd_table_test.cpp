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

// The shape the socket() hook records is the kernel's own answer (socket_shape) for
// every AF_INET/AF_INET6 socket the kernel makes, so connect routes a recorded socket
// exactly as one it has to ask about.
TEST(FdTable, RecordedShapeIsTheKernels) {
    const int domains[] = {AF_INET, AF_INET6};
    const int types[] = {SOCK_STREAM,
                         SOCK_DGRAM,
                         SOCK_RAW,
                         SOCK_SEQPACKET,
                         SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                         SOCK_DGRAM | SOCK_NONBLOCK};
    const int protocols[] = {0,
                             IPPROTO_TCP,
                             IPPROTO_UDP,
                             IPPROTO_UDPLITE,
                             IPPROTO_MPTCP,
                             IPPROTO_SCTP,
                             IPPROTO_ICMP,
                             IPPROTO_ICMPV6,
                             IPPROTO_RAW};
    int made = 0;
    for (int d : domains) {
        for (int t : types) {
            for (int p : protocols) {
                int fd = socket(d, t, p);
                if (fd < 0) continue;  // not this kernel's (or not without privileges)
                ++made;
                remember_new_socket(fd, d, t, p);
                SocketShape recorded;
                SocketShape kernel;
                bool fresh = false;
                ASSERT_TRUE(recorded_shape(fd, false, recorded, fresh))
                    << d << " " << t << " " << p;
                EXPECT_TRUE(fresh);
                ASSERT_TRUE(socket_shape(fd, kernel));
                EXPECT_EQ(recorded.domain, kernel.domain) << d << " " << t << " " << p;
                EXPECT_EQ(recorded.proto, kernel.proto) << d << " " << t << " " << p;
                close(fd);
            }
        }
    }
    EXPECT_GE(made, 8);  // at least TCP and UDP of both families, with protocol 0 and named
}

// Other families are not recorded: their connects never reach the TCP or UDP path.
TEST(FdTable, OnlyInternetSocketsAreRecorded) {
    int pair[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
    forget_object(pair[0]);
    remember_new_socket(pair[0], AF_UNIX, SOCK_STREAM, 0);
    SocketShape s;
    bool fresh = true;
    EXPECT_FALSE(recorded_shape(pair[0], false, s, fresh));
    EXPECT_FALSE(fresh);
    close(pair[0]);
    close(pair[1]);
}

// A record names one socket: after a close the shim cannot see, the number's next
// object (here a datagram socket made past the hook) is not taken for the recorded
// stream socket; nor is a socket replaced under its number (forget_object), nor one
// whose record was remade for another object.
TEST(FdTable, RecordedShapeNeedsTheSameSocket) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    remember_new_socket(fd, AF_INET, SOCK_STREAM, 0);
    SocketShape s;
    bool fresh = false;
    ASSERT_TRUE(recorded_shape(fd, false, s, fresh));
    EXPECT_EQ(s.proto, Proto::kTcp);

    fclose(fdopen(fd, "r+"));  // unseen by the shim
    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_EQ(udp, fd);
    EXPECT_FALSE(recorded_shape(fd, false, s, fresh));
    EXPECT_FALSE(fresh);

    // Remade for the new socket without its shape: the old shape is gone.
    remember_object(fd, *fd_record(fd));
    EXPECT_FALSE(recorded_shape(fd, false, s, fresh));
    // Remade for the same socket: the shape stays.
    remember_new_socket(fd, AF_INET, SOCK_DGRAM, 0);
    remember_object(fd, *fd_record(fd));
    ASSERT_TRUE(recorded_shape(fd, false, s, fresh));
    EXPECT_EQ(s.proto, Proto::kUdp);
    // Replaced under its number.
    forget_object(fd);
    EXPECT_FALSE(recorded_shape(fd, false, s, fresh));
    EXPECT_FALSE(same_object(fd, *fd_record(fd)));
    close(fd);
}

// Owned fds copy their record, shape included, on dup.
TEST(FdTable, DupOfAnOwnedSocketKeepsItsShape) {
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    remember_new_socket(fd, AF_INET6, SOCK_STREAM, 0);
    set_kind(fd, FdKind::kTcpProxied);
    int copy = dup(fd);
    ASSERT_GE(copy, 0);
    copy_fd_state(fd, copy);
    SocketShape s;
    bool fresh = false;
    ASSERT_TRUE(recorded_shape(copy, false, s, fresh));
    EXPECT_EQ(s.domain, AF_INET6);
    EXPECT_EQ(s.proto, Proto::kTcp);
    set_kind(fd, FdKind::kNone);
    set_kind(copy, FdKind::kNone);
    close(copy);
    close(fd);
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
