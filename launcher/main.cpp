// The socksify launcher: validates options, turns them into the SOCKSIFY_* environment,
// creates the shared state and runs the program with libsocksify.so preloaded.
#include <arpa/inet.h>
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "launcher/check.hpp"
#include "launcher/pipeline.hpp"
#include "launcher/summary.hpp"
#include "launcher/supervisor/elf_kind.hpp"
#include "launcher/supervisor/supervisor.hpp"
#include "launcher/version.hpp"
#include "settings/audit_format.hpp"
#include "settings/config.hpp"
#include "settings/config_file.hpp"
#include "settings/policy.hpp"
#include "shim/audit_file.hpp"
#include "shim/program_check.hpp"
#include "shim/shared_state.hpp"
#include "shim/shm_file.hpp"

extern char** environ;

namespace socksify::launcher {
// The launcher runs the library's machinery; its names read unqualified here.
using namespace shim;
namespace {

constexpr int kExitUsage = 2;        // bad option or value, nothing was run
constexpr int kExitCannotRun = 126;  // as a shell: found but not executable
constexpr int kExitNotFound = 127;   // as a shell: command not found
constexpr const char* kShmDir = "/dev/shm";
constexpr std::string_view kShmPrefix = "socksify-";
constexpr const char* kLoopback = "127.0.0.0/8,::1/128";

constexpr const char* kHelp =
    "usage: socksify [options] [--] program [args...]\n"
    "Runs program with its TCP connections, UDP datagrams and host name lookups going\n"
    "through a SOCKS5 proxy (libsocksify.so is preloaded).\n"
    "\n"
    "  -x, --proxy URL           [socks5|socks5h|socks4|socks4a|http]://\n"
    "                            [user[:password]@]host[:port]\n"
    "                            socks5h (also when no scheme is given) lets the proxy\n"
    "                            resolve names; default port 1080. Without -x: the\n"
    "                            proxychains.conf's, the config file's, SOCKSIFY_PROXY,\n"
    "                            then all_proxy or ALL_PROXY when it is a socks5(h) URL\n"
    "      --direct LIST         also reach these directly, not through the proxy: CIDRs\n"
    "                            and domain suffixes, comma-separated (repeatable;\n"
    "                            loopback 127.0.0.0/8 and ::1/128 are direct unless\n"
    "                            --direct '' is given, which proxies loopback too)\n"
    "      --dns MODE            remote: names get fake addresses and go to the proxy;\n"
    "                            local: the local resolver; off: host name lookups fail\n"
    "                            (default: remote for socks5h, local for socks5)\n"
    "      --dns-tcp IP[:PORT]   carry res_* DNS queries over TCP through the proxy to\n"
    "                            this nameserver, port 53 by default (default: res_*\n"
    "                            queries are refused unless --dns is local)\n"
    "      --fake-net CIDR       IPv4 range of fake addresses, /30 or wider\n"
    "                            (default 198.18.0.0/15)\n"
    "      --fake-net6 CIDR      IPv6 range of fake addresses, /96 to /126\n"
    "                            (default fd53:4f43:4b53::/96)\n"
    "      --udp on|off          relay UDP through the proxy (UDP ASSOCIATE); off: UDP\n"
    "                            to a proxied destination fails with EACCES (default on)\n"
    "      --timeout SECONDS     proxy connection and handshake timeout, e.g. 10 or 0.5\n"
    "                            (default 10, at most 3600)\n"
    "      --check               talk to the proxy and print what it supports, one line\n"
    "                            each (exit 0 when usable); no program is run; a proxy\n"
    "                            URL and a HOST:PORT to CONNECT to may follow\n"
    "      --no-pipeline         one SOCKS message per round trip (default: greeting,\n"
    "                            auth and request in one write once the proxy is known\n"
    "                            to keep early bytes; learned per proxy and cached)\n"
    "      --strict              nothing may leave except through the proxy: only\n"
    "                            loopback direct, remote DNS, raw/packet/ICMP sockets\n"
    "                            refused; a static, setuid or capability-carrying\n"
    "                            program (which the preload cannot reach) is refused\n"
    "      --password-file FILE  proxy password: the first line of FILE; the password\n"
    "                            may also come from SOCKSIFY_PASSWORD or the URL\n"
    "      --allow RULE          allow connections, datagrams and lookups matching RULE\n"
    "      --deny RULE           deny them (EACCES; a denied lookup fails with EAI_FAIL);\n"
    "                            both repeatable, first match wins. RULE: example.com,\n"
    "                            *.example.com (subdomains), a CIDR or address, '*',\n"
    "                            each with an optional :PORT or :LO-HI\n"
    "                            ([2001:db8::/32]:443 for IPv6)\n"
    "      --default-deny        deny what no rule allows (default: allow)\n"
    "      --audit FILE          append one JSON line per connection, UDP association,\n"
    "                            name lookup and refusal to FILE\n"
    "      --audit-summary FILE  print a table of the destinations in an audit log and\n"
    "                            exit\n"
    "      --config FILE         read settings from FILE (default: SOCKSIFY_CONFIG, then\n"
    "                            ~/.config/socksify/config, then /etc/socksify.conf,\n"
    "                            the first that exists); options given here win\n"
    "      --proxychains-conf FILE  take the proxy, proxy_dns, timeouts and localnet\n"
    "                            from a proxychains.conf\n"
    "      --supervise auto|on|off  run the program under a seccomp supervisor\n"
    "                            that proxies connects the preload cannot see (Go,\n"
    "                            static programs, raw system calls) for its whole\n"
    "                            process tree; auto (default): when the program is a\n"
    "                            Go, static or 32-bit one\n"
    "      --chain URL,URL...    a chain: each hop reached through the one before (so\n"
    "                            does -x given more than once); at most 8 hops\n"
    "      --chain-mode strict|dynamic|random|round-robin  how a chain is used: all\n"
    "                            hops (default), dead hops skipped, or --chain-len hops\n"
    "                            drawn at random or in turn\n"
    "      --chain-len N         hops per connection for random and round-robin\n"
    "      --route RULE=URL      the upstream for destinations matching RULE (the --allow\n"
    "                            syntax; names judged before resolution); URL may be\n"
    "                            direct (joins --direct); repeatable, first match wins\n"
    "  -v, --verbose             log one line per connection on stderr\n"
    "  -q, --quiet               log nothing, not even errors (default: errors only)\n"
    "  -h, --help                show this help and exit\n"
    "      --version             show the version and what this build and kernel support\n"
    "\n"
    "Exit status: the program's; 2 when an option is bad, 126/127 when the program\n"
    "cannot be run or is not found. See socksify(1).\n";

// "FILE:LINE" while a config file's line is applied: errors name it.
std::string g_where;
// The directory relative paths in the file being applied are taken from ("" = cwd).
std::string g_base_dir;

// One line on stderr, then exit: every refusal looks the same.
[[noreturn]] void die(const std::string& msg, int code = kExitUsage) {
    std::string line = "socksify: " + (g_where.empty() ? "" : g_where + ": ") + msg + "\n";
    ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
    (void)ignored;
    std::exit(code);
}

[[noreturn]] void die_bad_value(const char* what, std::string_view value, const char* reason) {
    char line[512];
    // In a file the setting is named by its key ("udp"), not the option ("--udp").
    if (!g_where.empty() && std::strncmp(what, "--", 2) == 0) what += 2;
    format_bad_value(line, sizeof line, what, value, reason);
    die(line);
}

// Shows an argument in a one-line message without letting it break the line.
std::string printable(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 200)) {
        auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7F) ? '?' : c;
    }
    return out;
}

