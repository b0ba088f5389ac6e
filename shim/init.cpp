// Lazy start: the first hooked call that needs the configuration loads it. Nested
// calls made while loading run inside a ShimScope and pass straight to libc.
#include "shim/init.hpp"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <cstdio>

#include "shim/audit.hpp"
#include "shim/guard.hpp"
#include "shim/log.hpp"
#include "shim/names.hpp"
#include "shim/real.hpp"
#include "shim/shared_state.hpp"

namespace socksify::shim {
namespace {

enum : uint8_t { kNotStarted, kStarting, kReady };

constinit std::atomic<uint8_t> g_state{kNotStarted};
constinit Config g_config{};

// Resolves a proxy host name once, locally, with the real resolver (hooks later
// answer names from the fake-DNS table, which must not apply to the proxy).
const char* resolve_proxy(const char* host, uint16_t port, Config& cfg) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int rc = real::getaddrinfo(host, nullptr, &hints, &res);
    if (rc != 0) return gai_strerror(rc);
    if (res == nullptr) return "no address";
    memcpy(&cfg.proxy, res->ai_addr, res->ai_addrlen);
    cfg.proxy_len = res->ai_addrlen;
    real::freeaddrinfo(res);
    auto* sa = reinterpret_cast<sockaddr*>(&cfg.proxy);
    if (sa->sa_family == AF_INET)
        reinterpret_cast<sockaddr_in*>(sa)->sin_port = htons(port);
    else
        reinterpret_cast<sockaddr_in6*>(sa)->sin6_port = htons(port);
    format_sockaddr(sa, cfg.proxy_text, sizeof cfg.proxy_text);
    return nullptr;
}

// The environment, except that the launcher keeps the proxy password in the run's
// shared state instead: it answers for SOCKSIFY_PASSWORD when the proxy URL names a
// user and neither the URL nor the environment gives a password.
const char* lookup_env(const char* name) {
    const char* v = getenv(name);
    if (strcmp(name, kEnvPassword) != 0 || (v != nullptr && v[0] != '\0')) return v;
    const char* pass = shared_password();
    ProxyUrl url;
    const char* proxy = getenv(kEnvProxy);
    if (pass == nullptr || proxy == nullptr || parse_proxy_url(proxy, url) != nullptr ||
        !url.has_user || url.has_pass)
        return v;
    return pass;
}

void start() {
    ShimScope scope;
    attach_shared_state(getenv(kEnvShm));
    load_config(g_config, &lookup_env, &resolve_proxy);
    bind_shared_state(g_config);
    audit_open(g_config);
    // A bad configuration is reported by each refusal (one line each), not here.
    g_state.store(kReady, std::memory_order_release);
}

}  // namespace

void ensure_ready() {
    if (g_state.load(std::memory_order_acquire) == kReady) [[likely]]
        return;
    uint8_t expected = kNotStarted;
    if (g_state.compare_exchange_strong(expected, kStarting, std::memory_order_acq_rel)) {
        start();
        return;
    }
    // Another thread is loading: wait for it rather than let a connection go direct.
    while (g_state.load(std::memory_order_acquire) != kReady) sched_yield();
}

const Config& config() { return g_config; }

}  // namespace socksify::shim
