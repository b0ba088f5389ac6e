// State shared by every process one launcher started: a small header in a shared
// memory file the launcher creates (SOCKSIFY_SHM). Without it the state is
// process-local. Later issues append the fake-DNS table behind the header.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace socksify::shim {

inline constexpr uint32_t kSharedMagic = 0x534f4b53;  // "SOKS"
inline constexpr uint32_t kSharedVersion = 1;

struct SharedHeader {
    std::atomic<uint32_t> magic;
    std::atomic<uint32_t> version;
    // Set once a proxy was seen to lose pipelined bytes (microsocks 1.0.3,
    // rofl0r/microsocks#105): every process then uses one message per round trip.
    std::atomic<uint32_t> no_pipeline;
    uint32_t reserved;
};
static_assert(sizeof(SharedHeader) == 16);
static_assert(offsetof(SharedHeader, no_pipeline) == 8);
static_assert(std::atomic<uint32_t>::is_always_lock_free);

// Maps path (may be null) once; falls back to process-local memory.
void attach_shared_state(const char* path);
SharedHeader& shared_state();

}  // namespace socksify::shim
