// The fake-DNS table: name ↔ index, shared by every process of one launcher run.
// Index i stands for the i-th address of the IPv4 fake range and of the IPv6 one.
// Lock-free: an insert claims an entry, writes the name, then publishes it with one
// CAS into the hash index; a process killed at any point leaves at most one
// unreachable entry, never a wrong mapping (docs/ARCHITECTURE.md, Fake DNS).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace socksify::shim {

inline constexpr uint32_t kFakeDnsCapacity = 131072;  // ≥ 100,000 names
inline constexpr uint32_t kFakeDnsSlots = 1u << 18;   // hash index, load ≤ 0.5
inline constexpr size_t kMaxName = 255;               // SOCKS DOMAINNAME limit

struct FakeDnsEntry {
    std::atomic<uint32_t> ready;  // 1 once name is written; never cleared
    uint8_t len;
    char name[kMaxName];
};
static_assert(sizeof(FakeDnsEntry) == 260);

struct FakeDnsTable {
    std::atomic<uint32_t> next;  // entries claimed so far (≤ capacity)
    uint32_t capacity;           // set once at creation
    std::atomic<uint32_t> full_logged;
    uint32_t reserved;
    std::atomic<uint32_t> slots[kFakeDnsSlots];  // entry index + 1; 0 = empty
    FakeDnsEntry entries[kFakeDnsCapacity];
};
static_assert(offsetof(FakeDnsTable, slots) == 16);
static_assert(std::atomic<uint32_t>::is_always_lock_free);

enum class InsertResult : uint8_t { kOk, kFull, kBadName };

// Normalises name (ASCII lower case, one trailing dot dropped) into out; returns its
// length, or 0 if it is empty, too long or holds a NUL.
size_t normalize_name(std::string_view name, char (&out)[kMaxName]);

// Finds or adds name; index receives its entry. Safe under concurrent callers in
// many processes sharing the table.
InsertResult fake_dns_insert(FakeDnsTable& t, std::string_view name, uint32_t& index);

// Finds name without adding it.
bool fake_dns_find(const FakeDnsTable& t, std::string_view name, uint32_t& index);

// The name of a published entry; empty if index holds none.
std::string_view fake_dns_name(const FakeDnsTable& t, uint32_t index);

}  // namespace socksify::shim
