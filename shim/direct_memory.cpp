// A process-local ring of addresses that direct-suffix names resolved to: lock-free,
// the oldest entry overwritten when full.
#include "shim/direct_memory.hpp"

#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <cstring>

#include "shim/settings/route.hpp"

namespace socksify::shim {
namespace {

constexpr size_t kRemembered = 256;
constinit std::atomic<uint32_t> g_remembered_next{0};
constinit std::atomic<uint64_t> g_remembered[kRemembered]{};  // v4 | (1<<32) as "set"

uint64_t remember_key(const sockaddr* a) {
    if (a->sa_family == AF_INET) {
        uint32_t v;
        memcpy(&v, &reinterpret_cast<const sockaddr_in*>(a)->sin_addr, 4);
        return (uint64_t{1} << 32) | v;
    }
    if (a->sa_family == AF_INET6) {
        // IPv6: a 32-bit fold tagged apart from IPv4 keys; a collision only makes a
        // connection direct that the user's own suffix rule already made local.
        const auto* b = reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr.s6_addr;
        uint32_t h = 2166136261u;
        for (int i = 0; i < 16; ++i) h = (h ^ b[i]) * 16777619u;
        return (uint64_t{2} << 32) | h;
    }
    return 0;
}

}  // namespace

void remember_direct(const sockaddr* a) {
    uint64_t key = remember_key(a);
    if (key == 0 || is_remembered_direct(a)) return;
    uint32_t slot = g_remembered_next.fetch_add(1, std::memory_order_relaxed) % kRemembered;
    g_remembered[slot].store(key, std::memory_order_release);
}

bool is_remembered_direct(const sockaddr* a) {
    uint64_t key = remember_key(a);
    if (key == 0 || g_remembered_next.load(std::memory_order_relaxed) == 0) return false;
    for (const auto& slot : g_remembered)
        if (slot.load(std::memory_order_acquire) == key) return true;
    return false;
}

bool goes_direct(const Config& cfg, const sockaddr* a) {
    return cfg.valid && (is_direct(cfg, a) || is_remembered_direct(a));
}

}  // namespace socksify::shim
