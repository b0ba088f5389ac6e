// State shared by every process of one run: a header and the fake-DNS table in a
// sealed memfd the launcher creates (or, preloaded without it, the first process) and
// every process inherits as an open fd, named with its identity in SOCKSIFY_SHM
// (shm_file.hpp). No process ever opens it by a path another user could swap.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "shim/dns/fake_dns.hpp"
#include "shim/settings/config.hpp"

namespace socksify::shim {

inline constexpr uint32_t kSharedMagic = 0x534f4b53;  // "SOKS"
inline constexpr uint32_t kSharedVersion = 5;
inline constexpr size_t kSharedTableOffset = 4096;

// The state's size for a table of capacity names (sparse: untouched pages cost nothing).
size_t shared_size(uint32_t capacity);

// A fake range as the creator configured it (family AF_UNSPEC: none).
struct SharedRange {
    uint16_t family;
    uint8_t prefix;
    uint8_t reserved;
    uint8_t addr[16];
};

// Everything but no_pipeline is written once by the creator before any other
// process can see the memory, and only read afterwards.
struct SharedHeader {
    std::atomic<uint32_t> magic;
    std::atomic<uint32_t> version;
    // proto::PipelineVerdict for the run's proxy, written by the launcher's probe
    // (from its cache or a probe of its own); only kSafe lets a connection pipeline.
    std::atomic<uint32_t> pipeline;
    uint32_t table_capacity;  // fake_capacity() of the creator's ranges: the state's size
    // Bit i: hop i of the chain (Config::hops, i ≥ 1) keeps pipelined bytes, learned by
    // the launcher as pipeline is (hop 0 is the proxy itself: pipeline says).
    std::atomic<uint32_t> hop_pipeline;
    SharedRange fake_net4;
    SharedRange fake_net6;
    // The proxy password (RFC 1929: 1..255 bytes; 0 = none): kept here, readable by
    // the run's user alone, instead of in every descendant's environment.
    uint32_t pass_len;
    char pass[kMaxCred];
};
static_assert(offsetof(SharedHeader, pipeline) == 8);
static_assert(sizeof(SharedHeader) <= kSharedTableOffset);
static_assert(std::atomic<uint32_t>::is_always_lock_free);

// Maps the state SOCKSIFY_SHM names (ref; null or empty: none) after verifying it.
// Call before load_config: the password comes from it.
void attach_shared_state(const char* ref);
// After load_config: a state named in SOCKSIFY_SHM whose ranges differ from cfg's
// is dropped (log line; lookups then fail). Without one, this process creates the
// run's state and names it in SOCKSIFY_SHM for the programs it execs.
void bind_shared_state(const Config& cfg);

// The password the state carries, or nullptr.
const char* shared_password();

SharedHeader& shared_state();
// The fake-DNS table; null when the run's table cannot be used (then name lookups fail
// rather than hand out addresses other processes would map to other names).
FakeDns* fake_dns_table();

// The supervisor under --strict: from now on this process's fake-DNS table is a private
// one no other process maps (the run's shared one is writable by the job). False when
// it cannot be allocated.
bool use_private_fake_dns(uint32_t capacity, uint32_t min_age_s);

}  // namespace socksify::shim