std::string redacted(std::string_view url) {
    char buf[512];
    redact_url(url, buf, sizeof buf);
    return buf;
}

Config g_scratch;  // for validating lists; large, so not on the stack

struct Options {
    std::string proxy;  // as given, when proxy_source is set
    const char* proxy_source = nullptr;
    std::vector<std::string> direct;  // non-empty --direct values
    bool direct_given = false;
    bool direct_none = false;  // --direct '' seen: loopback is proxied too
    std::string dns;
    std::string dns_tcp;
    std::string fake_net;
    std::string fake_net6;
    std::string udp;
    std::string timeout;
    int pipeline = -1;  // -1: not set here (the environment decides); 0 or 1
    bool strict = false;
    std::string password;  // from --password-file
    bool password_file = false;
    const char* log = nullptr;
    std::vector<std::string> rules;  // "allow:RULE" / "deny:RULE", in order
    int default_deny = -1;           // as pipeline
    std::string audit;               // absolute path
    std::string config_file;
    std::string proxychains;
    launcher::SuperviseMode supervise = launcher::SuperviseMode::kAuto;
    int program = 0;     // argv index of the program
    bool check = false;  // --check: probe the proxy instead of running a program
    const char* check_target = nullptr;
    std::vector<std::string> chain;  // every hop, when -x is repeated or --chain given
    std::string chain_mode;
    std::string chain_len;
    std::vector<std::string> routes;  // "RULE=URL", as given
};

enum class Opt {
    kProxy,
    kDirect,
    kDns,
    kDnsTcp,
    kFakeNet,
    kFakeNet6,
    kUdp,
    kTimeout,
    kNoPipeline,
    kStrict,
    kPasswordFile,
    kAllow,
    kDeny,
    kDefaultDeny,
    kAudit,
    kAuditSummary,
    kConfig,
    kProxychainsConf,
    kSupervise,
    kVerbose,
    kQuiet,
    kHelp,
    kVersion,
    kCheck,
    kChain,
    kChainMode,
    kChainLen,
    kRoute
};

struct LongOpt {
    std::string_view name;
    Opt id;
    bool takes_value;
};

constexpr LongOpt kLongOpts[] = {
    {"proxy", Opt::kProxy, true},
    {"direct", Opt::kDirect, true},
    {"dns", Opt::kDns, true},
    {"dns-tcp", Opt::kDnsTcp, true},
    {"fake-net", Opt::kFakeNet, true},
    {"fake-net6", Opt::kFakeNet6, true},
    {"udp", Opt::kUdp, true},
    {"timeout", Opt::kTimeout, true},
    {"no-pipeline", Opt::kNoPipeline, false},
    {"strict", Opt::kStrict, false},
    {"password-file", Opt::kPasswordFile, true},
    {"allow", Opt::kAllow, true},
    {"deny", Opt::kDeny, true},
    {"default-deny", Opt::kDefaultDeny, false},
    {"audit", Opt::kAudit, true},
    {"audit-summary", Opt::kAuditSummary, true},
    {"config", Opt::kConfig, true},
    {"proxychains-conf", Opt::kProxychainsConf, true},
    {"supervise", Opt::kSupervise, true},
    {"chain", Opt::kChain, true},
    {"chain-mode", Opt::kChainMode, true},
    {"chain-len", Opt::kChainLen, true},
    {"route", Opt::kRoute, true},
    {"verbose", Opt::kVerbose, false},
    {"quiet", Opt::kQuiet, false},
    {"help", Opt::kHelp, false},
    {"version", Opt::kVersion, false},
    {"check", Opt::kCheck, false},
};

// A path from the file being applied is relative to that file's directory.
std::string path_in_context(std::string_view path) {
    if (g_base_dir.empty() || path.empty() || path.front() == '/') return std::string(path);
    return g_base_dir + "/" + std::string(path);
}

// The library opens the audit log at its first network call, after the program may
// have changed directory: it gets an absolute path.
std::string absolute_path(const std::string& path) {
    if (path.front() == '/') return path;
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd) == nullptr) {
        die(std::string("cannot get the current directory: ") + std::strerror(errno));
    }
    return std::string(cwd) + "/" + path;
}

std::string read_password_file(const std::string& path) {
    const char* what = "--password-file";
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) die_bad_value(what, path, std::strerror(errno));
    char buf[kMaxCred + 2];  // one more byte than allowed tells "too long" from "fits"
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof buf - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            close(fd);
            die_bad_value(what, path, std::strerror(err));
        }
        len += static_cast<size_t>(n);
        if (n == 0 || len == sizeof buf || std::memchr(buf, '\n', len) != nullptr) break;
    }
    close(fd);
    std::string_view content(buf, len);
    size_t nl = content.find('\n');
    bool whole_line = nl != std::string_view::npos;
    std::string_view line = content.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF-edited file
    if (!whole_line && len == sizeof buf)
        die_bad_value(what, path, "password longer than 255 bytes");
    if (line.size() > kMaxCred) die_bad_value(what, path, "password longer than 255 bytes");
    if (line.empty()) die_bad_value(what, path, "empty password");
    if (line.find('\0') != std::string_view::npos) {
        die_bad_value(what, path, "NUL byte in password");
    }
    std::string password(line);
    explicit_bzero(buf, sizeof buf);
    return password;
}

