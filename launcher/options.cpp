// Options → settings, through the settings table (shim/settings/settings_table.hpp).
#include "launcher/options.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "launcher/fail.hpp"
#include "launcher/summary.hpp"
#include "launcher/version.hpp"
#include "shim/settings/config_file.hpp"

namespace socksify::launcher {
using shim::Form;
using shim::Merge;
using shim::Setting;
using shim::setting;
using shim::SettingRow;

namespace {

// The directory relative paths in the file being applied are taken from ("" = cwd).
std::string g_base_dir;
shim::Config g_scratch;  // for validating values; large, so not on the stack

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
    char buf[shim::kMaxCred + 2];  // one more byte than allowed tells "too long" from "fits"
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
    if (line.size() > shim::kMaxCred) die_bad_value(what, path, "password longer than 255 bytes");
    if (line.empty()) die_bad_value(what, path, "empty password");
    if (line.find('\0') != std::string_view::npos)
        die_bad_value(what, path, "NUL byte in password");
    std::string password(line);
    explicit_bzero(buf, sizeof buf);
    return password;
}

// URLs may carry passwords: they are shown redacted.
bool holds_urls(Setting id) {
    return id == Setting::kProxy || id == Setting::kChain || id == Setting::kRoute;
}

std::string name_of(const SettingRow& row) {
    return row.option != nullptr ? std::string("--") + row.option : std::string(row.file_key);
}

}  // namespace

void apply(Options& o, const SettingRow& row, std::string_view value) {
    std::string what = name_of(row);
    if (row.id == Setting::kDirect && value.empty()) {
        o.given[Options::idx(Setting::kDirect)] = true;
        o.direct_none = true;
        return;
    }
    if (shim::StoreFn check = shim::user_check(row)) {
        if (const char* e = check(value, g_scratch))
            die_bad_value(what.c_str(), holds_urls(row.id) ? redacted(value) : std::string(value),
                          e);
    }
    Setting target = row.target == Setting::kCount ? row.id : row.target;
    size_t i = Options::idx(target);
    switch (row.id) {
        case Setting::kProxy:
            // A second -x makes a chain: each hop reached through the one before.
            if (o.proxy_source != nullptr && o.proxy_source == std::string_view("--proxy")) {
                std::vector<std::string>& hops = o.list(Setting::kChain);
                if (hops.empty()) hops.push_back(o.value[i]);
                hops.emplace_back(value);
                o.given[Options::idx(Setting::kChain)] = true;
                return;
            }
            o.proxy_source = "--proxy";
            break;
        case Setting::kChain:
            o.proxy_source = nullptr;
            o.list(Setting::kChain).clear();
            for (size_t at = 0;;) {
                size_t comma = value.find(',');
                apply(o, setting(Setting::kProxy), value.substr(at, comma - at));
                if (comma == std::string_view::npos) break;
                value.remove_prefix(comma + 1);
            }
            if (o.list(Setting::kChain).empty()) o.given[i] = false;  // one hop: the proxy
            return;
        case Setting::kRoute:
            // A direct route joins the direct list.
            if (value.substr(value.find('=') + 1) == "direct") {
                o.given[Options::idx(Setting::kDirect)] = true;
                o.list(Setting::kDirect).emplace_back(value.substr(0, value.find('=')));
                return;
            }
            break;
        case Setting::kAllow:
        case Setting::kDeny:
            o.list(Setting::kAllow)
                .push_back((row.id == Setting::kAllow ? "allow:" : "deny:") + std::string(value));
            o.given[Options::idx(Setting::kAllow)] = true;
            return;
        case Setting::kSupervise:
            if (const char* e = parse_supervise_mode(value, o.supervise))
                die_bad_value(what.c_str(), value, e);
            break;
        case Setting::kPasswordFile:
            o.password = read_password_file(path_in_context(value));
            o.given[i] = true;
            return;
        case Setting::kAudit:
            if (value.empty()) die_bad_value(what.c_str(), value, "empty path");
            o.value[i] = absolute_path(path_in_context(value));
            o.given[i] = true;
            return;
        case Setting::kAuditSummary: std::exit(audit_summary(std::string(value)));
        case Setting::kHelp: std::fputs(help_text().c_str(), stdout); std::exit(0);
        case Setting::kVersion: print_version(); std::exit(0);
        default: break;
    }
    // An on|off value is handed on as on or off, whichever spelling was given.
    bool on = false;
    if (row.metavar != nullptr && row.metavar == std::string_view("on|off") &&
        shim::parse_bool(value, on) == nullptr)
        value = on ? "on" : "off";
    if (row.form == Form::kList) {
        o.items[i].emplace_back(value);
    } else {
        o.value[i] = value;
    }
    o.given[i] = true;
}

