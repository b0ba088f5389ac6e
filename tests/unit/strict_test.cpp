// Strict mode's configuration rules: only loopback may be direct, names go remote.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <map>
#include <string>

#include "shim/settings/config.hpp"

namespace socksify::shim {
namespace {

std::map<std::string, std::string> g_env;

const char* lookup(const char* name) {
    auto it = g_env.find(name);
    return it == g_env.end() ? nullptr : it->second.c_str();
}

Config load(std::map<std::string, std::string> env) {
    g_env = std::move(env);
    g_env.emplace("SOCKSIFY_PROXY", "socks5h://198.51.100.1:1080");
    g_env.emplace("SOCKSIFY_STRICT", "1");
    Config cfg;
    load_config(cfg, lookup, nullptr);
    return cfg;
}

TEST(Strict, DefaultsAreStrictClean) {
    Config cfg = load({});
    EXPECT_TRUE(cfg.valid) << cfg.error;
    EXPECT_TRUE(cfg.strict);
}

TEST(Strict, LoopbackOnlyDirectListIsAccepted) {
    Config cfg = load({{"SOCKSIFY_DIRECT", "127.0.0.0/8,::1/128,127.0.0.53"}});
    EXPECT_TRUE(cfg.valid) << cfg.error;
    cfg = load({{"SOCKSIFY_DIRECT", ""}});
    EXPECT_TRUE(cfg.valid) << cfg.error;
}

TEST(Strict, OtherDirectNetworksAreRefused) {
    for (const char* d : {"203.0.113.0/24", "127.0.0.0/8,198.51.100.1", "::/0", "0.0.0.0/0"}) {
        Config cfg = load({{"SOCKSIFY_DIRECT", d}});
        EXPECT_FALSE(cfg.valid) << d;
        EXPECT_NE(std::string(cfg.error).find("strict"), std::string::npos) << cfg.error;
    }
}

TEST(Strict, DirectSuffixesAndLocalDnsAreRefused) {
    EXPECT_FALSE(load({{"SOCKSIFY_DIRECT", ".corp.internal"}}).valid);
    EXPECT_FALSE(load({{"SOCKSIFY_DNS", "local"}}).valid);
    g_env.clear();
    g_env["SOCKSIFY_PROXY"] = "socks5://198.51.100.1:1080";  // local DNS by scheme
    g_env["SOCKSIFY_STRICT"] = "1";
    Config cfg;
    load_config(cfg, lookup, nullptr);
    EXPECT_FALSE(cfg.valid);
    EXPECT_TRUE(load({{"SOCKSIFY_DNS", "off"}}).valid);
}

TEST(Strict, BadValueIsRefused) {
    Config cfg = load({{"SOCKSIFY_STRICT", "maybe"}});
    EXPECT_FALSE(cfg.valid);
    EXPECT_NE(std::string(cfg.error).find("SOCKSIFY_STRICT"), std::string::npos);
}

}  // namespace
}  // namespace socksify::shim