void apply(Options& o, Opt id, std::string_view value) {
    switch (id) {
        case Opt::kProxy: {
            ProxyUrl url;
            if (const char* e = parse_proxy_url(value, url)) {
                die_bad_value("--proxy", redacted(value), e);
            }
            // A second -x makes a chain: each hop reached through the one before.
            if (o.proxy_source != nullptr && o.proxy_source == std::string_view("--proxy")) {
                if (o.chain.empty()) o.chain.push_back(o.proxy);
                o.chain.emplace_back(value);
                break;
            }
            o.proxy = value;
            o.proxy_source = "--proxy";
            break;
        }
        case Opt::kChain: {
            o.proxy_source = nullptr;
            o.chain.clear();
            for (size_t at = 0;;) {
                size_t comma = value.find(',', at);
                std::string_view hop = value.substr(at, comma - at);
                apply(o, Opt::kProxy, hop);
                if (comma == std::string_view::npos) break;
                at = comma + 1;
            }
            break;
        }
        case Opt::kChainMode: {
            ChainMode m;
            if (const char* e = parse_chain_mode(value, m)) die_bad_value("--chain-mode", value, e);
            o.chain_mode = value;
            break;
        }
        case Opt::kChainLen: o.chain_len = value; break;
        case Opt::kRoute: {
            // RULE=URL or RULE=direct; a direct route joins the direct list.
            size_t eq = value.find('=');
            Rule rule;
            if (eq == std::string_view::npos)
                die_bad_value("--route", value, "expected RULE=URL or RULE=direct");
            if (const char* e = parse_rule(value.substr(0, eq), true, rule))
                die_bad_value("--route", value, e);
            std::string_view to = value.substr(eq + 1);
            if (to == "direct") {
                if (!rule.any_port || rule.target == RuleTarget::kAny)
                    die_bad_value("--route", value,
                                  "a direct route takes a network or a domain, no port");
                o.direct_given = true;
                o.direct.emplace_back(value.substr(0, eq));
                break;
            }
            ProxyUrl url;
            if (const char* e = parse_proxy_url(to, url)) die_bad_value("--route", redacted(to), e);
            explicit_bzero(url.pass, sizeof url.pass);
            o.routes.emplace_back(value);
            break;
        }
        case Opt::kDirect: {
            o.direct_given = true;
            if (value.empty()) {
                o.direct_none = true;
                break;
            }
            if (const char* e = parse_direct_list(value, g_scratch)) {
                die_bad_value("--direct", value, e);
            }
            o.direct.emplace_back(value);
            break;
        }
        case Opt::kDns: {
            DnsMode mode;
            if (const char* e = parse_dns_mode(value, mode)) die_bad_value("--dns", value, e);
            o.dns = value;
            break;
        }
        case Opt::kDnsTcp: {
            sockaddr_storage ss;
            socklen_t len = 0;
            if (const char* e = parse_dns_server(value, ss, len)) {
                die_bad_value("--dns-tcp", value, e);
            }
            o.dns_tcp = value;
            break;
        }
        case Opt::kFakeNet: {
            Cidr net;
            if (const char* e = parse_fake_net4(value, net)) die_bad_value("--fake-net", value, e);
            o.fake_net = value;
            break;
        }
        case Opt::kFakeNet6: {
            Cidr net;
            if (const char* e = parse_fake_net6(value, net)) {
                die_bad_value("--fake-net6", value, e);
            }
            o.fake_net6 = value;
            break;
        }
        case Opt::kUdp: {
            bool on = true;
            if (const char* e = parse_bool(value, on)) die_bad_value("--udp", value, e);
            o.udp = on ? "on" : "off";
            break;
        }
        case Opt::kTimeout: {
            int ms = 0;
            if (const char* e = parse_timeout_ms(value, ms)) die_bad_value("--timeout", value, e);
            o.timeout = value;
            break;
        }
        case Opt::kStrict: o.strict = true; break;
        case Opt::kSupervise:
            if (const char* e = launcher::parse_supervise_mode(value, o.supervise))
                die_bad_value("--supervise", value, e);
            break;
        case Opt::kNoPipeline: o.pipeline = 0; break;
        case Opt::kPasswordFile:
            o.password = read_password_file(path_in_context(value));
            o.password_file = true;
            break;
        case Opt::kAllow:
        case Opt::kDeny: {
            bool allow = id == Opt::kAllow;
            Rule rule;
            if (const char* e = parse_rule(value, allow, rule)) {
                die_bad_value(allow ? "--allow" : "--deny", value, e);
            }
            o.rules.push_back((allow ? "allow:" : "deny:") + std::string(value));
            break;
        }
        case Opt::kDefaultDeny: o.default_deny = 1; break;
        case Opt::kAudit:
            if (value.empty()) die_bad_value("--audit", value, "empty path");
            o.audit = absolute_path(path_in_context(value));
            break;
        case Opt::kAuditSummary: std::exit(audit_summary(std::string(value)));
        case Opt::kConfig: o.config_file = value; break;
        case Opt::kProxychainsConf: o.proxychains = value; break;
        case Opt::kVerbose: o.log = "verbose"; break;
        case Opt::kQuiet: o.log = "quiet"; break;
        case Opt::kHelp: std::fputs(kHelp, stdout); std::exit(0);
        case Opt::kVersion: print_version(); std::exit(0);
        case Opt::kCheck: o.check = true; break;
    }
}

// `--opt value`, `--opt=value`, `-x value`, `-xvalue`, `-vq`. The first non-option
// argument, or the one after `--`, is the program.
Options parse_args(int argc, char** argv) {
    Options o;
    int i = 1;
    for (; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--") {
            ++i;
            break;
        }
        if (a.size() < 2 || a[0] != '-') break;
        if (a[1] == '-') {
            std::string_view body = a.substr(2);
            size_t eq = body.find('=');
            std::string_view name = body.substr(0, eq);
            const LongOpt* opt = nullptr;
            for (const LongOpt& l : kLongOpts) {
                if (l.name == name) opt = &l;
            }
            // Only the name is echoed: a mistyped --proxy=... may carry a password.
            if (opt == nullptr) die("unknown option '--" + printable(name) + "' (see --help)");
            std::string_view value;
            if (opt->takes_value) {
                if (eq != std::string_view::npos) {
                    value = body.substr(eq + 1);
                } else if (i + 1 < argc) {
                    value = argv[++i];
                } else {
                    die("option '--" + std::string(name) + "' needs a value");
                }
            } else if (eq != std::string_view::npos) {
                die("option '--" + std::string(name) + "' takes no value");
            }
            apply(o, opt->id, value);
            continue;
        }
        for (size_t j = 1; j < a.size(); ++j) {
            switch (a[j]) {
                case 'x':
                    if (j + 1 < a.size()) {
                        apply(o, Opt::kProxy, a.substr(j + 1));
                    } else if (i + 1 < argc) {
                        apply(o, Opt::kProxy, argv[++i]);
                    } else {
                        die("option '-x' needs a value");
                    }
                    j = a.size();
                    break;
                case 'v': apply(o, Opt::kVerbose, {}); break;
                case 'q': apply(o, Opt::kQuiet, {}); break;
                case 'h': apply(o, Opt::kHelp, {}); break;
                default: die("unknown option '-" + printable(a.substr(j, 1)) + "' (see --help)");
            }
        }
    }
    if (o.check) {
        // socksify --check [URL] [HOST:PORT]
        for (; i < argc; ++i) {
            std::string_view a = argv[i];
            if (a.find("://") != std::string_view::npos && o.check_target == nullptr) {
                apply(o, Opt::kProxy, a);
            } else if (o.check_target == nullptr) {
                o.check_target = argv[i];
            } else {
                die("--check takes at most a proxy URL and a HOST:PORT");
            }
        }
        return o;
    }
    if (i >= argc) die("no program given (usage: socksify [options] [--] program [args...])");
    o.program = i;
    return o;
}

