// Maps the shared-state file; without one, anonymous MAP_SHARED memory (fork still
// shares it, exec does not).
#include "shim/shared_state.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "shim/config.hpp"
#include "shim/real.hpp"
#include "shim/shm_file.hpp"

namespace socksify::shim {
namespace {

constinit SharedHeader g_local{};
constinit std::atomic<SharedHeader*> g_shared{nullptr};

void* map_fd(int fd) {
    struct stat st {};
    if (fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(kSharedSize)) return nullptr;
    void* p = mmap(nullptr, kSharedSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    return p == MAP_FAILED ? nullptr : p;
}

// Stamps a fresh mapping (all zero) or checks an existing one.
SharedHeader* adopt(void* p, uint32_t capacity) {
    auto* h = static_cast<SharedHeader*>(p);
    uint32_t zero = 0;
    h->magic.compare_exchange_strong(zero, kSharedMagic);
    zero = 0;
    h->version.compare_exchange_strong(zero, kSharedVersion);
    if (h->magic.load() != kSharedMagic || h->version.load() != kSharedVersion) {
        munmap(p, kSharedSize);
        return nullptr;
    }
    auto* t = reinterpret_cast<FakeDnsTable*>(static_cast<char*>(p) + kSharedTableOffset);
    // capacity is written before any entry is claimed; a zero means "not yet".
    std::atomic_ref<uint32_t> cap(t->capacity);
    uint32_t none = 0;
    cap.compare_exchange_strong(none, capacity);
    return h;
}

}  // namespace

void attach_shared_state(const char* path, uint32_t table_capacity) {
    void* p = nullptr;
    if (path != nullptr && *path != '\0') {
        int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0) {
            p = map_fd(fd);
            real::close(fd);
        }
    } else {
        // Preloaded without the launcher: this process creates the tree's table and
        // names it for the programs it execs.
        char made[64];
        int fd = create_shm_file(made, sizeof made, kSharedSize);
        if (fd >= 0) {
            p = map_fd(fd);
            real::close(fd);
            if (p != nullptr) setenv(kEnvShm, made, 1);
        }
    }
    if (p == nullptr) {
        p = mmap(nullptr, kSharedSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) p = nullptr;
    }
    SharedHeader* h = p != nullptr ? adopt(p, table_capacity) : nullptr;
    g_shared.store(h != nullptr ? h : &g_local, std::memory_order_release);
}

SharedHeader& shared_state() {
    SharedHeader* h = g_shared.load(std::memory_order_acquire);
    return h != nullptr ? *h : g_local;
}

FakeDnsTable* fake_dns_table() {
    SharedHeader* h = g_shared.load(std::memory_order_acquire);
    if (h == nullptr || h == &g_local) return nullptr;
    return reinterpret_cast<FakeDnsTable*>(reinterpret_cast<char*>(h) + kSharedTableOffset);
}

}  // namespace socksify::shim
