// Maps the run's shared state (an inherited memfd, shm_file.hpp) after checking it;
// creates it when this process is the first of a run started without the launcher.
#include "shim/shared_state.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cstring>

#include "shim/dns/names.hpp"
#include "shim/log.hpp"
#include "shim/real.hpp"
#include "shim/shm_file.hpp"

namespace socksify::shim {
namespace {

constinit SharedHeader g_local{};
constinit std::atomic<SharedHeader*> g_shared{nullptr};
constinit size_t g_mapped = 0;  // bytes mapped at g_shared
constinit FakeDns g_table{};
constinit std::atomic<bool> g_table_ok{false};
// The supervisor's own table under --strict (use_private_fake_dns): no process of the
// job can write it.
FakeDns g_private_table{};
constinit std::atomic<bool> g_private_ok{false};
// Set by attach (before the configuration, and so the log level, is known) for bind.
constinit bool g_named = false;
constinit const char* g_unusable = nullptr;
constinit char g_pass[kMaxCred + 1] = {};

SharedHeader* map_size(int fd, size_t size) {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    return p == MAP_FAILED ? nullptr : static_cast<SharedHeader*>(p);
}

// Maps the whole state: its size follows the capacity its header states, and the file
// must have exactly that size and be sealed against shrinking (a shorter file would
// fault in a process that reads past its end).
SharedHeader* map_state(int fd, const char*& why) {
    void* first = mmap(nullptr, kSharedTableOffset, PROT_READ, MAP_SHARED, fd, 0);
    if (first == MAP_FAILED) {
        why = "it cannot be mapped";
        return nullptr;
    }
    uint32_t capacity = static_cast<const SharedHeader*>(first)->table_capacity;
    munmap(first, kSharedTableOffset);
    struct stat st {};
    int seals = fcntl(fd, F_GET_SEALS);
    if (capacity > kFakeDnsMaxCapacity || fstat(fd, &st) != 0 ||
        st.st_size != static_cast<off_t>(shared_size(capacity)) || seals < 0 ||
        (seals & F_SEAL_SHRINK) == 0) {
        why = "its size does not match its table or it is not sealed";
        return nullptr;
    }
    SharedHeader* h = map_size(fd, shared_size(capacity));
    if (h == nullptr) why = "it cannot be mapped";
    if (h != nullptr) g_mapped = shared_size(capacity);
    return h;
}

void* table_of(SharedHeader* h) { return reinterpret_cast<char*>(h) + kSharedTableOffset; }

// The table's own capacity field is written by the first process to use it; every later
// one must agree (every index is bounded by this process's own capacity anyway).
bool adopt_capacity(SharedHeader* h, uint32_t capacity) {
    std::atomic_ref<uint32_t> cap(static_cast<FakeDnsHeader*>(table_of(h))->capacity);
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
    const char* unmappable = nullptr;
    SharedHeader* h = map_state(fd, unmappable);
    if (owned) real::close(fd);
    if (h == nullptr) {
        g_unusable = unmappable;
        return;
    }
    if (const char* bad = check_shared_header(h)) {
        munmap(h, g_mapped);
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
        const char* unmappable = nullptr;
        h = fd >= 0 ? map_state(fd, unmappable) : nullptr;
        if (h == nullptr) {
            if (fd >= 0) real::close(fd);
            // Still shared across fork(); programs it execs make their own.
            size_t size = shared_size(fake_capacity(cfg));
            void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                           MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (p == MAP_FAILED) return;
            g_mapped = size;
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
    if (h->table_capacity != fake_capacity(cfg) || !adopt_capacity(h, fake_capacity(cfg))) {
        log_line(LogLevel::kError,
                 "the run's fake-DNS table has another capacity than %u; names "
                 "needing a fake address fail",
                 fake_capacity(cfg));
        return;
    }
    g_table = fake_dns_view(table_of(h), fake_capacity(cfg), cfg.fake_min_age_s);
    g_table_ok.store(true, std::memory_order_release);
}

size_t shared_size(uint32_t capacity) {
    return kSharedTableOffset + fake_dns_layout(capacity).size;
}

const char* shared_password() { return g_pass[0] != '\0' ? g_pass : nullptr; }

SharedHeader& shared_state() {
    SharedHeader* h = g_shared.load(std::memory_order_acquire);
    return h != nullptr ? *h : g_local;
}

bool use_private_fake_dns(uint32_t capacity, uint32_t min_age_s) {
    // Anonymous and private: pages are touched only as names arrive.
    size_t size = fake_dns_layout(capacity).size;
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return false;
    static_cast<FakeDnsHeader*>(p)->capacity = capacity;
    g_private_table = fake_dns_view(p, capacity, min_age_s);
    g_private_ok.store(true, std::memory_order_release);
    return true;
}

FakeDns* fake_dns_table() {
    if (g_private_ok.load(std::memory_order_acquire)) return &g_private_table;
    if (!g_table_ok.load(std::memory_order_acquire)) return nullptr;
    return &g_table;
}

}  // namespace socksify::shim