bool is_socks_url(std::string_view url) {
    auto starts = [&url](std::string_view p) {
        if (url.size() < p.size()) return false;
        for (size_t k = 0; k < p.size(); ++k) {
            char c = url[k];
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
            if (c != p[k]) return false;
        }
        return true;
    };
    return starts("socks5://") || starts("socks5h://");
}

// -x, else SOCKSIFY_PROXY, else a SOCKS all_proxy/ALL_PROXY (curl reads lowercase first).
void pick_proxy(Options& o) {
    if (o.proxy_source != nullptr) return;
    auto take = [&o](const char* name, bool socks_only) {
        const char* v = std::getenv(name);
        if (v == nullptr || v[0] == '\0' || (socks_only && !is_socks_url(v))) return false;
        o.proxy = v;
        o.proxy_source = name;
        return true;
    };
    if (!take(kEnvProxy, false) && !take("all_proxy", true) && !take("ALL_PROXY", true)) {
        die("no proxy given (use -x socks5h://host:port)");
    }
}

bool is_unreserved(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

std::string percent_encode(std::string_view s) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : s) {
        if (is_unreserved(c)) {
            out += c;
        } else {
            auto u = static_cast<unsigned char>(c);
            out += '%';
            out += kHex[u >> 4];
            out += kHex[u & 15];
        }
    }
    return out;
}

bool is_numeric_host(const char* host) {
    unsigned char buf[sizeof(in6_addr)];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

// Resolved once here so the library never needs DNS for the proxy itself.
std::string resolve_proxy_host(const char* host) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int rc = getaddrinfo(host, nullptr, &hints, &res);
    if (rc != 0 || res == nullptr) {
        const char* why = rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc);
        die("cannot resolve proxy host '" + printable(host) + "': " + why);
    }
    char text[INET6_ADDRSTRLEN] = {};
    const void* addr =
        res->ai_family == AF_INET6
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(res->ai_addr)->sin6_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr);
    inet_ntop(res->ai_family, addr, text, sizeof text);
    freeaddrinfo(res);
    return text;
}

// Never '.', never a search path (locate_library).
std::string find_library() {
    std::string tried;
    std::string lib = locate_library(tried);
    if (lib.empty()) die("library not found: " + tried);
    return lib;
}

bool is_sanitizer_runtime(std::string_view path) {
    size_t slash = path.rfind('/');
    std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
    for (std::string_view p : {"libasan.so", "libtsan.so", "libubsan.so", "libclang_rt."}) {
        if (base.substr(0, p.size()) == p) return true;
    }
    return false;
}

// Ours goes first, except that a sanitizer runtime must stay ahead of everything.
std::string build_preload(const std::string& lib) {
    if (lib.find_first_of(" :") != std::string::npos) {
        die("library path '" + printable(lib) +
            "' contains a space or ':' (LD_PRELOAD splits on them)");
    }
    std::vector<std::string_view> sanitizers, others;
    const char* old = std::getenv("LD_PRELOAD");
    std::string_view rest = old != nullptr ? old : "";
    while (!rest.empty()) {
        size_t sep = rest.find_first_of(" :");
        std::string_view item = rest.substr(0, sep);
        rest = sep == std::string_view::npos ? std::string_view{} : rest.substr(sep + 1);
        if (item.empty() || item == lib) continue;
        (is_sanitizer_runtime(item) ? sanitizers : others).push_back(item);
    }
    std::string out;
    for (std::string_view s : sanitizers) out.append(s).append(":");
    out += lib;
    for (std::string_view s : others) out.append(":").append(s);
    return out;
}

std::vector<std::string> g_env;  // the program's environment, for env_lookup
std::string g_password;          // the proxy password, for the shared state alone

const char* env_lookup(const char* name) {
    size_t len = std::strlen(name);
    for (const std::string& e : g_env) {
        if (e.size() > len && e[len] == '=' && e.compare(0, len, name) == 0) {
            return e.c_str() + len + 1;
        }
    }
    return nullptr;
}

// Under --strict the audit log is the supervisor's alone: its path is not in the
// program's environment (nor its fd in the program's table).
std::string g_private_audit;

// The audit log's path, wherever it is kept.
const char* audit_path() {
    return !g_private_audit.empty() ? g_private_audit.c_str() : env_lookup(kEnvAudit);
}

// The configuration the supervisor loads: the program's, with the private audit log,
// and never "supervised" (the supervisor answers the lookups the library asks for).
const char* supervisor_env(const char* name) {
    if (std::strcmp(name, kEnvSupervised) == 0) return nullptr;
    if (std::strcmp(name, kEnvAudit) == 0) return audit_path();
    return env_lookup(name);
}

void env_set(const char* name, const std::string& value) {
    std::string entry = std::string(name) + "=" + value;
    size_t len = std::strlen(name);
    for (std::string& e : g_env) {
        if (e.size() > len && e[len] == '=' && e.compare(0, len, name) == 0) {
            e = std::move(entry);
            return;
        }
    }
    g_env.push_back(std::move(entry));
}

void env_unset(const char* name) {
    size_t len = std::strlen(name);
    std::erase_if(g_env, [&](const std::string& e) {
        return e.size() > len && e[len] == '=' && e.compare(0, len, name) == 0;
    });
}

const char* refuse_resolve(const char*, uint16_t, Config&) { return "not numeric"; }

// Removes the /dev/shm state files earlier versions made, when their launcher died
// without cleaning up (the state is a memfd now: nothing of it stays behind).
void remove_stale_shm() {
    DIR* d = opendir(kShmDir);
    if (d == nullptr) return;
    pid_t self = getpid();
    while (dirent* e = readdir(d)) {
        std::string_view name = e->d_name;
        if (name.substr(0, kShmPrefix.size()) != kShmPrefix) continue;
        std::string_view rest = name.substr(kShmPrefix.size());
        size_t dash = rest.find('-');
        if (dash == 0 || dash == std::string_view::npos || dash > 9) continue;
        long pid = 0;
        bool digits = true;
        for (char c : rest.substr(0, dash)) {
            if (c < '0' || c > '9') digits = false;
            pid = pid * 10 + (c - '0');
        }
        if (!digits || pid == self) continue;
        if (kill(static_cast<pid_t>(pid), 0) == -1 && errno == ESRCH) {
            unlinkat(dirfd(d), e->d_name, 0);  // someone else's file: EPERM, left alone
        }
    }
    closedir(d);
}

