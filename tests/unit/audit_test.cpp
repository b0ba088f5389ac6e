// Unit tests for shim/audit: the log opened at start-up (hidden, high, append-only),
// records written by audit() and by the policy checks, and a log that cannot be opened
// making the configuration invalid.
#include "shim/audit.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "shim/fd_table.hpp"
#include "shim/police.hpp"
#include "shim/settings/audit_format.hpp"
#include "shim/settings/policy.hpp"

namespace socksify::shim {
namespace {

std::vector<std::string> lines_of(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// The fd of this process that is open on path, or -1.
int fd_open_on(const std::string& path) {
    char want[PATH_MAX];
    if (realpath(path.c_str(), want) == nullptr) return -1;
    for (int fd = 0; fd < 1 << 16; ++fd) {
        char link[64], target[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n <= 0) continue;
        target[n] = '\0';
        if (std::strcmp(target, want) == 0) return fd;
    }
    return -1;
}

sockaddr_in v4(const char* ip, uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

// One log per test binary: audit_open runs once per process in the library too.
TEST(AuditLogTest, OpenWriteAndPolice) {
    char dir[] = "/tmp/socksify-audit-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    std::string path = std::string(dir) + "/audit.log";
    auto cfg = std::make_unique<Config>();
    cfg->valid = true;
    std::snprintf(cfg->proxy_text, sizeof cfg->proxy_text, "198.51.100.1:1080");
    std::snprintf(cfg->audit_path, sizeof cfg->audit_path, "%s", path.c_str());
    ASSERT_EQ(parse_policy("allow:web.socks.test:80,deny:203.0.113.0/24", cfg->policy), nullptr);
    cfg->policy.default_deny = true;

    audit_open(*cfg);
    ASSERT_TRUE(cfg->valid) << cfg->error;
    int fd = fd_open_on(path);
    ASSERT_GE(fd, 0);
    EXPECT_GE(fd, high_fd_floor());
    EXPECT_EQ(kind_of(fd), FdKind::kHidden);
    // Appends only, and gone at exec (the next program opens its own).
    EXPECT_NE(fcntl(fd, F_GETFL) & O_APPEND, 0);
    EXPECT_NE(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);

    sockaddr_in web = v4("240.0.0.1", 80);
    AuditEvent allowed;
    allowed.name = "web.socks.test";
    allowed.port = 80;
    errno = 1234;
    audit(*cfg, allowed);
    EXPECT_EQ(errno, 1234);

    EXPECT_EQ(
        police(*cfg, reinterpret_cast<sockaddr*>(&web), "web.socks.test", AuditKind::kConnect), 0);
    sockaddr_in web8 = v4("240.0.0.1", 8);
    EXPECT_EQ(
        police(*cfg, reinterpret_cast<sockaddr*>(&web8), "web.socks.test", AuditKind::kConnect),
        EACCES);
    sockaddr_in dest = v4("203.0.113.10", 7);
    EXPECT_EQ(police(*cfg, reinterpret_cast<sockaddr*>(&dest), {}, AuditKind::kUdp), EACCES);
    EXPECT_TRUE(police_lookup(*cfg, "web.socks.test"));
    EXPECT_FALSE(police_lookup(*cfg, "git.socks.test"));

    AuditEvent failed;
    failed.address = reinterpret_cast<sockaddr*>(&dest);
    failed.verdict = AuditVerdict::kError;
    failed.err = ECONNREFUSED;
    audit(*cfg, failed);

    std::vector<std::string> lines = lines_of(path);
    ASSERT_EQ(lines.size(), 5u);  // allowed, two connect/UDP denials, a lookup denial, failed
    struct Want {
        const char* kind;
        const char* name;
        const char* address;
        int port;
        const char* verdict;
    } want[] = {{"connect", "web.socks.test", nullptr, 80, "allow"},
                {"connect", "web.socks.test", nullptr, 8, "deny"},
                {"udp", nullptr, "203.0.113.10", 7, "deny"},
                {"lookup", "git.socks.test", nullptr, -1, "deny"},
                {"connect", nullptr, "203.0.113.10", 7, "error"}};
    for (size_t i = 0; i < lines.size(); ++i) {
        AuditFields f;
        ASSERT_TRUE(parse_audit_line(lines[i], f)) << lines[i];
        EXPECT_STREQ(f.kind, want[i].kind) << lines[i];
        EXPECT_EQ(f.has_name, want[i].name != nullptr) << lines[i];
        if (want[i].name != nullptr) {
            EXPECT_STREQ(f.name, want[i].name) << lines[i];
        }
        EXPECT_EQ(f.has_address, want[i].address != nullptr) << lines[i];
        if (want[i].address != nullptr) {
            EXPECT_STREQ(f.address, want[i].address) << lines[i];
        }
        EXPECT_EQ(f.port, want[i].port) << lines[i];
        EXPECT_STREQ(f.verdict, want[i].verdict) << lines[i];
    }
    EXPECT_NE(lines[0].find("\"proxy\":\"198.51.100.1:1080\""), std::string::npos);
    EXPECT_NE(lines[1].find("\"reason\":\"policy\",\"ms\":0}"), std::string::npos) << lines[1];
    EXPECT_NE(lines[1].find("\"proxy\":null"), std::string::npos) << lines[1];
    EXPECT_NE(lines[4].find("\"reason\":\"ECONNREFUSED\""), std::string::npos) << lines[4];
    EXPECT_NE(lines[0].find("\"program\":\"unit_tests\""), std::string::npos) << lines[0];

    unlink(path.c_str());
    rmdir(dir);
}

TEST(AuditLogTest, UnopenableLogInvalidatesTheConfiguration) {
    auto cfg = std::make_unique<Config>();
    cfg->valid = true;
    std::snprintf(cfg->audit_path, sizeof cfg->audit_path, "/nonexistent-dir/audit.log");
    audit_open(*cfg);
    EXPECT_FALSE(cfg->valid);
    EXPECT_NE(std::strstr(cfg->error, "cannot open audit log '/nonexistent-dir/audit.log'"),
              nullptr)
        << cfg->error;
}

size_t open_fds() {
    size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        (void)entry;
        ++n;
    }
    return n;
}

TEST(AuditLogTest, NoPathNoLog) {
    auto cfg = std::make_unique<Config>();
    cfg->valid = true;
    size_t before = open_fds();
    audit_open(*cfg);
    EXPECT_TRUE(cfg->valid);
    EXPECT_EQ(open_fds(), before);  // nothing opened
}

}  // namespace
}  // namespace socksify::shim
