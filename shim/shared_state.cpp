// Maps the launcher's shared-memory file; falls back to a process-local header.
#include "shim/shared_state.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim/real.hpp"

namespace socksify::shim {
namespace {

constinit SharedHeader g_local{};
constinit std::atomic<SharedHeader*> g_shared{nullptr};

SharedHeader* map_file(const char* path) {
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return nullptr;
    struct stat st{};
    void* p = MAP_FAILED;
    if (fstat(fd, &st) == 0 && st.st_size >= static_cast<off_t>(sizeof(SharedHeader)))
        p = mmap(nullptr, sizeof(SharedHeader), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    real::close(fd);
    if (p == MAP_FAILED) return nullptr;
    auto* h = static_cast<SharedHeader*>(p);
    // The launcher creates the file zero-filled; the first process stamps it.
    uint32_t zero = 0;
    h->magic.compare_exchange_strong(zero, kSharedMagic);
    zero = 0;
    h->version.compare_exchange_strong(zero, kSharedVersion);
    if (h->magic.load() != kSharedMagic || h->version.load() != kSharedVersion) {
        munmap(p, sizeof(SharedHeader));
        return nullptr;
    }
    return h;
}

}  // namespace

void attach_shared_state(const char* path) {
    SharedHeader* h = (path != nullptr && *path != '\0') ? map_file(path) : nullptr;
    g_shared.store(h != nullptr ? h : &g_local, std::memory_order_release);
}

SharedHeader& shared_state() {
    SharedHeader* h = g_shared.load(std::memory_order_acquire);
    return h != nullptr ? *h : g_local;
}

}  // namespace socksify::shim