// The run's shared state (shm_file.hpp): a memfd the child inherits, with no path
// anyone could swap and nothing to remove at any exit. It carries the password.
std::string create_state_for(const Config& cfg) {
    StateRef ref;
    if (create_state(cfg, cfg.pass, cfg.pass_len, ref) < 0)
        die(std::string("cannot create the shared state: ") + std::strerror(errno));
    char text[96];
    format_state_ref(ref, text, sizeof text);
    return text;
}

// A library the dynamic loader cannot load is skipped with a warning, and the program
// would run unproxied: refuse instead. Every run checks that the ELF file is whole;
// strict mode also loads it (RTLD_LOCAL: no symbol of ours reaches the launcher).
void check_library(const std::string& lib, bool strict) {
    if (!complete_elf(lib)) die("library '" + printable(lib) + "' is not a whole shared object");
    if (!strict) return;
    void* h = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) die("library '" + printable(lib) + "' cannot be loaded: " + dlerror());
    dlclose(h);
}

// The preload cannot act in a static, setuid/setgid, capability-carrying, foreign
// (class, machine, loader) program, nor can an unreadable one be checked: strict mode
// refuses to run it, otherwise one warning says it runs unproxied.
void check_program(const char* name, bool strict, bool supervised) {
    char found[4096];
    if (!find_program(name, std::getenv("PATH"), found, sizeof found)) return;  // "not found"
    std::string path = found;
    Blocker b = program_blocker(found);
    if (!b) return;
    // Static and Go programs: the supervisor serves their calls. (32-bit ones stay
    // refused: the supervisor would refuse every network call they make.)
    if (supervised && launcher::supervision_reason(found) != nullptr &&
        !launcher::is_foreign_class(found))
        return;
    std::string msg = "program '" + printable(path) + "' is " + b.why + ": " + blocker_effect(b);
    if (strict) {
        append_refusal(audit_path(), path.c_str(), "not-preloadable");
        die(msg + " (refused in --strict mode)");
    }
    msg = "socksify: warning: " + msg +
          (b.unchecked ? "; its traffic may not be proxied\n" : "; its traffic is not proxied\n");
    ssize_t ignored = write(STDERR_FILENO, msg.data(), msg.size());
    (void)ignored;
}

// --strict: the job runs as the same user, so nothing of the launcher may be reachable
// through /proc: not dumpable (no ptrace, no /proc/PID/mem, environ or fd; the
// supervisor's memory and audit fd with it), and its options (the audit log's path)
// wiped from /proc/PID/cmdline, which stays readable.
void hide_from_job(char** argv, int program) {
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        die(std::string("--strict cannot protect the launcher from the job: ") +
            std::strerror(errno));
    for (int i = 1; i < program; ++i) explicit_bzero(argv[i], std::strlen(argv[i]));
}

volatile sig_atomic_t g_child = 0;
// A supervised run: the stage's and the launcher's ends of their socket pair.
int g_stage_fd = -1;
int g_stage_parent = -1;
bool g_supervise_required = false;

// Whether the program runs under the supervisor (--supervise; auto: when the
// preload cannot serve it); when it does, argv becomes the stage's.
std::vector<char*> supervised_argv(char** argv, launcher::SuperviseMode mode, bool strict,
                                   bool& supervised) {
    supervised = false;
    // Under --strict the kernel enforces what the library cannot: every program of the
    // run is supervised from the first exec.
    if (strict && mode == launcher::SuperviseMode::kOff)
        die("--strict needs the supervisor (--supervise off given)");
    if (strict) mode = launcher::SuperviseMode::kOn;
    if (mode == launcher::SuperviseMode::kOff) return {};
    char found[4096];
    const char* why = nullptr;
    if (find_program(argv[0], std::getenv("PATH"), found, sizeof found))
        why = launcher::supervision_reason(found);
    if (mode == launcher::SuperviseMode::kAuto && why == nullptr) return {};
    if (!launcher::prepare_stage(g_stage_fd, g_stage_parent))
        die(std::string("cannot supervise the program: ") + std::strerror(errno), kExitCannotRun);
    g_supervise_required = mode == launcher::SuperviseMode::kOn || strict;
    static std::string self, fd_text;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) die("cannot supervise the program: /proc/self/exe is unreadable", kExitCannotRun);
    self.assign(exe, static_cast<size_t>(n));
    fd_text = std::to_string(g_stage_fd);
    std::vector<char*> v = {self.data(), const_cast<char*>(launcher::kStageFlag), fd_text.data(),
                            const_cast<char*>(strict ? "strict" : "plain"),
                            const_cast<char*>("--")};
    for (char** a = argv; *a != nullptr; ++a) v.push_back(*a);
    v.push_back(nullptr);
    supervised = true;
    return v;
}

void forward_signal(int sig) {
    int saved = errno;
    pid_t child = g_child;
    if (child > 0) kill(child, sig);
    errno = saved;
}

// SIGINT and SIGQUIT typed at the terminal reach the child through its process group
// (si_code SI_KERNEL): passing them on as well would deliver them twice, so only those
// a process sent (kill, sigqueue: si_code <= 0) are passed on — those reached the
// launcher alone — unless the program sent them itself (kill(0, …) or to its parent),
// which would echo them back. A process that signals the whole group still reaches the
// child twice, as with the signals below. The others are never typed at a terminal:
// always passed on.
void forward_unless_from_terminal(int sig, siginfo_t* info, void*) {
    if (info->si_code > 0 || info->si_pid == g_child) return;
    forward_signal(sig);
}
constexpr int kFromTerminalToo[] = {SIGINT, SIGQUIT};
constexpr int kForwarded[] = {SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};

[[noreturn]] void die_like_child(int sig) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, nullptr);
    rlimit no_core{0, 0};  // the child's crash, not ours: no core file from the launcher
    setrlimit(RLIMIT_CORE, &no_core);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    sigprocmask(SIG_UNBLOCK, &one, nullptr);
    raise(sig);
    _exit(128 + sig);
}

