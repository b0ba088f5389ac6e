// The shared name table (see fake_dns.hpp): hash buckets, per-address entries with a
// 64-bit state word, a name arena with per-size free lists, and a clock sweep that
// gives back the least recently used names when every address is taken.
#include "shim/dns/fake_dns.hpp"

#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace socksify::shim {
namespace {

// How many buckets past its home a name may live (the insert lock covers all of them).
constexpr uint32_t kMaxProbe = 8;
constexpr uint32_t kIndexMask = (1u << 24) - 1;

// The entry state word.
constexpr uint64_t kPhaseFree = 0, kPhaseBusy = 1, kPhaseLive = 2;
constexpr uint64_t kRef = uint64_t{1} << 2;
constexpr int kPinShift = 3, kGenShift = 18, kTimeShift = 32;
constexpr uint64_t kGenMask = 0x3fff;

uint64_t phase(uint64_t s) { return s & 3; }
uint32_t pins(uint64_t s) { return static_cast<uint32_t>(s >> kPinShift) & kPinMax; }
uint64_t gen(uint64_t s) { return (s >> kGenShift) & kGenMask; }
uint32_t last_use(uint64_t s) { return static_cast<uint32_t>(s >> kTimeShift); }
// Phase and generation: what a reader re-checks after copying a name.
uint64_t identity(uint64_t s) { return s & ((kGenMask << kGenShift) | 3); }

uint64_t make_state(uint64_t ph, bool ref, uint32_t pin, uint64_t g, uint32_t time) {
    return ph | (ref ? kRef : 0) | (uint64_t{pin} << kPinShift) | ((g & kGenMask) << kGenShift) |
           (uint64_t{time} << kTimeShift);
}

uint64_t hash_name(const char* s, size_t n) {
    uint64_t h = 14695981039346656037ull;  // FNV-1a, then a finaliser for the high bits
    for (size_t i = 0; i < n; ++i) {
        h ^= static_cast<uint8_t>(s[i]);
        h *= 1099511628211ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

uint32_t slot_value(uint64_t h, uint32_t index) {
    return (static_cast<uint32_t>(h >> 56) << 24) | (index + 1);
}
bool tag_matches(uint32_t v, uint64_t h) { return (v >> 24) == static_cast<uint32_t>(h >> 56); }

uint32_t units_for(size_t len) { return static_cast<uint32_t>((len + kNameUnit - 1) / kNameUnit); }

// FakeDnsEntry::len holds the name's length and, above it, its block's size in units
// (a name may sit in a larger block than it needs).
uint32_t pack_len(size_t len, uint32_t cls) { return static_cast<uint32_t>(len) | (cls << 16); }
uint32_t len_of(uint32_t packed) { return packed & 0xffff; }
uint32_t cls_of(uint32_t packed) { return packed >> 16; }
// A block that lies inside the arena and holds the length.
bool block_sane(const FakeDns& t, uint32_t unit, uint32_t packed) {
    uint32_t len = len_of(packed), cls = cls_of(packed);
    return len != 0 && len <= kMaxName && cls >= units_for(len) && cls <= kNameClasses &&
           unit <= t.arena_units - cls;
}

uint8_t* unit_ptr(const FakeDns& t, uint32_t unit) {
    return t.arena + static_cast<size_t>(unit) * kNameUnit;
}

// Copies the name of entry index under its state (a sequence lock): the length, 0 when
// it holds none; s receives the state the copy is valid for.
size_t read_name(const FakeDns& t, uint32_t index, char (&out)[kMaxName], uint64_t& s) {
    if (index >= t.capacity) return 0;
    const FakeDnsEntry& e = t.entries[index];
    for (int tries = 0; tries < 16; ++tries) {
        s = e.state.load(std::memory_order_acquire);
        if (phase(s) != kPhaseLive) return 0;
        uint32_t unit = e.unit.load(std::memory_order_relaxed);
        uint32_t packed = e.len.load(std::memory_order_relaxed);
        uint32_t len = len_of(packed);
        bool sane = block_sane(t, unit, packed);
        if (sane) memcpy(out, unit_ptr(t, unit), len);
        std::atomic_thread_fence(std::memory_order_acquire);
        if (identity(e.state.load(std::memory_order_relaxed)) == identity(s)) return sane ? len : 0;
    }
    return 0;  // rewritten under us again and again: treat as none
}

// Marks index used at now (reference bit, last use) if it still has identity id.
bool touch(FakeDns& t, uint32_t index, uint64_t id, uint32_t now) {
    std::atomic<uint64_t>& st = t.entries[index].state;
    uint64_t s = st.load(std::memory_order_acquire);
    for (;;) {
        if (identity(s) != id) return false;
        if ((s & kRef) != 0 && last_use(s) >= now) return true;
        uint32_t when = last_use(s) > now ? last_use(s) : now;
        uint64_t ns = make_state(phase(s), true, pins(s), gen(s), when);
        if (st.compare_exchange_weak(s, ns, std::memory_order_acq_rel)) return true;
    }
}

bool find_norm(FakeDns& t, const char* norm, size_t len, uint64_t h, uint32_t now,
               uint32_t& index) {
    uint32_t home = static_cast<uint32_t>(h) & t.bucket_mask;
    for (uint32_t k = 0; k < kMaxProbe; ++k) {
        const FakeDnsBucket& b = t.buckets[(home + k) & t.bucket_mask];
        for (const auto& slot : b.slot) {
            uint32_t v = slot.load(std::memory_order_acquire);
            if (v == 0 || !tag_matches(v, h)) continue;
            uint32_t i = (v & kIndexMask) - 1;
            char got[kMaxName];
            uint64_t s = 0;
            if (read_name(t, i, got, s) != len || memcmp(got, norm, len) != 0) continue;
            if (touch(t, i, identity(s), now)) {
                index = i;
                return true;
            }
        }
        if (b.overflow.load(std::memory_order_acquire) == 0) break;
    }
    return false;
}

// --- The insert lock: only for agreement on one address per name ---------------------

enum class Lock : uint8_t { kHeld, kNested, kWithout };

// gettid(), not syscall(): the library hooks syscall.
uint32_t self_tid() { return static_cast<uint32_t>(gettid()); }

int64_t now_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

Lock lock_bucket(FakeDnsBucket& b) {
    uint32_t tid = self_tid();
    int64_t give_up = 0;
    for (uint32_t spin = 0;; ++spin) {
        uint32_t v = 0;
        if (b.lock.compare_exchange_weak(v, tid, std::memory_order_acquire)) return Lock::kHeld;
        if (v == tid) return Lock::kNested;  // a signal handler of the holder resolving
        if (v == 0) continue;
        if (spin % 64 == 63) sched_yield();
        if (spin % 1024 != 1023) continue;
        // The holder died inside (killed): its lock is taken over.
        if (kill(static_cast<pid_t>(v), 0) != 0 && errno == ESRCH) {
            if (b.lock.compare_exchange_strong(v, tid, std::memory_order_acquire))
                return Lock::kHeld;
            continue;
        }
        // A holder stopped for long (or in another pid namespace): go on without.
        if (give_up == 0) give_up = now_ms() + 1000;
        if (now_ms() > give_up) return Lock::kWithout;
    }
}

void unlock_bucket(FakeDnsBucket& b, Lock l) {
    if (l != Lock::kHeld) return;
    uint32_t tid = self_tid();
    b.lock.compare_exchange_strong(tid, 0, std::memory_order_release);
}

// --- The name arena: 16-byte units, one free list per size ---------------------------

bool pop_free(FakeDns& t, uint32_t cls, uint32_t& unit) {
    std::atomic<uint64_t>& head = t.h->free_head[cls];
    uint64_t hd = head.load(std::memory_order_acquire);
    while ((hd & 0xffffffff) != 0) {
        uint32_t u = static_cast<uint32_t>(hd & 0xffffffff) - 1;
        if (u > t.arena_units - cls) return false;  // a scribbled list: left alone
        uint32_t next =
            __atomic_load_n(reinterpret_cast<uint32_t*>(unit_ptr(t, u)), __ATOMIC_RELAXED);
        uint64_t nh = (((hd >> 32) + 1) << 32) | next;
        if (head.compare_exchange_weak(hd, nh, std::memory_order_acq_rel)) {
            unit = u;
            return true;
        }
    }
    return false;
}

// A block of at least need units: a freed one of that size, new arena, or a larger
// freed one (names of growing length would otherwise strand the smaller blocks).
bool alloc_units(FakeDns& t, uint32_t need, uint32_t& unit, uint32_t& cls) {
    cls = need;
    if (pop_free(t, need, unit)) return true;
    if (t.h->arena_next.load(std::memory_order_relaxed) <= t.arena_units - need) {
        uint64_t n = t.h->arena_next.fetch_add(need, std::memory_order_relaxed);
        if (n <= t.arena_units - need) {
            unit = static_cast<uint32_t>(n);
            return true;
        }
    }
    for (cls = need + 1; cls <= kNameClasses; ++cls) {
        if (pop_free(t, cls, unit)) return true;
    }
    return false;
}

void free_units(FakeDns& t, uint32_t cls, uint32_t unit) {
    std::atomic<uint64_t>& head = t.h->free_head[cls];
    uint64_t hd = head.load(std::memory_order_relaxed);
    for (;;) {
        __atomic_store_n(reinterpret_cast<uint32_t*>(unit_ptr(t, unit)),
                         static_cast<uint32_t>(hd & 0xffffffff), __ATOMIC_RELAXED);
        uint64_t nh = (((hd >> 32) + 1) << 32) | (unit + 1);
        if (head.compare_exchange_weak(hd, nh, std::memory_order_acq_rel)) return;
    }
}

// --- Handing out an address -----------------------------------------------------------

// Removes the index's slot for the name it held (readers already skip it: the entry's
// generation changed).
void drop_slot(FakeDns& t, const char* name, size_t len, uint32_t index) {
    uint64_t h = hash_name(name, len);
    uint32_t want = slot_value(h, index);
    uint32_t home = static_cast<uint32_t>(h) & t.bucket_mask;
    for (uint32_t k = 0; k < kMaxProbe; ++k) {
        FakeDnsBucket& b = t.buckets[(home + k) & t.bucket_mask];
        for (auto& slot : b.slot) {
            uint32_t v = want;
            slot.compare_exchange_strong(v, 0, std::memory_order_acq_rel);
        }
        if (b.overflow.load(std::memory_order_acquire) == 0) break;
    }
}

// An entry this thread made busy: its previous name block, if any.
struct Taken {
    uint32_t index = 0;
    uint64_t gen = 0;  // the busy state's generation
    bool had_block = false;
    uint32_t unit = 0, cls = 0;
};

bool claim(FakeDnsEntry& e, uint64_t& s, Taken& out, uint32_t now) {
    uint64_t busy = make_state(kPhaseBusy, false, 0, gen(s) + 1, now);
    if (!e.state.compare_exchange_strong(s, busy, std::memory_order_acq_rel)) return false;
    out.gen = gen(s) + 1;
    return true;
}

// The clock sweep: the first live entry with no pins, its reference bit clear (cleared
// on the way: a second chance) and last used at least min_age_s ago. Bounded: after
// two turns of the hand nothing may go.
bool recycle(FakeDns& t, uint32_t now, Taken& out, Recycled* rec) {
    if (now < t.h->barren_until.load(std::memory_order_relaxed)) return false;
    uint64_t limit = uint64_t{t.capacity} * 2 + 2;
    uint32_t fresh = t.h->next.load(std::memory_order_relaxed);
    uint32_t soonest = UINT32_MAX;  // when the youngest unpinned entry seen turns old enough
    for (uint64_t step = 0; step < limit; ++step) {
        uint32_t i =
            static_cast<uint32_t>(t.h->hand.fetch_add(1, std::memory_order_relaxed) % t.capacity);
        FakeDnsEntry& e = t.entries[i];
        uint64_t s = e.state.load(std::memory_order_acquire);
        if (phase(s) == kPhaseFree) {
            // Given back by a failed insert (below next): free to take.
            if (i < fresh && claim(e, s, out, now)) {
                out.index = i;
                return true;
            }
            continue;
        }
        if (phase(s) != kPhaseLive || pins(s) != 0) continue;
        if ((s & kRef) != 0) {
            e.state.compare_exchange_strong(s, s & ~kRef, std::memory_order_acq_rel);
            continue;
        }
        if (last_use(s) > now || now - last_use(s) < t.min_age_s) {
            uint64_t ripe = uint64_t{last_use(s)} + t.min_age_s;
            if (ripe < soonest) soonest = static_cast<uint32_t>(ripe);
            continue;
        }
        uint32_t unit = e.unit.load(std::memory_order_relaxed);
        uint32_t packed = e.len.load(std::memory_order_relaxed);
        if (!claim(e, s, out, now)) continue;
        out.index = i;
        // Busy now: nobody else writes the name; only this thread reads it as owner.
        if (block_sane(t, unit, packed)) {
            uint32_t len = len_of(packed);
            out.had_block = true;
            out.unit = unit;
            out.cls = cls_of(packed);
            char old[kMaxName];
            memcpy(old, unit_ptr(t, unit), len);
            drop_slot(t, old, len, i);
            if (rec != nullptr) {
                rec->happened = true;
                rec->old_len = len;
                memcpy(rec->old_name, old, len);
            }
        }
        t.h->recycled.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    // Bounded cost for the lookups that follow: each would sweep in vain until then.
    t.h->barren_until.store(soonest == UINT32_MAX || soonest <= now ? now + 1 : soonest,
                            std::memory_order_relaxed);
    return false;
}

bool take_address(FakeDns& t, uint32_t now, Taken& out, Recycled* rec) {
    uint32_t n = t.h->next.load(std::memory_order_relaxed);
    while (n < t.capacity) {
        if (t.h->next.compare_exchange_weak(n, n + 1, std::memory_order_relaxed)) {
            FakeDnsEntry& e = t.entries[n];
            uint64_t s = e.state.load(std::memory_order_acquire);
            // A fresh entry is free; one another process scribbled on is left alone.
            if (phase(s) != kPhaseFree || !claim(e, s, out, now)) continue;
            out.index = n;
            return true;
        }
    }
    return recycle(t, now, out, rec);
}

// Writes name into the taken entry and publishes it live with one pin (the caller's,
// so that no sweep takes it before its slot is in place).
bool publish(FakeDns& t, Taken& tk, const char* name, size_t len, uint32_t now) {
    uint32_t need = units_for(len);
    uint32_t unit = 0, cls = 0;
    if (tk.had_block && tk.cls >= need && tk.cls <= need + 1) {
        unit = tk.unit;  // the old name's block fits (wasting at most one unit)
        cls = tk.cls;
    } else {
        if (tk.had_block) free_units(t, tk.cls, tk.unit);
        tk.had_block = false;
        if (!alloc_units(t, need, unit, cls)) return false;
    }
    FakeDnsEntry& e = t.entries[tk.index];
    memcpy(unit_ptr(t, unit), name, len);
    e.unit.store(unit, std::memory_order_relaxed);
    e.len.store(pack_len(len, cls), std::memory_order_relaxed);
    e.state.store(make_state(kPhaseLive, true, 1, tk.gen, now), std::memory_order_release);
    return true;
}

// Puts index's slot in the first empty one from the home bucket on.
bool place(FakeDns& t, uint64_t h, uint32_t index) {
    uint32_t home = static_cast<uint32_t>(h) & t.bucket_mask;
    uint32_t v = slot_value(h, index);
    for (uint32_t k = 0; k < kMaxProbe; ++k) {
        FakeDnsBucket& b = t.buckets[(home + k) & t.bucket_mask];
        for (auto& slot : b.slot) {
            uint32_t empty = 0;
            if (slot.load(std::memory_order_relaxed) == 0 &&
                slot.compare_exchange_strong(empty, v, std::memory_order_acq_rel))
                return true;
        }
        // Lookups must look further than this bucket from now on.
        b.overflow.store(1, std::memory_order_release);
    }
    return false;
}

}  // namespace

FakeDnsLayout fake_dns_layout(uint32_t capacity) {
    if (capacity > kFakeDnsMaxCapacity) capacity = kFakeDnsMaxCapacity;
    FakeDnsLayout l{};
    l.capacity = capacity;
    l.buckets = 1;
    while (uint64_t{l.buckets} * 8 < capacity) l.buckets <<= 1;
    // 256 bytes for every name and half as much again for blocks on free lists.
    l.arena_units = capacity * kNameClasses + capacity * kNameClasses / 2 + kNameClasses * 16;
    l.bucket_off = 256;
    l.entry_off = l.bucket_off + size_t{l.buckets} * sizeof(FakeDnsBucket);
    l.arena_off = (l.entry_off + size_t{capacity} * sizeof(FakeDnsEntry) + 63) & ~size_t{63};
    l.size = (l.arena_off + size_t{l.arena_units} * kNameUnit + 4095) & ~size_t{4095};
    return l;
}

FakeDns fake_dns_view(void* mem, uint32_t capacity, uint32_t min_age_s) {
    FakeDnsLayout l = fake_dns_layout(capacity);
    auto* base = static_cast<uint8_t*>(mem);
    FakeDns t;
    t.h = reinterpret_cast<FakeDnsHeader*>(base);
    t.buckets = reinterpret_cast<FakeDnsBucket*>(base + l.bucket_off);
    t.entries = reinterpret_cast<FakeDnsEntry*>(base + l.entry_off);
    t.arena = base + l.arena_off;
    t.capacity = l.capacity;
    t.bucket_mask = l.buckets - 1;
    t.arena_units = l.arena_units;
    t.min_age_s = min_age_s;
    return t;
}

uint32_t fake_dns_now() {
    timespec ts{};
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return static_cast<uint32_t>(ts.tv_sec);
}

size_t normalize_name(std::string_view name, char (&out)[kMaxName]) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (name.empty() || name.size() > kMaxName) return 0;
    for (size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        if (c == '\0') return 0;
        out[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    return name.size();
}

bool fake_dns_find(FakeDns& t, std::string_view name, uint32_t& index, uint32_t now) {
    char norm[kMaxName];
    size_t len = normalize_name(name, norm);
    if (len == 0 || t.capacity == 0) return false;
    return find_norm(t, norm, len, hash_name(norm, len), now, index);
}

InsertResult fake_dns_insert(FakeDns& t, std::string_view name, uint32_t& index, uint32_t now,
                             Recycled* recycled) {
    char norm[kMaxName];
    size_t len = normalize_name(name, norm);
    if (len == 0) return InsertResult::kBadName;
    if (t.capacity == 0) return InsertResult::kFull;
    uint64_t h = hash_name(norm, len);
    if (find_norm(t, norm, len, h, now, index)) return InsertResult::kOk;
    FakeDnsBucket& home = t.buckets[static_cast<uint32_t>(h) & t.bucket_mask];
    Lock lock = lock_bucket(home);
    InsertResult result = InsertResult::kFull;
    Taken tk;
    if (find_norm(t, norm, len, h, now, index)) {
        result = InsertResult::kOk;
    } else if (take_address(t, now, tk, recycled)) {
        FakeDnsEntry& e = t.entries[tk.index];
        if (!publish(t, tk, norm, len, now)) {
            // No arena left: the entry goes back to the sweep, free.
            if (tk.had_block) free_units(t, tk.cls, tk.unit);
            e.state.store(make_state(kPhaseFree, false, 0, tk.gen, 0), std::memory_order_release);
        } else {
            bool placed = place(t, h, tk.index);
            // Drop the publishing pin; unplaced (probe run full), the entry is left for
            // the sweep, never handed out.
            uint64_t s = e.state.load(std::memory_order_acquire);
            for (;;) {
                uint64_t ns =
                    make_state(kPhaseLive, placed, pins(s) - 1, gen(s), placed ? last_use(s) : 0);
                if (e.state.compare_exchange_weak(s, ns, std::memory_order_acq_rel)) break;
            }
            if (placed) {
                index = tk.index;
                result = InsertResult::kOk;
            }
        }
    }
    unlock_bucket(home, lock);
    return result;
}

size_t fake_dns_name(FakeDns& t, uint32_t index, char (&out)[kMaxName], uint32_t now) {
    uint64_t s = 0;
    size_t len = read_name(t, index, out, s);
    if (len != 0) touch(t, index, identity(s), now);
    return len;
}

bool fake_dns_pin(FakeDns& t, uint32_t index, uint32_t now) {
    if (index >= t.capacity) return false;
    std::atomic<uint64_t>& st = t.entries[index].state;
    uint64_t s = st.load(std::memory_order_acquire);
    for (;;) {
        if (phase(s) != kPhaseLive) return false;
        if (pins(s) == kPinMax) return true;  // saturated: held for good
        uint32_t when = last_use(s) > now ? last_use(s) : now;
        uint64_t ns = make_state(kPhaseLive, true, pins(s) + 1, gen(s), when);
        if (st.compare_exchange_weak(s, ns, std::memory_order_acq_rel)) return true;
    }
}

void fake_dns_unpin(FakeDns& t, uint32_t index, uint32_t now) {
    if (index >= t.capacity) return;
    std::atomic<uint64_t>& st = t.entries[index].state;
    uint64_t s = st.load(std::memory_order_acquire);
    for (;;) {
        if (phase(s) != kPhaseLive || pins(s) == 0 || pins(s) == kPinMax) return;
        uint32_t when = last_use(s) > now ? last_use(s) : now;
        uint64_t ns = make_state(kPhaseLive, true, pins(s) - 1, gen(s), when);
        if (st.compare_exchange_weak(s, ns, std::memory_order_acq_rel)) return;
    }
}

uint32_t fake_dns_pins(const FakeDns& t, uint32_t index) {
    if (index >= t.capacity) return 0;
    return pins(t.entries[index].state.load(std::memory_order_acquire));
}

}  // namespace socksify::shim
