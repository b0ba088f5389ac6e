#include "launcher/environment.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "launcher/fail.hpp"
#include "shim/proxy/proxy_host.hpp"

namespace socksify::launcher {
using shim::Setting;

namespace {

std::vector<std::string> g_env;
std::string g_private_audit;  // --strict: the audit log's path, kept from the program

bool names(const std::string& entry, const char* name, size_t len) {
    return entry.size() > len && entry[len] == '=' && entry.compare(0, len, name) == 0;
}

constexpr const char* kLoopback = "127.0.0.0/8,::1/128";

std::string join(const std::vector<std::string>& items, const char* sep) {
    std::string out;
    for (const std::string& s : items) out += (out.empty() ? "" : sep) + s;
    return out;
}

bool is_sanitizer_runtime(std::string_view path) {
    size_t slash = path.rfind('/');
    std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
    for (std::string_view p : {"libasan.so", "libtsan.so", "libubsan.so", "libclang_rt."}) {
        if (base.substr(0, p.size()) == p) return true;
    }
    return false;
}

}  // namespace

void env_reset(char** from) {
    g_env.clear();
    for (char** e = from; e != nullptr && *e != nullptr; ++e) g_env.emplace_back(*e);
}

const char* env_lookup(const char* name) {
    size_t len = std::strlen(name);
    for (const std::string& e : g_env)
        if (names(e, name, len)) return e.c_str() + len + 1;
    return nullptr;
}

void env_set(const char* name, const std::string& value) {
    std::string entry = std::string(name) + "=" + value;
    size_t len = std::strlen(name);
    for (std::string& e : g_env) {
        if (names(e, name, len)) {
            e = std::move(entry);
            return;
        }
    }
    g_env.push_back(std::move(entry));
}

void env_unset(const char* name) {
    size_t len = std::strlen(name);
    std::erase_if(g_env, [&](const std::string& e) { return names(e, name, len); });
}

const char* audit_path() {
    return !g_private_audit.empty() ? g_private_audit.c_str() : env_lookup(shim::kEnvAudit);
}

const char* supervisor_lookup(const char* name) {
    if (std::strcmp(name, shim::kEnvSupervised) == 0) return nullptr;
    if (std::strcmp(name, shim::kEnvAudit) == 0) return audit_path();
    return env_lookup(name);
}

std::vector<char*> env_block() {
    std::vector<char*> envp;
    envp.reserve(g_env.size() + 1);
    for (std::string& e : g_env) envp.push_back(e.data());
    envp.push_back(nullptr);
    return envp;
}

std::string export_url(const shim::ProxyUrl& parsed, bool with_password) {
    shim::ProxyUrl url = parsed;
    unsigned char probe[sizeof(in6_addr)];
    if (inet_pton(AF_INET, url.host, probe) != 1 && inet_pton(AF_INET6, url.host, probe) != 1) {
        sockaddr_storage ss;
        socklen_t len = 0;
        if (const char* e = shim::resolve_proxy_host(url.host, url.port, ss, len))
            die("cannot resolve proxy host '" + printable(url.host) + "': " + e);
        const void* addr =
            ss.ss_family == AF_INET6
                ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr)
                : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&ss)->sin_addr);
        inet_ntop(ss.ss_family, addr, url.host, sizeof url.host);
    }
    // Room for the longest URL: 255-byte credentials, each byte percent-encoded.
    char out[2048];
    bool fits = shim::format_proxy_url(url, with_password, out, sizeof out);
    explicit_bzero(url.pass, sizeof url.pass);
    if (!fits) die("proxy URL too long");
    std::string s = out;
    explicit_bzero(out, sizeof out);
    return s;
}

std::string build_preload(const std::string& lib, const char* old) {
    if (lib.find_first_of(" :") != std::string::npos) {
        die("library path '" + printable(lib) +
            "' contains a space or ':' (LD_PRELOAD splits on them)");
    }
    std::vector<std::string_view> sanitizers, others;
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

void export_settings(const Options& o) {
    for (const shim::SettingRow& row : shim::settings_table()) {
        if (row.env == nullptr) continue;
        size_t i = Options::idx(row.id);
        switch (row.id) {
            case Setting::kProxy:
                // Without the password: it reaches the library through the shared state
                // alone (never the environment every descendant could read and pass on).
                env_set(row.env, export_url(o.hops.front(), false));
                break;
            case Setting::kDirect: {
                if (!o.has(Setting::kDirect)) break;
                std::vector<std::string> items = o.list(Setting::kDirect);
                if (!o.direct_none) items.insert(items.begin(), kLoopback);
                env_set(row.env, join(items, ","));
                break;
            }
            case Setting::kChain: {
                // Every hop with its host resolved here, with its own credentials.
                if (o.hops.size() < 2) {
                    env_unset(row.env);
                    break;
                }
                std::vector<std::string> urls;
                for (const shim::ProxyUrl& h : o.hops) urls.push_back(export_url(h, true));
                env_set(row.env, join(urls, ","));
                break;
            }
            case Setting::kRoute: {
                const std::vector<std::string>& routes = o.list(Setting::kRoute);
                std::vector<std::string> out;
                for (size_t r = 0; r < routes.size(); ++r) {
                    out.push_back(routes[r].substr(0, routes[r].find('=') + 1) +
                                  export_url(o.route_upstreams[r], true));
                }
                if (out.empty())
                    env_unset(row.env);
                else
                    env_set(row.env, join(out, " "));
                break;
            }
            case Setting::kAllow:
                if (!o.has(Setting::kAllow)) break;
                if (o.list(Setting::kAllow).size() > shim::kMaxRules)
                    die("too many --allow/--deny rules (at most 64, config file included)");
                env_set(row.env, join(o.list(Setting::kAllow), ","));
                break;
            case Setting::kAudit:
                if (!o.has(Setting::kAudit)) break;
                {
                    const std::string& path = o[Setting::kAudit];
                    int fd = open(path.c_str(),
                                  O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
                    if (fd < 0)
                        die("cannot open audit log '" + printable(path) +
                            "': " + std::strerror(errno));
                    close(fd);
                    if (o[Setting::kStrict] == "1") {
                        g_private_audit = path;  // the supervisor writes it, not the job
                        env_unset(row.env);
                    } else {
                        env_set(row.env, path);
                    }
                }
                break;
            default:
                // A one-way switch is handed on only when on: an inherited "1" stays.
                if (!o.given[i]) break;
                if (row.merge == shim::Merge::kAnyOn && o.value[i] != "1") break;
                env_set(row.env, o.value[i]);
                break;
        }
    }
}

}  // namespace socksify::launcher