int run(char** argv) {
    sigset_t forwarded, old_mask;
    sigemptyset(&forwarded);
    for (int s : kForwarded) sigaddset(&forwarded, s);
    for (int s : kFromTerminalToo) sigaddset(&forwarded, s);
    sigprocmask(SIG_BLOCK, &forwarded, &old_mask);

    // Signals we catch go back to default in the child; a signal the launcher
    // inherited as ignored (nohup, a background job) stays ignored in the child too.
    sigset_t child_default;
    sigemptyset(&child_default);
    struct sigaction from_process {
    }, fwd{}, old{};
    from_process.sa_sigaction = forward_unless_from_terminal;
    from_process.sa_flags = SA_SIGINFO;
    sigemptyset(&from_process.sa_mask);
    fwd.sa_handler = forward_signal;
    sigemptyset(&fwd.sa_mask);
    for (int s : kFromTerminalToo) {
        sigaction(s, nullptr, &old);
        if (old.sa_handler == SIG_IGN) continue;
        sigaction(s, &from_process, nullptr);
        sigaddset(&child_default, s);
    }
    for (int s : kForwarded) {
        sigaction(s, nullptr, &old);
        if (old.sa_handler == SIG_IGN) continue;
        sigaction(s, &fwd, nullptr);
        sigaddset(&child_default, s);
    }

    std::vector<char*> envp;
    envp.reserve(g_env.size() + 1);
    for (std::string& e : g_env) envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &old_mask);
    posix_spawnattr_setsigdefault(&attr, &child_default);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, argv[0], nullptr, &attr, argv, envp.data());
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        if (rc == ENOENT) die("program '" + printable(argv[0]) + "' not found", kExitNotFound);
        die("cannot run program '" + printable(argv[0]) + "': " + std::strerror(rc),
            kExitCannotRun);
    }
    g_child = pid;
    if (g_stage_fd >= 0) {
        launcher::attach_supervisor(pid, g_stage_fd, g_stage_parent, supervisor_env,
                                    g_supervise_required);
    }
    sigprocmask(SIG_SETMASK, &old_mask, nullptr);

    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            int err = errno;
            die(std::string("waiting for the program failed: ") + std::strerror(err), 1);
        }
    }
    sigprocmask(SIG_BLOCK, &forwarded, nullptr);  // the pid may be reused from now on
    g_child = 0;
    if (WIFSIGNALED(status)) die_like_child(WTERMSIG(status));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

// --- configuration files ------------------------------------------------------------

constexpr size_t kMaxFileSize = 1 << 20;

std::string read_text_file(const std::string& path, const char* what) {
    auto cannot = [&](int err) {
        die(std::string("cannot read ") + what + " '" + printable(path) +
            "': " + std::strerror(err));
    };
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) cannot(errno);
    std::string text;
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            close(fd);
            cannot(err);
        }
        if (n == 0) break;
        text.append(buf, static_cast<size_t>(n));
        if (text.size() > kMaxFileSize) {
            close(fd);
            die(std::string(what) + " '" + printable(path) + "' is larger than 1 MiB");
        }
    }
    close(fd);
    return text;
}

std::string dir_of(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return "";
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::string where(const std::string& path, size_t line) {
    return printable(path) + ":" + std::to_string(line);
}

// Settings from a file fill only what the command line left unset; the file's rules
// follow the command line's.
void merge(Options& into, Options& from) {
    if (into.proxy_source == nullptr && from.proxy_source != nullptr) {
        into.proxy = std::move(from.proxy);
        into.proxy_source = from.proxy_source;
    }
    if (!into.direct_given && from.direct_given) {
        into.direct = std::move(from.direct);
        into.direct_given = true;
        into.direct_none = from.direct_none;
    }
    for (auto field : {&Options::dns, &Options::dns_tcp, &Options::fake_net, &Options::fake_net6,
                       &Options::udp, &Options::timeout, &Options::audit}) {
        if ((into.*field).empty()) into.*field = std::move(from.*field);
    }
    if (into.pipeline < 0) into.pipeline = from.pipeline;
    if (into.default_deny < 0) into.default_deny = from.default_deny;
    // Strict mode is a one-way switch: no file turns off what a job asked for.
    into.strict = into.strict || from.strict;
    // A password in the command line's URL beats a password file from a file.
    ProxyUrl url;
    bool url_password =
        into.proxy_source != nullptr && parse_proxy_url(into.proxy, url) == nullptr && url.has_pass;
    explicit_bzero(url.pass, sizeof url.pass);
    if (!into.password_file && from.password_file && !url_password) {
        into.password = std::move(from.password);
        into.password_file = true;
    }
    if (into.log == nullptr) into.log = from.log;
    for (std::string& r : from.rules) into.rules.push_back(std::move(r));
}

struct FileContext {
    Options* options;
    const std::string* path;
};

bool file_bool(std::string_view key, std::string_view value) {
    bool on = false;
    if (const char* e = parse_bool(value, on)) die_bad_value(std::string(key).c_str(), value, e);
    return on;
}

const char* apply_config_line(void* ctx, size_t line_no, const ConfigLine& line) {
    auto& c = *static_cast<FileContext*>(ctx);
    Options& o = *c.options;
    g_where = where(*c.path, line_no);
    std::string_view v = line.value;
    if (line.kind == ConfigLine::Kind::kRule) {
        apply(o, line.allow ? Opt::kAllow : Opt::kDeny, v);
        return nullptr;
    }
    switch (line.key) {
        case ConfigKey::kProxy: apply(o, Opt::kProxy, v); break;
        case ConfigKey::kDirect: apply(o, Opt::kDirect, v); break;
        case ConfigKey::kDns: apply(o, Opt::kDns, v); break;
        case ConfigKey::kDnsTcp: apply(o, Opt::kDnsTcp, v); break;
        case ConfigKey::kTimeout: apply(o, Opt::kTimeout, v); break;
        case ConfigKey::kUdp: apply(o, Opt::kUdp, v); break;
        case ConfigKey::kFakeNet: apply(o, Opt::kFakeNet, v); break;
        case ConfigKey::kFakeNet6: apply(o, Opt::kFakeNet6, v); break;
        case ConfigKey::kAudit: apply(o, Opt::kAudit, v); break;
        case ConfigKey::kPasswordFile: apply(o, Opt::kPasswordFile, v); break;
        case ConfigKey::kStrict:
            if (file_bool("strict", v)) o.strict = true;
            break;
        case ConfigKey::kPipeline: o.pipeline = file_bool("pipeline", v) ? 1 : 0; break;
        case ConfigKey::kDefaultDeny: o.default_deny = file_bool("default-deny", v) ? 1 : 0; break;
        case ConfigKey::kLog: {
            LogLevel level;
            if (const char* e = parse_log_level(v, level)) die_bad_value("log", v, e);
            o.log = level == LogLevel::kQuiet   ? "quiet"
                    : level == LogLevel::kError ? "error"
                                                : "verbose";
            break;
        }
    }
    return nullptr;
}

Options read_config_file(const std::string& path) {
    std::string text = read_text_file(path, "config file");
    Options f;
    FileContext ctx{&f, &path};
    g_base_dir = dir_of(path);
    size_t line_no = 0;
    ConfigLine failed;
    if (const char* e = parse_config_text(text, apply_config_line, &ctx, line_no, &failed)) {
        g_where = where(path, line_no);
        // A bad rule reads as the option's error would: "bad allow value '…': reason".
        if (failed.kind == ConfigLine::Kind::kRule) {
            die_bad_value(failed.allow ? "allow" : "deny", failed.value, e);
        }
        if (std::string_view(e) == "unknown key") {
            std::string_view rest = text;
            for (size_t i = 1; i < line_no; ++i) rest = rest.substr(rest.find('\n') + 1);
            size_t start = rest.find_first_not_of(" \t");
            rest = start == std::string_view::npos ? std::string_view{} : rest.substr(start);
            die("unknown key '" + printable(rest.substr(0, rest.find_first_of(" \t=\n"))) + "'");
        }
        die(e);
    }
    g_where.clear();
    g_base_dir.clear();
    return f;
}

// --config FILE, else SOCKSIFY_CONFIG, else the first of ~/.config/socksify/config
// ($XDG_CONFIG_HOME when set) and /etc/socksify.conf that exists; "" for none.
std::string find_config(const Options& o) {
    if (!o.config_file.empty()) return o.config_file;
    if (const char* v = std::getenv(kEnvConfig); v != nullptr && v[0] != '\0') return v;
    std::string user;
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && xdg[0] == '/') {
        user = std::string(xdg) + "/socksify/config";
    } else if (const char* home = std::getenv("HOME"); home != nullptr && home[0] != '\0') {
        user = std::string(home) + "/.config/socksify/config";
    }
    for (const std::string& path : {user, std::string("/etc/socksify.conf")}) {
        if (!path.empty() && access(path.c_str(), F_OK) == 0) return path;
    }
    return "";
}

