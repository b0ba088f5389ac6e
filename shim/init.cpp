// Lazy start: the first hooked call that needs the configuration loads it, from the
// copy of the variables taken when the library was loaded (exec_guard.cpp). Nested
// calls made while loading run inside a ShimScope and pass straight to libc.
// fork(): the child has only the forking thread, so a start-up or UDP association that
// another thread had under way is begun afresh in the child (after_fork_child) instead
// of being waited for forever. Waiting in a prepare handler instead could deadlock:
// glibc runs those under its atfork lock, which a start-up may need (dlopen of an
// NSS module whose constructor calls pthread_atfork).
#include "shim/init.hpp"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <cstdio>

#include "shim/audit.hpp"
#include "shim/dns/names.hpp"
#include "shim/exec_guard.hpp"
#include "shim/guard.hpp"
#include "shim/log.hpp"
#include "shim/proxy/pending.hpp"
#include "shim/proxy/proxy_host.hpp"
#include "shim/proxy/udp_assoc.hpp"
#include "shim/real.hpp"
#include "shim/shared_state.hpp"

namespace socksify::shim {
namespace {

enum : uint8_t { kNotStarted, kStarting, kReady };

constinit std::atomic<uint8_t> g_state{kNotStarted};
constinit Config g_config{};
// The thread running start(): in a child forked by that very thread (a signal handler
// that forks), the start-up is its own and goes on.
constinit std::atomic<pthread_t> g_starter{};
constinit std::atomic<bool> g_fork_handler{false};

// A proxy host name (a library preloaded by hand; the launcher hands it numeric).
const char* resolve_proxy(const char* host, uint16_t port, Config& cfg) {
    if (const char* e = resolve_proxy_host(host, port, cfg.proxy, cfg.proxy_len)) return e;
    format_sockaddr(reinterpret_cast<sockaddr*>(&cfg.proxy), cfg.proxy_text, sizeof cfg.proxy_text);
    return nullptr;
}

// The environment this start reads (the load-time copy, or the supervised program's),
// except that the launcher keeps the proxy password in the run's shared state: it
// answers for SOCKSIFY_PASSWORD when the proxy URL names a user and neither the URL
// nor the environment gives a password.
EnvLookup g_start_env = nullptr;
const char* lookup_env(const char* name) {
    const char* v = g_start_env(name);
    if (strcmp(name, kEnvPassword) != 0 || (v != nullptr && v[0] != '\0')) return v;
    const char* pass = shared_password();
    ProxyUrl url;
    const char* proxy = g_start_env(kEnvProxy);
    if (pass == nullptr || proxy == nullptr || parse_proxy_url(proxy, url) != nullptr ||
        !url.has_user || url.has_pass)
        return v;
    return pass;
}

void start(EnvLookup env) {
    ShimScope scope;
    g_start_env = env;
    attach_shared_state(env(kEnvShm));
    load_config(g_config, &lookup_env, &resolve_proxy);
    if (env == &launch_env && !launch_env_complete()) {
        std::snprintf(g_config.error, sizeof g_config.error,
                      "too many SOCKSIFY_* variables to keep (more than 64, or 64 KiB)");
        memset(g_config.pass, 0, sizeof g_config.pass);
        g_config.valid = false;
    }
    bind_shared_state(g_config);
    audit_open(g_config);
    // A bad configuration is reported by each refusal (one line each), not here.
    g_state.store(kReady, std::memory_order_release);
}

void after_fork_child() {
    capture_after_fork_child();
    if (g_state.load(std::memory_order_relaxed) == kStarting &&
        !pthread_equal(g_starter.load(std::memory_order_relaxed), pthread_self()))
        g_state.store(kNotStarted, std::memory_order_relaxed);
    udp_after_fork_child();
    repin_after_fork();
}

// Once per process image: handlers are inherited by the children of fork.
void register_fork_handler() {
    if (g_fork_handler.exchange(true, std::memory_order_acq_rel)) return;
    pthread_atfork(nullptr, nullptr, &after_fork_child);
}

// At load time, before the program's own constructors and main: the copy of the
// variables, and the fork handler.
__attribute__((constructor)) void on_load() {
    capture_environment();
    register_fork_handler();
}

}  // namespace

void ensure_ready() {
    if (g_state.load(std::memory_order_acquire) == kReady) [[likely]]
        return;
    // A hook that runs before on_load (another library's constructor).
    capture_environment();
    register_fork_handler();
    uint8_t expected = kNotStarted;
    if (g_state.compare_exchange_strong(expected, kStarting, std::memory_order_acq_rel)) {
        g_starter.store(pthread_self(), std::memory_order_relaxed);
        start(&launch_env);
        return;
    }
    // Another thread is loading: wait for it rather than let a connection go direct.
    while (g_state.load(std::memory_order_acquire) != kReady) sched_yield();
}

void start_from(EnvLookup env) {
    disable_pending();  // the supervisor: nobody's readiness hooks run here
    uint8_t expected = kNotStarted;
    if (g_state.compare_exchange_strong(expected, kStarting, std::memory_order_acq_rel)) start(env);
}

const Config& config() { return g_config; }

}  // namespace socksify::shim
