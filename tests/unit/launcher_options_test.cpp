// The launcher in parts: options → settings (parse_args, config files, merge) and
// settings → environment (export_settings, build_preload), and running a program.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "launcher/environment.hpp"
#include "launcher/options.hpp"
#include "launcher/run.hpp"

namespace socksify::launcher {
namespace {
using shim::Setting;

Options parse(std::vector<std::string> args) {
    static std::vector<std::string> keep;
    keep = std::move(args);
    keep.insert(keep.begin(), "socksify");
    static std::vector<char*> argv;
    argv.clear();
    for (std::string& a : keep) argv.push_back(a.data());
    argv.push_back(nullptr);
    return parse_args(static_cast<int>(argv.size() - 1), argv.data());
}

TEST(LauncherOptionsTest, EverySpellingOfAnOption) {
    Options o = parse({"-x", "socks5h://198.51.100.1:1080", "--dns=local", "--udp", "YES", "-vq",
                       "--timeout", "2.5", "--", "prog", "arg"});
    EXPECT_EQ(o[Setting::kProxy], "socks5h://198.51.100.1:1080");
    EXPECT_STREQ(o.proxy_source, "--proxy");
    EXPECT_EQ(o[Setting::kDns], "local");
    EXPECT_EQ(o[Setting::kUdp], "on");     // handed on in one spelling
    EXPECT_EQ(o[Setting::kLog], "quiet");  // -v then -q: the last wins
    EXPECT_EQ(o[Setting::kTimeout], "2.5");
    EXPECT_EQ(o.program, 10);
    Options joined = parse({"-xsocks5://198.51.100.1", "prog"});
    EXPECT_EQ(joined[Setting::kProxy], "socks5://198.51.100.1");
    EXPECT_EQ(joined.program, 2);
}

TEST(LauncherOptionsTest, RulesKeepTheirOrderAcrossAllowAndDeny) {
    Options o = parse({"--allow", "a.test", "--deny", "*", "--allow", "198.51.100.0/24:443", "p"});
    std::vector<std::string> want = {"allow:a.test", "deny:*", "allow:198.51.100.0/24:443"};
    EXPECT_EQ(o.list(Setting::kAllow), want);
}

TEST(LauncherOptionsTest, RepeatedProxyAndChainMakeHops) {
    Options o = parse({"-x", "socks5://198.51.100.1:1", "-x", "http://198.51.100.2:2", "p"});
    std::vector<std::string> want = {"socks5://198.51.100.1:1", "http://198.51.100.2:2"};
    EXPECT_EQ(o.list(Setting::kChain), want);
    EXPECT_EQ(o[Setting::kProxy], "socks5://198.51.100.1:1");  // the first hop
    Options c = parse({"--chain", "socks5://198.51.100.1:1,socks4://198.51.100.3:3", "p"});
    EXPECT_EQ(c.list(Setting::kChain).size(), 2u);
    Options one = parse({"--chain", "socks5://198.51.100.1:1", "p"});
    EXPECT_TRUE(one.list(Setting::kChain).empty());  // one hop is the proxy alone
    EXPECT_EQ(one[Setting::kProxy], "socks5://198.51.100.1:1");
}

TEST(LauncherOptionsTest, DirectRoutesJoinTheDirectList) {
    Options o = parse({"--route", "198.51.100.0/24=direct", "--route",
                       "*.onion=socks5h://127.0.0.1:9050", "--direct", "corp.test", "p"});
    std::vector<std::string> direct = {"198.51.100.0/24", "corp.test"};
    EXPECT_EQ(o.list(Setting::kDirect), direct);
    std::vector<std::string> routes = {"*.onion=socks5h://127.0.0.1:9050"};
    EXPECT_EQ(o.list(Setting::kRoute), routes);
    EXPECT_TRUE(parse({"--direct", "", "p"}).direct_none);
}

TEST(LauncherOptionsDeathTest, BadInputIsOneLineAndExitTwo) {
    EXPECT_EXIT(parse({"--frobnicate", "p"}), testing::ExitedWithCode(2),
                "socksify: unknown option '--frobnicate' \\(see --help\\)");
    EXPECT_EXIT(parse({"--dns", "sideways", "p"}), testing::ExitedWithCode(2),
                "bad --dns value 'sideways'");
    EXPECT_EXIT(parse({"-x", "socks5://u:hunter2@", "p"}), testing::ExitedWithCode(2),
                "bad --proxy value 'socks5://u:\\*\\*\\*@': missing host");
    EXPECT_EXIT(parse({"--strict=yes", "p"}), testing::ExitedWithCode(2), "takes no value");
    EXPECT_EXIT(parse({"--timeout"}), testing::ExitedWithCode(2), "needs a value");
    EXPECT_EXIT(parse({"-x", "socks5://198.51.100.1"}), testing::ExitedWithCode(2),
                "no program given");
    EXPECT_EXIT(parse({"--route", "*=direct", "p"}), testing::ExitedWithCode(2),
                "a direct route takes a network or a domain");
}

std::string write_file(const std::string& text) {
    char path[] = "/tmp/socksify-options-XXXXXX";
    int fd = mkstemp(path);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    close(fd);
    return path;
}

TEST(LauncherOptionsTest, ConfigFileFillsWhatTheCommandLineLeftUnset) {
    std::string path = write_file(
        "proxy = socks5://198.51.100.9:1080\n"
        "dns = off\n"
        "udp = no\n"
        "strict = yes\n"
        "pipeline = no\n"
        "chain = socks5://198.51.100.1:1,socks5://198.51.100.2:2\n"
        "chain-mode = dynamic\n"
        "route = *.onion=socks5h://127.0.0.1:9050\n"
        "[policy]\n"
        "deny *.ads.test\n");
    Options cli =
        parse({"-x", "socks5h://198.51.100.1:1080", "--dns", "remote", "--allow", "a.test", "p"});
    Options file = read_config_file(path);
    merge(cli, file);
    unlink(path.c_str());
    EXPECT_EQ(cli[Setting::kProxy], "socks5h://198.51.100.1:1080");
    EXPECT_EQ(cli[Setting::kDns], "remote");
    EXPECT_EQ(cli[Setting::kUdp], "off");
    EXPECT_EQ(cli[Setting::kStrict], "1");
    EXPECT_EQ(cli[Setting::kPipeline], "0");
    EXPECT_EQ(cli[Setting::kChainMode], "dynamic");
    EXPECT_TRUE(cli.list(Setting::kChain).empty());  // -x was given: no chain from the file
    EXPECT_EQ(cli.list(Setting::kRoute).size(), 1u);
    std::vector<std::string> rules = {"allow:a.test", "deny:*.ads.test"};
    EXPECT_EQ(cli.list(Setting::kAllow), rules);
}

TEST(LauncherOptionsTest, StrictIsAOneWaySwitch) {
    std::string path = write_file("strict = no\n");
    Options cli = parse({"--strict", "p"});
    Options file = read_config_file(path);
    merge(cli, file);
    unlink(path.c_str());
    EXPECT_EQ(cli[Setting::kStrict], "1");
}

TEST(LauncherOptionsTest, HelpShowsEveryOptionOfTheTable) {
    std::string help = help_text();
    for (const shim::SettingRow& r : shim::settings_table()) {
        if (r.option == nullptr) continue;
        std::string shown =
            std::string("--") + r.option + (r.metavar ? std::string(" ") + r.metavar : "");
        EXPECT_NE(help.find(shown), std::string::npos) << shown;
    }
    EXPECT_NE(help.find("\n  -x, --proxy URL           "), std::string::npos);
}

TEST(LauncherEnvironmentTest, SettingsBecomeTheLibrarysVariables) {
    char* none[] = {const_cast<char*>("SOCKSIFY_STRICT=1"), const_cast<char*>("HOME=/root"),
                    nullptr};
    env_reset(none);
    Options o = parse({"-x", "socks5h://alice:pw@198.51.100.1:1080", "--direct", "corp.test",
                       "--deny", "*", "--fake-net", "203.0.113.0/24", "-v", "p"});
    pick_proxy(o);
    export_settings(o);
    EXPECT_STREQ(env_lookup("SOCKSIFY_PROXY"), "socks5h://alice@198.51.100.1:1080");  // no password
    EXPECT_STREQ(env_lookup("SOCKSIFY_DIRECT"), "127.0.0.0/8,::1/128,corp.test");
    EXPECT_STREQ(env_lookup("SOCKSIFY_POLICY"), "deny:*");
    EXPECT_STREQ(env_lookup("SOCKSIFY_FAKE_NET"), "203.0.113.0/24");
    EXPECT_STREQ(env_lookup("SOCKSIFY_LOG"), "verbose");
    EXPECT_STREQ(env_lookup("SOCKSIFY_STRICT"), "1");  // inherited, not turned off
    EXPECT_STREQ(env_lookup("HOME"), "/root");
    EXPECT_EQ(env_lookup("SOCKSIFY_CHAIN"), nullptr);
}

std::string exported(std::string_view text, bool with_password) {
    shim::ProxyUrl url;
    EXPECT_EQ(shim::parse_proxy_url(text, url), nullptr) << text;
    return export_url(url, with_password);
}

TEST(LauncherEnvironmentTest, ProxyUrlsRoundTrip) {
    EXPECT_EQ(exported("198.51.100.1", false), "socks5h://198.51.100.1:1080");
    EXPECT_EQ(exported("socks4a://u%20x@[2001:db8::1]:9", false),
              "socks4a://u%20x@[2001:db8::1]:9");
    EXPECT_EQ(exported("http://u:p%40ss@198.51.100.1:3128/", true),
              "http://u:p%40ss@198.51.100.1:3128");
    // The longest credentials, every byte percent-encoded, still fit.
    shim::ProxyUrl url;
    ASSERT_EQ(shim::parse_proxy_url("socks5://u:p@198.51.100.1", url), nullptr);
    std::string user(shim::kMaxCred, '/'), pass(shim::kMaxCred, '@');
    std::snprintf(url.user, sizeof url.user, "%s", user.c_str());
    std::snprintf(url.pass, sizeof url.pass, "%s", pass.c_str());
    std::string text = export_url(url, true);
    EXPECT_EQ(text.size(), 9 + 3 * 255 + 1 + 3 * 255 + 1 + 17);
}

// The proxy is parsed once, when the options are final (pick_proxy): every hop and
// every route's upstream is a value in Options from then on.
TEST(LauncherProxyTest, PickProxyParsesEveryHopAndRouteOnce) {
    Options one = parse({"-x", "socks4://alice:pw@198.51.100.7:1081", "p"});
    pick_proxy(one);
    ASSERT_EQ(one.hops.size(), 1u);
    EXPECT_EQ(one.hops[0].kind, shim::ProxyKind::kSocks4);
    EXPECT_STREQ(one.hops[0].host, "198.51.100.7");
    EXPECT_EQ(one.hops[0].port, 1081);
    EXPECT_STREQ(one.hops[0].user, "alice");
    EXPECT_STREQ(one.hops[0].pass, "pw");

    Options chain =
        parse({"--chain", "socks5://198.51.100.1:1,http://u:p@198.51.100.2:2", "--route",
               "*.onion=socks5h://127.0.0.1:9050", "--route", "203.0.113.0/24=direct", "p"});
    pick_proxy(chain);
    ASSERT_EQ(chain.hops.size(), 2u);
    EXPECT_EQ(chain.hops[0].port, 1);
    EXPECT_EQ(chain.hops[1].kind, shim::ProxyKind::kHttp);
    EXPECT_STREQ(chain.hops[1].pass, "p");
    ASSERT_EQ(chain.route_upstreams.size(), 1u);  // the direct route is no upstream
    EXPECT_EQ(chain.route_upstreams[0].port, 9050);
    EXPECT_TRUE(chain.route_upstreams[0].remote_dns);
}

TEST(LauncherProxyTest, TheEnvironmentsProxyIsParsedToo) {
    unsetenv("SOCKSIFY_PROXY");
    unsetenv("ALL_PROXY");
    setenv("all_proxy", "http://198.51.100.3:3128", 1);  // not SOCKS: not taken
    EXPECT_EXIT(
        {
            Options o = parse({"p"});
            pick_proxy(o);
        },
        testing::ExitedWithCode(2), "no proxy given");
    setenv("SOCKSIFY_PROXY", "socks5://198.51.100.4:1085", 1);
    Options o = parse({"p"});
    pick_proxy(o);
    EXPECT_STREQ(o.proxy_source, "SOCKSIFY_PROXY");
    ASSERT_EQ(o.hops.size(), 1u);
    EXPECT_EQ(o.hops[0].port, 1085);
    EXPECT_FALSE(o.hops[0].remote_dns);
    setenv("SOCKSIFY_PROXY", "socks5://198.51.100.4:0", 1);
    EXPECT_EXIT(
        {
            Options bad = parse({"p"});
            pick_proxy(bad);
        },
        testing::ExitedWithCode(2), "bad SOCKSIFY_PROXY value 'socks5://198.51.100.4:0'");
    unsetenv("SOCKSIFY_PROXY");
    unsetenv("all_proxy");
}

TEST(LauncherProxyTest, AChainHasAtMostEightHops) {
    std::vector<std::string> args;
    for (int i = 1; i <= 9; ++i) {
        args.push_back("-x");
        args.push_back("socks5://198.51.100." + std::to_string(i) + ":1080");
    }
    args.push_back("p");
    Options o = parse(args);
    EXPECT_EXIT(pick_proxy(o), testing::ExitedWithCode(2), "a chain has at most 8 hops");
}

// The environment is made from the parsed value, not from the text it came from.
TEST(LauncherProxyTest, TheEnvironmentComesFromTheParsedValue) {
    char* none[] = {nullptr};
    env_reset(none);
    Options o =
        parse({"-x", "socks5://alice:pw@198.51.100.1:1080", "-x", "socks4a://198.51.100.2:1081",
               "--route", "*.onion=http://127.0.0.1:8118", "p"});
    pick_proxy(o);
    o.value[Options::idx(Setting::kProxy)] = "not a url";
    o.list(Setting::kChain) = {"not", "urls"};
    o.list(Setting::kRoute) = {"*.onion=not a url"};
    export_settings(o);
    EXPECT_STREQ(env_lookup("SOCKSIFY_PROXY"), "socks5://alice@198.51.100.1:1080");
    EXPECT_STREQ(env_lookup("SOCKSIFY_CHAIN"),
                 "socks5://alice:pw@198.51.100.1:1080,socks4a://198.51.100.2:1081");
    EXPECT_STREQ(env_lookup("SOCKSIFY_ROUTES"), "*.onion=http://127.0.0.1:8118");
}

TEST(LauncherProxyTest, AProxychainsConfsEntriesArriveParsed) {
    std::string path = write_file(
        "proxy_dns\n"
        "[ProxyList]\n"
        "socks5 198.51.100.1 1083 sfyuser sfypass\n"
        "socks4 198.51.100.2 1080 alice\n");
    Options pc = read_proxychains(path);
    unlink(path.c_str());
    EXPECT_EQ(pc[Setting::kProxy], "");  // no URL text is made for them
    ASSERT_EQ(pc.hops.size(), 2u);
    Options cli = parse({"p"});
    merge(cli, pc);
    pick_proxy(cli);
    ASSERT_EQ(cli.hops.size(), 2u);
    EXPECT_TRUE(cli.hops[0].remote_dns);  // proxy_dns: socks5h
    EXPECT_STREQ(cli.hops[0].pass, "sfypass");
    EXPECT_EQ(cli.hops[1].kind, shim::ProxyKind::kSocks4a);
    EXPECT_EQ(pick_password(cli), "sfypass");
    char* none[] = {nullptr};
    env_reset(none);
    export_settings(cli);
    EXPECT_STREQ(env_lookup("SOCKSIFY_PROXY"), "socks5h://sfyuser@198.51.100.1:1083");
    EXPECT_STREQ(env_lookup("SOCKSIFY_CHAIN"),
                 "socks5h://sfyuser:sfypass@198.51.100.1:1083,socks4a://alice@198.51.100.2:1080");

    // The command line's -x beats the file's entries.
    path = write_file("[ProxyList]\nsocks5 198.51.100.1 1083\nsocks5 198.51.100.2 1084\n");
    Options pc2 = read_proxychains(path);
    unlink(path.c_str());
    Options x = parse({"-x", "socks5://198.51.100.9:1089", "p"});
    merge(x, pc2);
    pick_proxy(x);
    ASSERT_EQ(x.hops.size(), 1u);
    EXPECT_EQ(x.hops[0].port, 1089);

    // An entry's user without a password: the message names the file.
    unsetenv("SOCKSIFY_PASSWORD");
    std::string lone = write_file("[ProxyList]\nsocks5 198.51.100.1 1083 sfyuser\n");
    Options named = parse({"--proxychains-conf", lone, "p"});
    Options pc3 = read_proxychains(lone);
    unlink(lone.c_str());
    merge(named, pc3);
    pick_proxy(named);
    EXPECT_EXIT(pick_password(named), testing::ExitedWithCode(2),
                "no password for proxy user in the \\[ProxyList\\] of '" + lone + "'");
}

TEST(LauncherProxyTest, APasswordInTheChosenProxysUrlBeatsAFilesPasswordFile) {
    unsetenv("SOCKSIFY_PASSWORD");
    std::string secret = write_file("from-file\n");
    std::string conf = write_file("password-file = " + secret + "\n");
    // -x's URL has a password: the config file's password file yields to it.
    Options cli = parse({"-x", "socks5://u:from-url@198.51.100.1", "p"});
    Options file = read_config_file(conf);
    merge(cli, file);
    pick_proxy(cli);
    EXPECT_EQ(pick_password(cli), "from-url");
    // The command line's own --password-file beats the URL's.
    Options own = parse({"-x", "socks5://u:from-url@198.51.100.1", "--password-file", secret, "p"});
    pick_proxy(own);
    EXPECT_EQ(pick_password(own), "from-file");
    // A proxy and a password file from the same config file: the file's password.
    std::string both =
        write_file("proxy = socks5://u:from-url@198.51.100.1\npassword-file = " + secret + "\n");
    Options none = parse({"p"});
    Options f2 = read_config_file(both);
    merge(none, f2);
    pick_proxy(none);
    EXPECT_EQ(pick_password(none), "from-file");
    // A user without a password anywhere is refused, naming the proxy as given.
    Options nopw = parse({"-x", "socks5://bob@198.51.100.1", "p"});
    pick_proxy(nopw);
    EXPECT_EXIT(pick_password(nopw), testing::ExitedWithCode(2),
                "no password for proxy user in 'socks5://bob@198.51.100.1'");
    unlink(secret.c_str());
    unlink(conf.c_str());
    unlink(both.c_str());
}

TEST(LauncherEnvironmentTest, PreloadPutsOursFirstButSanitizersAhead) {
    EXPECT_EQ(build_preload("/l/libsocksify.so", nullptr), "/l/libsocksify.so");
    EXPECT_EQ(build_preload("/l/libsocksify.so", "/x/libc.so.6 /l/libsocksify.so:/y/libasan.so.8"),
              "/y/libasan.so.8:/l/libsocksify.so:/x/libc.so.6");
}

TEST(LauncherRunTest, TheProgramsExitStatusIsPassedBack) {
    char* none[] = {nullptr};
    env_reset(none);
    char* argv[] = {const_cast<char*>("/bin/sh"), const_cast<char*>("-c"),
                    const_cast<char*>("exit 7"), nullptr};
    EXPECT_EQ(run(argv), 7);
}

void run_shell(const char* script) {
    char* none[] = {nullptr};
    env_reset(none);
    char* argv[] = {const_cast<char*>("/bin/sh"), const_cast<char*>("-c"),
                    const_cast<char*>(script), nullptr};
    run(argv);
}

TEST(LauncherRunDeathTest, AProgramKilledByASignalKillsTheLauncherAlike) {
    EXPECT_EXIT(run_shell("kill -TERM $$"), testing::KilledBySignal(SIGTERM), "");
}

TEST(LauncherRunDeathTest, AMissingProgramIsExit127) {
    char* none[] = {nullptr};
    env_reset(none);
    static char name[] = "no-such-program-here";
    static char* argv[] = {name, nullptr};
    EXPECT_EXIT(run(argv), testing::ExitedWithCode(127), "not found");
}

}  // namespace
}  // namespace socksify::launcher