// A proxychains.conf read as the options it stands for: -x from the first socks5
// entry, --dns remote with proxy_dns (else local), --timeout, --direct from localnet.
Options read_proxychains(const std::string& path) {
    std::string text = read_text_file(path, "proxychains.conf");
    static ProxychainsConf pc;  // large: not on the stack
    size_t line_no = 0;
    const char* e = parse_proxychains(text, pc, line_no);
    explicit_bzero(text.data(), text.size());
    if (e != nullptr) {
        g_where = where(path, line_no);
        die(e);
    }
    if (!pc.has_proxy) {
        die("no socks5 or socks4 proxy in the [ProxyList] of '" + printable(path) + "'");
    }
    auto warn = [&](size_t line, const char* what) {
        std::string msg = "socksify: warning: " + where(path, line) + ": " + what + "\n";
        ssize_t ignored = write(STDERR_FILENO, msg.data(), msg.size());
        (void)ignored;
    };
    if (pc.socks4) {
        warn(pc.proxy_line,
             "socks4 entry spoken to as SOCKS5 (socksify speaks SOCKS5 only; Tor, Dante and "
             "ssh -D answer both on one port)");
    }
    if (pc.ignored_proxies > 0) {
        warn(pc.first_ignored_line, "only the first proxy of [ProxyList] is used (no chains)");
    }
    Options p;
    g_where = where(path, pc.proxy_line);
    std::string host = pc.host;
    std::string url = pc.proxy_dns ? "socks5h://" : "socks5://";
    if (pc.has_user) url += percent_encode(pc.user) + ":" + percent_encode(pc.pass) + "@";
    url += host.find(':') != std::string::npos ? "[" + host + "]" : host;
    url += ":" + std::to_string(pc.port);
    apply(p, Opt::kProxy, url);
    explicit_bzero(url.data(), url.size());
    explicit_bzero(pc.pass, sizeof pc.pass);
    p.dns = pc.proxy_dns ? "remote" : "local";
    if (pc.timeout_ms > 0) {
        g_where = where(path, pc.timeout_line);
        char t[32];
        std::snprintf(t, sizeof t, "%d.%03d", pc.timeout_ms / 1000, pc.timeout_ms % 1000);
        apply(p, Opt::kTimeout, t);
    }
    if (pc.localnet_count > 0) {
        std::string list;
        for (size_t i = 0; i < pc.localnet_count; ++i) {
            const Cidr& c = pc.localnet[i];
            char addr[INET6_ADDRSTRLEN];
            inet_ntop(c.family, c.addr.data(), addr, sizeof addr);
            if (!list.empty()) list += ',';
            list += std::string(addr) + "/" + std::to_string(c.prefix);
        }
        g_where = printable(path);
        apply(p, Opt::kDirect, list);
    }
    g_where.clear();
    return p;
}

// A proxy URL with its host resolved here and its credentials percent-encoded.
std::string numeric_url(const std::string& text, const char* what) {
    ProxyUrl url;
    if (const char* e = parse_proxy_url(text, url)) die_bad_value(what, redacted(text), e);
    std::string host = url.host;
    if (!is_numeric_host(url.host)) host = resolve_proxy_host(url.host);
    std::string out = std::string(proxy_scheme(url.kind, url.remote_dns)) + "://";
    if (url.has_user) {
        out += percent_encode(url.user);
        if (url.has_pass) out += ":" + percent_encode(url.pass);
        out += "@";
    }
    explicit_bzero(url.pass, sizeof url.pass);
    out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return out + ":" + std::to_string(url.port);
}

// SOCKSIFY_CHAIN: every hop with its host resolved here (as the single proxy's is)
// and its own credentials; the first hop is also SOCKSIFY_PROXY.
void set_chain_env(const Options& o) {
    if (o.chain.size() < 2) {
        env_unset(kEnvChain);
    } else {
        if (o.chain.size() > kMaxHops) die("a chain has at most 8 hops");
        std::string list;
        for (const std::string& text : o.chain) {
            if (!list.empty()) list += ',';
            list += numeric_url(text, "--chain");
        }
        env_set(kEnvChain, list);
    }
    if (!o.chain_mode.empty()) env_set(kEnvChainMode, o.chain_mode);
    if (!o.chain_len.empty()) env_set(kEnvChainLen, o.chain_len);
    if (o.routes.size() > kMaxRoutes) die("at most 16 --route rules to an upstream");
    std::string routes;
    for (const std::string& r : o.routes) {
        size_t eq = r.find('=');
        if (!routes.empty()) routes += ' ';
        routes += r.substr(0, eq + 1) + numeric_url(r.substr(eq + 1), "--route");
    }
    if (routes.empty())
        env_unset(kEnvRoutes);
    else
        env_set(kEnvRoutes, routes);
}

