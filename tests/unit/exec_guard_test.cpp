// strict_env: the environment an exec gets under --strict. The SOCKSIFY_* entries are
// ours whatever the caller passed, and LD_PRELOAD always names the library.
#include "shim/exec_guard.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace socksify::shim {
namespace {

const char* const kOurs[] = {"SOCKSIFY_PROXY=socks5h://198.51.100.1:1080", "SOCKSIFY_STRICT=1"};
constexpr const char* kLib = "/opt/socksify/lib/libsocksify.so";

std::vector<std::string> env_of(std::vector<const char*> in, size_t cap = 16) {
    in.push_back(nullptr);
    std::vector<char*> out(cap);
    char buf[512];
    if (!strict_env(const_cast<char* const*>(in.data()), kOurs, 2, kLib, out.data(), cap, buf,
                    sizeof buf))
        return {"<too small>"};
    std::vector<std::string> got;
    for (char** e = out.data(); *e != nullptr; ++e) got.emplace_back(*e);
    return got;
}

using V = std::vector<std::string>;

TEST(StrictEnvTest, AnEmptyEnvironmentGetsThePreloadAndOurVariables) {
    EXPECT_EQ(env_of({}), (V{"LD_PRELOAD=/opt/socksify/lib/libsocksify.so",
                             "SOCKSIFY_PROXY=socks5h://198.51.100.1:1080", "SOCKSIFY_STRICT=1"}));
}

TEST(StrictEnvTest, OtherVariablesStayInOrder) {
    EXPECT_EQ(env_of({"PATH=/usr/bin", "HOME=/root"}),
              (V{"PATH=/usr/bin", "HOME=/root", "LD_PRELOAD=/opt/socksify/lib/libsocksify.so",
                 "SOCKSIFY_PROXY=socks5h://198.51.100.1:1080", "SOCKSIFY_STRICT=1"}));
}

TEST(StrictEnvTest, TheCallersSocksifyVariablesAreReplaced) {
    // A child cannot switch strict mode off or point at another proxy.
    V got = env_of({"SOCKSIFY_STRICT=0", "SOCKSIFY_PROXY=socks5://192.0.2.1:9", "A=b"});
    EXPECT_EQ(got, (V{"A=b", "LD_PRELOAD=/opt/socksify/lib/libsocksify.so",
                      "SOCKSIFY_PROXY=socks5h://198.51.100.1:1080", "SOCKSIFY_STRICT=1"}));
}

// The whole environment for one LD_PRELOAD value: ours after it, nothing else.
V with_preload(const std::string& preload) {
    return V{"LD_PRELOAD=" + preload, "SOCKSIFY_PROXY=socks5h://198.51.100.1:1080",
             "SOCKSIFY_STRICT=1"};
}

TEST(StrictEnvTest, APreloadNamingTheLibraryIsKept) {
    EXPECT_EQ(env_of({"LD_PRELOAD=/usr/lib/libfoo.so:/opt/socksify/lib/libsocksify.so"}),
              with_preload("/usr/lib/libfoo.so:/opt/socksify/lib/libsocksify.so"));
    EXPECT_EQ(env_of({"LD_PRELOAD=/opt/socksify/lib/libsocksify.so /usr/lib/libfoo.so"}),
              with_preload("/opt/socksify/lib/libsocksify.so /usr/lib/libfoo.so"));
}

TEST(StrictEnvTest, APreloadWithoutTheLibraryGetsItInFront) {
    EXPECT_EQ(env_of({"LD_PRELOAD=/usr/lib/libfoo.so"}),
              with_preload("/opt/socksify/lib/libsocksify.so:/usr/lib/libfoo.so"));
    EXPECT_EQ(env_of({"LD_PRELOAD="}), with_preload("/opt/socksify/lib/libsocksify.so"));
    // A name that only contains the path is not it.
    EXPECT_EQ(
        env_of({"LD_PRELOAD=/opt/socksify/lib/libsocksify.so.bak"}),
        with_preload("/opt/socksify/lib/libsocksify.so:/opt/socksify/lib/libsocksify.so.bak"));
}

TEST(StrictEnvTest, OneLdPreloadFromTheLastOne) {
    // ld.so reads the last LD_PRELOAD entry; the result has exactly one.
    EXPECT_EQ(env_of({"LD_PRELOAD=/usr/lib/a.so", "LD_PRELOAD=/usr/lib/b.so"}),
              with_preload("/opt/socksify/lib/libsocksify.so:/usr/lib/b.so"));
    EXPECT_EQ(env_of({"LD_PRELOAD=/opt/socksify/lib/libsocksify.so", "LD_PRELOAD=/usr/lib/b.so"}),
              with_preload("/opt/socksify/lib/libsocksify.so:/usr/lib/b.so"));
}

TEST(StrictEnvTest, ArraysTooSmallFail) {
    EXPECT_EQ(env_of({"A=b", "C=d"}, 5), (V{"<too small>"}));
    EXPECT_EQ(env_of({"A=b", "C=d"}, 6).size(), 5u);
    char* out[8];
    char tiny[8];
    const char* in[] = {nullptr};
    EXPECT_FALSE(
        strict_env(const_cast<char* const*>(in), kOurs, 2, kLib, out, 8, tiny, sizeof tiny));
}

}  // namespace
}  // namespace socksify::shim
