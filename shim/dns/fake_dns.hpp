// The fake-DNS table: name ↔ index, shared by every process of one launcher run.
// Index i stands for the i-th address of the IPv4 fake range and of the IPv6 one; the
// table holds as many names as the ranges have addresses (up to a /8) and, once they
// are all handed out, gives back the least recently used name that no open connection
// holds and that was not looked up for the minimum age (issue 19).
//
// Memory: a hash index (one 64-byte bucket per 8 addresses), a 16-byte entry per
// address and a name arena in 16-byte units, all in one sparse region sized from the
// capacity; only pages a name touches cost memory.
//
// Concurrency across threads and processes: lookups of known names, reverse lookups,
// pins and recycling are lock-free (CAS on one 64-bit entry state, names read under
// that state as a sequence lock). Adding a new name takes its home bucket's insert lock
// only so that two processes adding the same name agree on one address; correctness
// never depends on it (a dead holder's lock is taken over; a stolen lock can at worst
// give one name two addresses, never an address two names). A process killed at any
// point leaves at most an entry or a name block unreachable, never a wrong mapping.
//
// Every index read from the shared memory is bounded by this process's own capacity
// (FakeDns is built from its own configuration, never from the shared fields).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace socksify::shim {

inline constexpr size_t kMaxName = 255;                          // SOCKS DOMAINNAME limit
inline constexpr uint32_t kFakeDnsMaxCapacity = (1u << 24) - 2;  // a /8 but its ends
inline constexpr uint32_t kBucketSlots = 14;
inline constexpr uint32_t kNameUnit = 16;            // arena allocation unit (bytes)
inline constexpr uint32_t kNameClasses = 16;         // 16 .. 256 bytes
inline constexpr uint32_t kPinMax = (1u << 15) - 1;  // a saturated pin count sticks

// At the table's start. capacity is checked by the processes that share it.
struct FakeDnsHeader {
    uint32_t capacity;
    // After a sweep found nothing that may go: no new sweep before this second (the
    // earliest an entry it saw turns old enough; the next second if all were pinned).
    std::atomic<uint32_t> barren_until;
    std::atomic<uint32_t> next;                         // addresses handed out for the first time
    std::atomic<uint32_t> full_logged;                  // 1 after the "cannot recycle" line
    std::atomic<uint64_t> hand;                         // the recycling sweep's position
    std::atomic<uint64_t> arena_next;                   // arena units bumped so far
    std::atomic<uint64_t> recycled;                     // names given back so far
    std::atomic<uint64_t> free_head[kNameClasses + 1];  // (tag << 32) | (unit + 1)
};

// Slots hold (8-bit hash tag << 24) | (index + 1); 0 is empty.
struct FakeDnsBucket {
    std::atomic<uint32_t> lock;      // the inserting thread's tid, 0 = free
    std::atomic<uint32_t> overflow;  // 1: names homed here or before live further on
    std::atomic<uint32_t> slot[kBucketSlots];
};

// state: phase (2 bits: free, busy, live) | ref (1) | pins (15) | generation (14) |
// last use in CLOCK_BOOTTIME seconds (32). unit and len (the name's length | its
// block's units << 16) are valid while state is live and unchanged (readers re-check
// it after copying the name).
struct FakeDnsEntry {
    std::atomic<uint64_t> state;
    std::atomic<uint32_t> unit;
    std::atomic<uint32_t> len;
};

static_assert(sizeof(FakeDnsHeader) == 176);
static_assert(sizeof(FakeDnsBucket) == 64);
static_assert(sizeof(FakeDnsEntry) == 16);
static_assert(std::atomic<uint64_t>::is_always_lock_free);

// Where the parts of a table of capacity names lie, from its start; size in bytes.
struct FakeDnsLayout {
    uint32_t capacity;
    uint32_t buckets;  // a power of two
    uint32_t arena_units;
    size_t bucket_off, entry_off, arena_off, size;
};
FakeDnsLayout fake_dns_layout(uint32_t capacity);

// One process's view of a mapped table: bounds from its own configuration.
struct FakeDns {
    FakeDnsHeader* h = nullptr;
    FakeDnsBucket* buckets = nullptr;
    FakeDnsEntry* entries = nullptr;
    uint8_t* arena = nullptr;
    uint32_t capacity = 0;
    uint32_t bucket_mask = 0;
    uint32_t arena_units = 0;
    uint32_t min_age_s = 0;  // a name looked up more recently is never given back
};
// mem: fake_dns_layout(capacity).size bytes, zeroed when new.
FakeDns fake_dns_view(void* mem, uint32_t capacity, uint32_t min_age_s);

enum class InsertResult : uint8_t { kOk, kFull, kBadName };

// What a recycling insert gave back, for the log and the audit record.
struct Recycled {
    bool happened = false;
    size_t old_len = 0;
    char old_name[kMaxName];
};

// Seconds on CLOCK_BOOTTIME (counts suspend): the table's clock in every process.
uint32_t fake_dns_now();

// Normalises name (ASCII lower case, one trailing dot dropped) into out; returns its
// length, or 0 if it is empty, too long or holds a NUL.
size_t normalize_name(std::string_view name, char (&out)[kMaxName]);

// Finds or adds name; index receives its entry. When every address is taken, gives
// back the least recently used name that may go (kFull when none may: then nothing
// changed). A found name counts as used at now.
InsertResult fake_dns_insert(FakeDns& t, std::string_view name, uint32_t& index, uint32_t now,
                             Recycled* recycled = nullptr);

// Finds name without adding it; a found name counts as used at now.
bool fake_dns_find(FakeDns& t, std::string_view name, uint32_t& index, uint32_t now);

// Copies the name of index into out; its length, 0 if index holds none. A name read
// counts as used at now (a program reaching an address keeps its name alive).
size_t fake_dns_name(FakeDns& t, uint32_t index, char (&out)[kMaxName], uint32_t now);

// An open connection or association holds index: it is not given back while pinned.
// False when index holds no name. Unpin once per successful pin.
bool fake_dns_pin(FakeDns& t, uint32_t index, uint32_t now);
void fake_dns_unpin(FakeDns& t, uint32_t index, uint32_t now);

// How many pins index holds (tests, --check).
uint32_t fake_dns_pins(const FakeDns& t, uint32_t index);

}  // namespace socksify::shim