Options parse_args(int argc, char** argv) {
    Options o;
    int i = 1;
    auto takes_value = [](const SettingRow& r) { return r.metavar != nullptr; };
    auto flag_or = [](const SettingRow& r, std::string_view v) {
        return r.form == Form::kFlag ? std::string_view(r.flag_value) : v;
    };
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
            const SettingRow* row = shim::find_option(name);
            // Only the name is echoed: a mistyped --proxy=... may carry a password.
            if (row == nullptr) die("unknown option '--" + printable(name) + "' (see --help)");
            std::string_view value;
            if (takes_value(*row)) {
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
            apply(o, *row, flag_or(*row, value));
            continue;
        }
        for (size_t j = 1; j < a.size(); ++j) {
            const SettingRow* row = shim::find_short_option(a[j]);
            if (row == nullptr)
                die("unknown option '-" + printable(a.substr(j, 1)) + "' (see --help)");
            if (!takes_value(*row)) {
                apply(o, *row, flag_or(*row, {}));
                continue;
            }
            if (j + 1 < a.size()) {
                apply(o, *row, a.substr(j + 1));
            } else if (i + 1 < argc) {
                apply(o, *row, argv[++i]);
            } else {
                die(std::string("option '-") + a[j] + "' needs a value");
            }
            break;
        }
    }
    if (o.has(Setting::kCheck)) {
        // socksify --check [URL] [HOST:PORT]
        for (; i < argc; ++i) {
            std::string_view a = argv[i];
            if (a.find("://") != std::string_view::npos && o.check_target == nullptr) {
                apply(o, setting(Setting::kProxy), a);
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

void merge(Options& into, Options& from) {
    bool had_proxy = into.has(Setting::kProxy);
    for (const SettingRow& row : shim::settings_table()) {
        size_t i = Options::idx(row.id);
        if (!from.given[i] || row.target != Setting::kCount) continue;
        switch (row.merge) {
            case Merge::kFirstWins:
                if (into.given[i]) continue;
                // A proxy from the command line is not made a chain by a file's hops.
                if (row.id == Setting::kChain && had_proxy) continue;
                into.value[i] = std::move(from.value[i]);
                into.items[i] = std::move(from.items[i]);
                into.given[i] = true;
                if (row.id == Setting::kProxy) {
                    into.proxy_source = from.proxy_source;
                    into.hops = std::move(from.hops);
                }
                // A password in the URL of the proxy already chosen beats this one.
                if (row.id == Setting::kPasswordFile) into.password_file_yields = had_proxy;
                if (row.id == Setting::kDirect) into.direct_none = from.direct_none;
                if (row.id == Setting::kPasswordFile) into.password = std::move(from.password);
                if (row.id == Setting::kSupervise) into.supervise = from.supervise;
                break;
            case Merge::kAppend:
                for (std::string& item : from.items[i]) into.items[i].push_back(std::move(item));
                into.given[i] = true;
                break;
            case Merge::kAnyOn:
                // A one-way switch: no file turns off what a job asked for.
                if (from.value[i] == "1") into.value[i] = "1";
                into.given[i] = into.given[i] || from.given[i];
                break;
        }
    }
}

namespace {

struct FileContext {
    Options* options;
    const std::string* path;
};

std::string where(const std::string& path, size_t line) {
    return printable(path) + ":" + std::to_string(line);
}

const char* apply_config_line(void* ctx, size_t line_no, const shim::ConfigLine& line) {
    auto& c = *static_cast<FileContext*>(ctx);
    g_where = where(*c.path, line_no);
    if (line.kind == shim::ConfigLine::Kind::kRule) {
        apply(*c.options, setting(line.allow ? Setting::kAllow : Setting::kDeny), line.value);
        return nullptr;
    }
    const SettingRow& row = setting(line.key);
    if (row.form != Form::kFlag) {
        apply(*c.options, row, line.value);
        return nullptr;
    }
    // A flag in a file takes yes or no; "no" keeps a one-way switch off.
    bool on = false;
    if (const char* e = shim::parse_bool(line.value, on))
        die_bad_value(row.file_key, line.value, e);
    if (on || row.merge != Merge::kAnyOn) {
        c.options->value[Options::idx(row.id)] = on ? "1" : "0";
        c.options->given[Options::idx(row.id)] = true;
    }
    return nullptr;
}

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

}  // namespace

Options read_config_file(const std::string& path) {
    std::string text = read_text_file(path, "config file");
    Options f;
    FileContext ctx{&f, &path};
    g_base_dir = dir_of(path);
    size_t line_no = 0;
    shim::ConfigLine failed;
    if (const char* e = shim::parse_config_text(text, apply_config_line, &ctx, line_no, &failed)) {
        g_where = where(path, line_no);
        // A bad rule reads as the option's error would: "bad allow value '…': reason".
        if (failed.kind == shim::ConfigLine::Kind::kRule) {
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

std::string find_config(const Options& o) {
    if (o.has(Setting::kConfig)) return o[Setting::kConfig];
    if (const char* v = std::getenv(shim::kEnvConfig); v != nullptr && v[0] != '\0') return v;
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

Options read_proxychains(const std::string& path) {
    std::string text = read_text_file(path, "proxychains.conf");
    static shim::ProxychainsConf pc;  // large: not on the stack
    size_t line_no = 0;
    const char* e = shim::parse_proxychains(text, pc, line_no);
    explicit_bzero(text.data(), text.size());
    if (e != nullptr) {
        g_where = where(path, line_no);
        die(e);
    }
    if (pc.proxy_count == 0) die("no proxy in the [ProxyList] of '" + printable(path) + "'");
    for (size_t i = 0; i < pc.warning_count; ++i)
        warn(where(path, pc.warnings[i].line) + ": " + pc.warnings[i].what);
    Options p;
    // Every entry a hop, kept as parsed (--proxy, or a chain when more than one).
    for (size_t i = 0; i < pc.proxy_count; ++i) {
        shim::ProxyUrl& u = pc.proxies[i].url;
        u.remote_dns = u.kind == shim::ProxyKind::kSocks5 ? pc.proxy_dns : u.remote_dns;
        p.hops.push_back(u);
        explicit_bzero(u.pass, sizeof u.pass);
    }
    p.proxy_source = "--proxy";
    p.given[Options::idx(Setting::kProxy)] = true;
    p.given[Options::idx(Setting::kChain)] = pc.proxy_count > 1;
    g_where = printable(path);
    if (pc.proxy_count > 1) {
        apply(p, setting(Setting::kChainMode), shim::chain_mode_name(pc.chain_mode));
        if (pc.chain_len > 0) apply(p, setting(Setting::kChainLen), std::to_string(pc.chain_len));
    }
    apply(p, setting(Setting::kDns), pc.proxy_dns ? "remote" : "local");
    if (pc.timeout_ms > 0) {
        g_where = where(path, pc.timeout_line);
        char t[32];
        std::snprintf(t, sizeof t, "%d.%03d", pc.timeout_ms / 1000, pc.timeout_ms % 1000);
        apply(p, setting(Setting::kTimeout), t);
    }
    if (pc.localnet_count > 0) {
        std::string list;
        for (size_t i = 0; i < pc.localnet_count; ++i) {
            const shim::Cidr& c = pc.localnet[i];
            char addr[INET6_ADDRSTRLEN];
            inet_ntop(c.family, c.addr.data(), addr, sizeof addr);
            if (!list.empty()) list += ',';
            list += std::string(addr) + "/" + std::to_string(c.prefix);
        }
        g_where = printable(path);
        apply(p, setting(Setting::kDirect), list);
    }
    g_where.clear();
    return p;
}

namespace {

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

shim::ProxyUrl parsed_url(std::string_view text, const char* what) {
    shim::ProxyUrl url;
    if (const char* e = shim::parse_proxy_url(text, url)) die_bad_value(what, redacted(text), e);
    return url;
}

// The one place the launcher parses the proxy's URLs: every hop and every route's
// upstream, into o (the hops of a proxychains.conf came parsed).
void parse_proxies(Options& o) {
    if (o.hops.empty()) {
        const std::vector<std::string>& chain = o.list(Setting::kChain);
        if (chain.empty()) o.hops.push_back(parsed_url(o[Setting::kProxy], o.proxy_source));
        for (const std::string& hop : chain) o.hops.push_back(parsed_url(hop, "--chain"));
    }
    if (o.hops.size() > shim::kMaxHops) die("a chain has at most 8 hops");
    const std::vector<std::string>& routes = o.list(Setting::kRoute);
    if (routes.size() > shim::kMaxRoutes) die("at most 16 --route rules to an upstream");
    o.route_upstreams.clear();
    for (const std::string& r : routes)
        o.route_upstreams.push_back(parsed_url(r.substr(r.find('=') + 1), "--route"));
}

}  // namespace

void pick_proxy(Options& o) {
    auto take = [&o](const char* name, bool socks_only) {
        const char* v = std::getenv(name);
        if (v == nullptr || v[0] == '\0' || (socks_only && !is_socks_url(v))) return false;
        o.value[Options::idx(Setting::kProxy)] = v;
        o.given[Options::idx(Setting::kProxy)] = true;
        o.proxy_source = name;
        return true;
    };
    if (o.proxy_source == nullptr && !take(shim::kEnvProxy, false) && !take("all_proxy", true) &&
        !take("ALL_PROXY", true)) {
        die("no proxy given (use -x socks5h://host:port)");
    }
    parse_proxies(o);
}

std::string pick_password(Options& o) {
    const shim::ProxyUrl& url = o.hops.front();
    bool file = o.has(Setting::kPasswordFile) && !(o.password_file_yields && url.has_pass);
    std::string password;
    if (file) {
        password = std::move(o.password);
    } else if (url.has_pass && o.proxy_source == std::string_view("--proxy")) {
        password = url.pass;
    } else if (const char* p = std::getenv(shim::kEnvPassword); p != nullptr && p[0] != '\0') {
        password = p;
    } else if (url.has_pass) {
        password = url.pass;
    }
    using shim::ProxyKind;
    bool socks4 = url.kind == ProxyKind::kSocks4 || url.kind == ProxyKind::kSocks4a;
    if (url.has_user && !(socks4 && password.empty())) {  // SOCKS4's USERID needs none
        if (password.empty()) {
            // Named as given: the URL, or the proxychains.conf entries arrived parsed from.
            std::string where =
                !o[Setting::kProxy].empty()
                    ? "'" + printable(redacted(o[Setting::kProxy])) + "'"
                    : "the [ProxyList] of '" + printable(o[Setting::kProxychainsConf]) + "'";
            die("no password for proxy user in " + where +
                " (use --password-file or SOCKSIFY_PASSWORD)");
        }
        if (password.size() > shim::kMaxCred) die("SOCKSIFY_PASSWORD is longer than 255 bytes");
    } else if (file) {
        die("--password-file given but the proxy URL has no user name");
    }
    return url.has_user ? password : std::string();
}

std::string help_text() {
    std::string out =
        "usage: socksify [options] [--] program [args...]\n"
        "Runs program with its TCP connections, UDP datagrams and host name lookups going\n"
        "through a SOCKS5 proxy (libsocksify.so is preloaded).\n"
        "\n";
    constexpr size_t kColumn = 28;
    for (const SettingRow& row : shim::settings_table()) {
        if (row.option == nullptr || row.help == nullptr) continue;
        std::string left = row.short_name != 0 ? std::string("  -") + row.short_name + ", "
                                               : std::string("      ");
        left += std::string("--") + row.option;
        if (row.metavar != nullptr) left += std::string(" ") + row.metavar;
        left += left.size() + 2 <= kColumn ? std::string(kColumn - left.size(), ' ') : "  ";
        std::string_view help = row.help;
        for (bool first = true; !help.empty(); first = false) {
            size_t nl = help.find('\n');
            out += (first ? left : std::string(kColumn, ' '));
            out += help.substr(0, nl);
            out += '\n';
            help = nl == std::string_view::npos ? std::string_view{} : help.substr(nl + 1);
        }
    }
    out +=
        "\n"
        "Exit status: the program's; 2 when an option is bad, 126/127 when the program\n"
        "cannot be run or is not found. See socksify(1).\n";
    return out;
}

}  // namespace socksify::launcher
