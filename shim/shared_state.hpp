// State shared by every process one launcher started: a header and the fake-DNS
// table in a shared-memory file the launcher creates and names in SOCKSIFY_SHM.
// A library preloaded without the launcher creates the file itself.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "shim/fake_dns.hpp"

namespace socksify::shim {

inline constexpr uint32_t kSharedMagic = 0x534f4b53;  // "SOKS"
inline constexpr uint32_t kSharedVersion = 2;
inline constexpr size_t kSharedTableOffset = 4096;
inline constexpr size_t kSharedSize = kSharedTableOffset + sizeof(FakeDnsTable);

struct SharedHeader {
    std::atomic<uint32_t> magic;
    std::atomic<uint32_t> version;
    // proto::PipelineVerdict for the run's proxy, written by the launcher's probe
    // (from its cache or a probe of its own); only kSafe lets a connection pipeline.
    std::atomic<uint32_t> pipeline;
    uint32_t reserved;
};
static_assert(sizeof(SharedHeader) == 16);
static_assert(offsetof(SharedHeader, pipeline) == 8);
static_assert(sizeof(SharedHeader) <= kSharedTableOffset);
static_assert(std::atomic<uint32_t>::is_always_lock_free);

// Maps the file at path (creating one when path is null or empty, and then
// exporting its name for children); falls back to anonymous shared memory, which
// still spans fork(). table_capacity is stamped by the first process.
void attach_shared_state(const char* path, uint32_t table_capacity);
SharedHeader& shared_state();
FakeDnsTable* fake_dns_table();  // null only if no memory could be mapped

}  // namespace socksify::shim
