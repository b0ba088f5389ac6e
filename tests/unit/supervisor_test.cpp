// The supervisor's pure parts: the DNS query reader and answer writer of its fake
// nameserver, the --supervise values, the ELF checks, the getpeername records.
#include "launcher/supervisor/supervisor.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "launcher/supervisor/elf_kind.hpp"
#include "launcher/supervisor/peer_names.hpp"

namespace socksify::launcher {
namespace {

TEST(SuperviseMode, Values) {
    SuperviseMode m = SuperviseMode::kOff;
    EXPECT_EQ(parse_supervise_mode("auto", m), nullptr);
    EXPECT_EQ(m, SuperviseMode::kAuto);
    EXPECT_EQ(parse_supervise_mode("on", m), nullptr);
    EXPECT_EQ(m, SuperviseMode::kOn);
    EXPECT_EQ(parse_supervise_mode("no", m), nullptr);
    EXPECT_EQ(m, SuperviseMode::kOff);
    EXPECT_NE(parse_supervise_mode("sometimes", m), nullptr);
    EXPECT_NE(parse_supervise_mode("", m), nullptr);
}

TEST(ElfKind, DynamicCProgramNeedsNoSupervisor) {
    EXPECT_EQ(supervision_reason("/bin/sh"), nullptr);
    EXPECT_FALSE(is_go_program("/bin/sh"));
    EXPECT_FALSE(is_foreign_class("/bin/sh"));
    EXPECT_EQ(supervision_reason("/nonexistent/program"), nullptr);
    EXPECT_EQ(supervision_reason("/etc/passwd"), nullptr);  // not ELF: exec reports it
}

// A loopback connection standing in for one the supervisor made through the proxy.
struct Connected {
    int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    Connected() {
        sockaddr_in lo{};
        lo.sin_family = AF_INET;
        lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof lo;
        EXPECT_EQ(bind(server, reinterpret_cast<sockaddr*>(&lo), sizeof lo), 0);
        EXPECT_EQ(listen(server, 4), 0);
        EXPECT_EQ(getsockname(server, reinterpret_cast<sockaddr*>(&lo), &len), 0);
        EXPECT_EQ(connect(client, reinterpret_cast<sockaddr*>(&lo), sizeof lo), 0);
    }
    ~Connected() {
        close(client);
        close(server);
    }
};

sockaddr_storage destination(socklen_t& len) {
    sockaddr_storage ss{};
    auto& in = reinterpret_cast<sockaddr_in&>(ss);
    in.sin_family = AF_INET;
    in.sin_port = htons(80);
    inet_pton(AF_INET, "203.0.113.10", &in.sin_addr);
    len = sizeof in;
    return ss;
}

TEST(PeerNames, OneRecordPerConnectedSocket) {
    socklen_t len = 0;
    sockaddr_storage dest = destination(len);
    size_t before = noted_peer_count();
    Connected a, b;
    note_proxied_peer(a.client, dest, len);
    EXPECT_EQ(noted_peer_count(), before + 1);
    note_proxied_peer(a.client, dest, len);  // the same socket: its record replaced
    int copy = dup(a.client);
    note_proxied_peer(copy, dest, len);  // another fd of it: still one record
    close(copy);
    EXPECT_EQ(noted_peer_count(), before + 1);
    note_proxied_peer(b.client, dest, len);
    EXPECT_EQ(noted_peer_count(), before + 2);
    // Nothing to note: a socket not connected (no proxy peer to check against later),
    // a destination that is not inet or too short.
    int lone = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    note_proxied_peer(lone, dest, len);
    close(lone);
    Connected c;
    note_proxied_peer(c.client, dest, len - 1);
    sockaddr_storage unix_dest{};
    unix_dest.ss_family = AF_UNIX;
    note_proxied_peer(c.client, unix_dest, sizeof unix_dest);
    EXPECT_EQ(noted_peer_count(), before + 2);
}

}  // namespace
}  // namespace socksify::launcher
