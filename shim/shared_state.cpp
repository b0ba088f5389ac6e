// Maps the run's shared state (an inherited memfd, shm_file.hpp) after checking it;
// creates it when this process is the first of a run started without the launcher.
#include "shim/shared_state.hpp"

#include <stdlib.h>
#include <sys/mman.h>

#include <cstring>

#include "shim/dns/names.hpp"
#include "shim/log.hpp"
#include "shim/real.hpp"
#include "shim/shm_file.hpp"

namespace socksify::shim {
namespace {

constinit SharedHeader g_local{};
constinit std::atomic<SharedHeader*> g_shared{nullptr};
constinit std::atomic<bool> g_table_ok{false};
constinit std::atomic<FakeDnsTable*> g_private{nullptr};
// Set by attach (before the configuration, and so the log level, is known) for bind.
constinit bool g_named = false;
constinit const char* g_unusable = nullptr;
constinit char g_pass[kMaxCred + 1] = {};

SharedHeader* map_state(int fd) {
    void* p = mmap(nullptr, kSharedSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    return p == MAP_FAILED ? nullptr : static_cast<SharedHeader*>(p);
}

FakeDnsTable& table_of(SharedHeader* h) {
    return *reinterpret_cast<FakeDnsTable*>(reinterpret_cast<char*>(h) + kSharedTableOffset);
}

// The table's capacity is written by the first process to use it, before any entry is
// claimed; every later one must agree (fake_dns.cpp bounds indexes by the compile-time
// capacity whatever this says).
bool adopt_capacity(SharedHeader* h, uint32_t capacity) {
    std::atomic_ref<uint32_t> cap(table_of(h).capacity);
    uint32_t seen = 0;
    return cap.compare_exchange_strong(seen, capacity) || seen == capacity;
}

}  // namespace

void attach_shared_state(const char* text) {
    if (text == nullptr || *text == '\0') return;
    g_named = true;
    StateRef ref;
    if (!parse_state_ref(text, ref)) {
        g_unusable = "it is not <pid>:<fd>:<dev>:<inode>:<uid>";
        return;
    }
    bool owned = false;
    const char* why = nullptr;
    int fd = open_state(ref, owned, why);
    if (fd < 0) {
        g_unusable = why;
        return;
    }
    SharedHeader* h = map_state(fd);
    if (owned) real::close(fd);
    if (h == nullptr) {
        g_unusable = "it cannot be mapped";
        return;
    }
    if (const char* bad = check_shared_header(h)) {
        munmap(h, kSharedSize);
        g_unusable = bad;
        return;
    }
    uint32_t n = h->pass_len;  // checked ≤ kMaxCred above; read once
    if (n <= kMaxCred) {
        std::memcpy(g_pass, h->pass, n);
        g_pass[n] = '\0';
    }
    g_shared.store(h, std::memory_order_release);
}

void bind_shared_state(const Config& cfg) {
    SharedHeader* h = g_shared.load(std::memory_order_acquire);
    if (g_named && h == nullptr) {
        log_line(LogLevel::kError,
                 "the run's shared state (%s) cannot be used: %s; names needing a fake address "
                 "fail",
                 kEnvShm, g_unusable != nullptr ? g_unusable : "unknown");
        return;
    }
    if (!g_named) {
        // Preloaded without the launcher: this process creates the run's state and
        // names it for the programs it execs (not with a configuration that refuses
        // every connection: no names are faked then, and no fd appears).
        if (!cfg.valid) return;
        StateRef ref;
        int fd = create_state(cfg, cfg.pass, cfg.pass_len, ref);
        h = fd >= 0 ? map_state(fd) : nullptr;
        if (h == nullptr) {
            if (fd >= 0) real::close(fd);
            // Still shared across fork(); programs it execs make their own.
            void* p = mmap(nullptr, kSharedSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                           -1, 0);
            if (p == MAP_FAILED) return;
            h = static_cast<SharedHeader*>(p);
            stamp_shared_state(h, cfg, nullptr, 0);
            log_line(LogLevel::kVerbose, "no shared state for exec'd programs: %s",
                     std::strerror(errno));
        } else {
            char text[96];
            format_state_ref(ref, text, sizeof text);
            setenv(kEnvShm, text, 1);
        }
        g_shared.store(h, std::memory_order_release);
    }
    char why[200];
    if (check_shared_ranges(h, cfg, why, sizeof why) != nullptr) {
        log_line(LogLevel::kError,
                 "the run's fake-DNS table cannot be used: %s; names needing a "
                 "fake address fail",
                 why);
        return;
    }
    if (!adopt_capacity(h, fake_capacity(cfg))) {
        log_line(LogLevel::kError,
                 "the run's fake-DNS table has another capacity than %u; names "
                 "needing a fake address fail",
                 fake_capacity(cfg));
        return;
    }
    g_table_ok.store(true, std::memory_order_release);
}

const char* shared_password() { return g_pass[0] != '\0' ? g_pass : nullptr; }

SharedHeader& shared_state() {
    SharedHeader* h = g_shared.load(std::memory_order_acquire);
    return h != nullptr ? *h : g_local;
}

bool use_private_fake_dns(uint32_t capacity) {
    // Anonymous and private: pages are touched only as names arrive.
    void* p = mmap(nullptr, sizeof(FakeDnsTable), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return false;
    auto* t = static_cast<FakeDnsTable*>(p);
    t->capacity = capacity;
    g_private.store(t, std::memory_order_release);
    return true;
}

FakeDnsTable* fake_dns_table() {
    if (FakeDnsTable* t = g_private.load(std::memory_order_acquire)) return t;
    if (!g_table_ok.load(std::memory_order_acquire)) return nullptr;
    return &table_of(g_shared.load(std::memory_order_acquire));
}

}  // namespace socksify::shim