int launcher_main(int argc, char** argv) {
    Options o = parse_args(argc, argv);
    // Command line, then proxychains.conf, then the config file: the first to set a
    // value wins; the environment only supplies what none of them set.
    if (!o.proxychains.empty()) {
        Options p = read_proxychains(o.proxychains);
        // Its proxy_dns speaks for its own proxy: -x's scheme decides for -x's.
        if (o.proxy_source != nullptr) p.dns.clear();
        merge(o, p);
    }
    if (std::string path = find_config(o); !path.empty()) {
        Options f = read_config_file(path);
        merge(o, f);
    }
    pick_proxy(o);

    ProxyUrl url;
    if (const char* e = parse_proxy_url(o.proxy, url)) {
        die_bad_value(o.proxy_source, redacted(o.proxy), e);
    }

    // Command line beats environment: file, then the -x URL, then SOCKSIFY_PASSWORD,
    // then a password inside an environment URL.
    std::string password;
    if (o.password_file) {
        password = std::move(o.password);
    } else if (url.has_pass && o.proxy_source == std::string_view("--proxy")) {
        password = url.pass;
    } else if (const char* p = std::getenv(kEnvPassword); p != nullptr && p[0] != '\0') {
        password = p;
    } else if (url.has_pass) {
        password = url.pass;
    }
    explicit_bzero(url.pass, sizeof url.pass);
    bool socks4 = url.kind == ProxyKind::kSocks4 || url.kind == ProxyKind::kSocks4a;
    if (url.has_user && !(socks4 && password.empty())) {  // SOCKS4's USERID needs none
        if (password.empty()) {
            die("no password for proxy user in '" + printable(redacted(o.proxy)) +
                "' (use --password-file or SOCKSIFY_PASSWORD)");
        }
        if (password.size() > kMaxCred) die("SOCKSIFY_PASSWORD is longer than 255 bytes");
    } else if (o.password_file) {
        die("--password-file given but the proxy URL has no user name");
    }

    std::string direct;
    if (o.direct_given) {
        direct = o.direct_none ? "" : kLoopback;
        for (const std::string& d : o.direct) {
            if (!direct.empty()) direct += ',';
            direct += d;
        }
        if (parse_direct_list(direct, g_scratch) != nullptr) {
            die("too many --direct entries (at most 64 networks, loopback included, and 32 "
                "domain suffixes)");
        }
    }

    std::string lib = find_library();
    check_library(lib, o.strict);
    std::string preload = build_preload(lib);

    std::string host = url.host;
    if (!is_numeric_host(url.host)) host = resolve_proxy_host(url.host);
    std::string proxy_env = std::string(proxy_scheme(url.kind, url.remote_dns)) + "://";
    if (url.has_user) proxy_env += percent_encode(url.user) + "@";
    proxy_env += host.find(':') != std::string::npos ? "[" + host + "]" : host;
    proxy_env += ":" + std::to_string(url.port);

    for (char** e = environ; *e != nullptr; ++e) g_env.emplace_back(*e);
    env_set(kEnvProxy, proxy_env);
    // The password reaches the library through the shared state alone (never the
    // environment every descendant could read and pass on).
    env_unset(kEnvPassword);
    if (url.has_user) g_password = std::move(password);  // else dropped, as before
    explicit_bzero(password.data(), password.size());
    if (o.direct_given) env_set(kEnvDirect, direct);
    if (!o.timeout.empty()) env_set(kEnvTimeout, o.timeout);
    if (o.pipeline >= 0) env_set(kEnvPipeline, o.pipeline ? "1" : "0");
    if (o.strict) env_set(kEnvStrict, "1");
    if (o.strict) env_set(kEnvSupervised, "1");
    if (!o.dns.empty()) env_set(kEnvDns, o.dns);
    if (!o.dns_tcp.empty()) env_set(kEnvDnsTcp, o.dns_tcp);
    if (!o.fake_net.empty()) env_set(kEnvFakeNet, o.fake_net);
    if (!o.fake_net6.empty()) env_set(kEnvFakeNet6, o.fake_net6);
    if (!o.udp.empty()) env_set(kEnvUdp, o.udp);
    if (!o.rules.empty()) {
        if (o.rules.size() > kMaxRules) {
            die("too many --allow/--deny rules (at most 64, config file included)");
        }
        std::string policy;
        for (const std::string& r : o.rules) policy += (policy.empty() ? "" : ",") + r;
        env_set(kEnvPolicy, policy);
    }
    if (o.default_deny >= 0) env_set(kEnvDefaultDeny, o.default_deny ? "1" : "0");
    // An inherited SOCKSIFY_AUDIT is checked like --audit, and made absolute too.
    if (const char* inherited = std::getenv(kEnvAudit);
        o.audit.empty() && inherited != nullptr && inherited[0] != '\0') {
        o.audit = absolute_path(inherited);
    }
    if (!o.audit.empty()) {
        int fd = open(o.audit.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0) {
            die("cannot open audit log '" + printable(o.audit) + "': " + std::strerror(errno));
        }
        close(fd);
        if (o.strict) {
            g_private_audit = o.audit;
            env_unset(kEnvAudit);
        } else {
            env_set(kEnvAudit, o.audit);
        }
    }
    if (o.log != nullptr) env_set(kEnvLog, o.log);
    set_chain_env(o);
    env_set("LD_PRELOAD", preload);

    // The library will parse exactly this environment: refuse here what it would refuse.
    static Config cfg;
    load_config(
        cfg,
        [](const char* name) -> const char* {
            if (std::strcmp(name, kEnvPassword) == 0)
                return g_password.empty() ? nullptr : g_password.c_str();
            return env_lookup(name);
        },
        refuse_resolve);
    explicit_bzero(g_password.data(), g_password.size());
    if (!cfg.valid) die(cfg.error);
    if (o.check && cfg.proxy_kind != ProxyKind::kSocks5)
        die(std::string("--check speaks SOCKS5 only; this proxy is ") +
            proxy_scheme(cfg.proxy_kind, cfg.remote_dns));
    if (o.check) return run_check(cfg, o.check_target);

    bool supervised = false;
    std::vector<char*> stage =
        supervised_argv(argv + o.program, o.supervise, cfg.strict, supervised);
    // Refusals first: a run that never starts makes no state. Under --strict the
    // supervised run still refuses setuid and capability programs (no_new_privs would
    // strip what they need).
    if (!supervised || cfg.strict) check_program(argv[o.program], cfg.strict, supervised);
    remove_stale_shm();
    std::string shm = create_state_for(cfg);
    env_set(kEnvShm, shm);
    start_pipeline_learning(cfg, shm);
    explicit_bzero(cfg.pass, sizeof cfg.pass);
    if (cfg.strict) hide_from_job(argv, o.program);
    int status = run(supervised ? stage.data() : argv + o.program);
    finish_pipeline_learning();
    return status;
}

}  // namespace
}  // namespace socksify::launcher

int main(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], socksify::launcher::kStageFlag) == 0)
        socksify::launcher::stage_main(argc, argv);
    return socksify::launcher::launcher_main(argc, argv);
}
