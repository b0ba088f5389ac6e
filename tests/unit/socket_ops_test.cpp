// Socket surgery: O_NONBLOCK read-modify-write and in-place replacement.
#include "shim/socket_ops.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

namespace socksify::shim {
namespace {

int getopt_int(int fd, int level, int name) {
    int v = -1;
    socklen_t n = sizeof v;
    EXPECT_EQ(getsockopt(fd, level, name, &v, &n), 0);
    return v;
}

TEST(SocketOps, NonblockingToggleTouchesOnlyThatBit) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(fcntl(fd, F_SETFL, O_APPEND), 0);  // an unrelated status flag must survive
    int old_flags = fcntl(fd, F_GETFL);
    ASSERT_EQ(make_nonblocking(fd, old_flags), 0);
    EXPECT_EQ(old_flags & O_NONBLOCK, 0);
    EXPECT_EQ(fcntl(fd, F_GETFL) & (O_NONBLOCK | O_APPEND), O_NONBLOCK | O_APPEND);
    restore_blocking(fd, old_flags);
    EXPECT_EQ(fcntl(fd, F_GETFL) & (O_NONBLOCK | O_APPEND), O_APPEND);
    close(fd);
}

TEST(SocketOps, AlreadyNonblockingStaysNonblocking) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int old_flags = fcntl(fd, F_GETFL);
    ASSERT_EQ(make_nonblocking(fd, old_flags), 0);
    EXPECT_NE(old_flags & O_NONBLOCK, 0);
    restore_blocking(fd, old_flags);
    EXPECT_NE(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    close(fd);
}

TEST(SocketOps, ReplaceKeepsFdFlagsOptionsAndBinding) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ASSERT_GE(fd, 0);
    int one = 1;
    ASSERT_EQ(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), 0);
    ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one), 0);
    int tos = 0x10;
    ASSERT_EQ(setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos), 0);
    int rcvbuf = 65536;
    ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
    int before_rcvbuf = getopt_int(fd, SOL_SOCKET, SO_RCVBUF);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local), 0);
    socklen_t len = sizeof local;
    ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len), 0);

    ASSERT_EQ(replace_socket(fd, AF_INET, true), 0);
    EXPECT_NE(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    EXPECT_NE(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    EXPECT_EQ(getopt_int(fd, IPPROTO_TCP, TCP_NODELAY), 1);
    EXPECT_EQ(getopt_int(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
    EXPECT_EQ(getopt_int(fd, IPPROTO_IP, IP_TOS), tos);
    EXPECT_EQ(getopt_int(fd, SOL_SOCKET, SO_RCVBUF), before_rcvbuf);
    sockaddr_in after{};
    len = sizeof after;
    ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&after), &len), 0);
    EXPECT_EQ(after.sin_port, local.sin_port);
    close(fd);
}

TEST(SocketOps, ReplaceWithoutRebindLeavesItUnbound) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local), 0);
    EXPECT_TRUE(is_bound(fd));
    ASSERT_EQ(replace_socket(fd, AF_INET, false), 0);
    EXPECT_FALSE(is_bound(fd));
    close(fd);
}

TEST(SocketOps, ReplaceChangesFamilyAndClearsCloexecWhenUnset) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(replace_socket(fd, AF_INET6, true), 0);
    EXPECT_EQ(getopt_int(fd, SOL_SOCKET, SO_DOMAIN), AF_INET6);
    EXPECT_EQ(getopt_int(fd, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
    EXPECT_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    close(fd);
}

}  // namespace
}  // namespace socksify::shim
