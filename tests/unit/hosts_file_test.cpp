// /etc/hosts parsing: names, aliases, comments, addresses, chunked files.
#include "shim/dns/hosts_file.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace socksify::shim {
namespace {

constexpr const char* kHosts =
    "127.0.0.1\tlocalhost\n"
    "# 203.0.113.1 commented.example\n"
    "192.0.2.7  Web.Example  alias.example # trailing comment\n"
    "::1 ip6-localhost ip6-loopback\n"
    "   \n";

TEST(HostsFile, FindsNamesAndAliasesCaseInsensitively) {
    EXPECT_TRUE(hosts_text_has(kHosts, "localhost"));
    EXPECT_TRUE(hosts_text_has(kHosts, "web.example"));
    EXPECT_TRUE(hosts_text_has(kHosts, "ALIAS.example"));
    EXPECT_TRUE(hosts_text_has(kHosts, "ip6-loopback"));
    EXPECT_FALSE(hosts_text_has(kHosts, "commented.example"));
    EXPECT_FALSE(hosts_text_has(kHosts, "127.0.0.1"));  // an address is not a name
    EXPECT_FALSE(hosts_text_has(kHosts, "example"));
    EXPECT_FALSE(hosts_text_has(kHosts, "trailing"));
}

TEST(HostsFile, TrailingDotIsPartOfTheNameAsInGlibc) {
    // glibc's files backend compares with strcasecmp: "localhost." is not in the file.
    EXPECT_FALSE(hosts_text_has(kHosts, "localhost."));
    EXPECT_FALSE(hosts_text_has(kHosts, "ALIAS.example."));
    EXPECT_FALSE(hosts_text_has("127.0.0.1 dotted.example.\n", "dotted.example"));
    EXPECT_TRUE(hosts_text_has("127.0.0.1 dotted.example.\n", "dotted.example."));
}

TEST(HostsFile, EntryTellsFamiliesAndFirstIpv4) {
    char path[] = "/tmp/socksify-hosts-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    std::string text = std::string(kHosts) +
                       "203.0.113.5 both.example\n2001:db8::5 both.example\n" +
                       "2001:db8::6 six.example\n198.51.100.9 localhost\n";
    ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    close(fd);
    HostsEntry e = hosts_file_entry(path, "LOCALHOST");
    EXPECT_EQ(e.families, kHostsHasV4);
    EXPECT_EQ(e.v4[0], 127);  // the first line wins
    EXPECT_EQ(hosts_file_entry(path, "both.example").families, kHostsHasV4 | kHostsHasV6);
    EXPECT_EQ(hosts_file_entry(path, "six.example").families, kHostsHasV6);
    EXPECT_EQ(hosts_file_entry(path, "ip6-localhost").families, kHostsHasV6);
    EXPECT_EQ(hosts_file_entry(path, "nosuch.example").families, 0u);
    EXPECT_EQ(hosts_file_entry(path, "localhost.").families, 0u);
    unlink(path);
}

TEST(HostsFile, FindsAddresses) {
    in_addr v4{};
    inet_pton(AF_INET, "192.0.2.7", &v4);
    EXPECT_TRUE(hosts_text_has_address(kHosts, AF_INET, &v4));
    inet_pton(AF_INET, "203.0.113.1", &v4);
    EXPECT_FALSE(hosts_text_has_address(kHosts, AF_INET, &v4));
    in6_addr v6{};
    inet_pton(AF_INET6, "::1", &v6);
    EXPECT_TRUE(hosts_text_has_address(kHosts, AF_INET6, &v6));
}

TEST(HostsFile, ReadsLargeFilesInChunks) {
    char path[] = "/tmp/socksify-hosts-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    std::string text;
    for (int i = 0; i < 2000; ++i)
        text += "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250) + " host" +
                std::to_string(i) + ".example\n";
    text += std::string(20000, 'x') + " overlong.example\n";  // longer than a chunk
    text += "203.0.113.9 last.example";                       // no final newline
    ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    close(fd);
    EXPECT_TRUE(hosts_file_has(path, "host0.example"));
    EXPECT_TRUE(hosts_file_has(path, "host1999.example"));
    EXPECT_TRUE(hosts_file_has(path, "last.example"));
    EXPECT_FALSE(hosts_file_has(path, "host2000.example"));
    EXPECT_FALSE(hosts_file_has("/nonexistent/hosts", "host0.example"));
    unlink(path);
}

TEST(HostsFile, CachedCopyFollowsEditsOfTheFile) {
    char path[] = "/tmp/socksify-hosts-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    auto write_file = [&](const char* text) {
        FILE* f = fopen(path, "w");
        ASSERT_NE(f, nullptr);
        fputs(text, f);
        fclose(f);
    };
    write_file("203.0.113.1 first.example\n");
    EXPECT_TRUE(hosts_file_has(path, "first.example"));
    EXPECT_TRUE(hosts_file_has(path, "first.example"));  // from the cached copy
    // Same size, new content: the inode's mtime (or size) moves, the cache follows.
    timespec later{};
    clock_gettime(CLOCK_REALTIME, &later);
    later.tv_sec += 5;
    write_file("203.0.113.1 other.example\n");
    timespec times[2] = {later, later};
    utimensat(AT_FDCWD, path, times, 0);
    EXPECT_FALSE(hosts_file_has(path, "first.example"));
    EXPECT_TRUE(hosts_file_has(path, "other.example"));
    unlink(path);
}

}  // namespace
}  // namespace socksify::shim
