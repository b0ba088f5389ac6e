// Lock-free shared name table: claim, write, publish (see fake_dns.hpp).
#include "shim/dns/fake_dns.hpp"

#include <cstring>

namespace socksify::shim {
namespace {

uint32_t hash_name(const char* s, size_t n) {
    uint32_t h = 2166136261u;  // FNV-1a: short names, good spread, no state
    for (size_t i = 0; i < n; ++i) {
        h ^= static_cast<uint8_t>(s[i]);
        h *= 16777619u;
    }
    return h;
}

// The table lives in memory other processes write: every index is bounded by the
// compile-time capacity, whatever the shared capacity field says.
uint32_t limit(const FakeDnsTable& t) {
    uint32_t c = __atomic_load_n(&t.capacity, __ATOMIC_RELAXED);
    return c < kFakeDnsCapacity ? c : kFakeDnsCapacity;
}

bool entry_is(const FakeDnsEntry& e, const char* name, size_t len) {
    return e.ready.load(std::memory_order_acquire) == 1 && e.len == len &&
           memcmp(e.name, name, len) == 0;
}

// Claims one entry, or returns false when the table is full.
bool claim(FakeDnsTable& t, uint32_t& index) {
    uint32_t cap = limit(t);
    uint32_t n = t.next.load(std::memory_order_relaxed);
    do {
        if (n >= cap) return false;
    } while (!t.next.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
    index = n;
    return true;
}

}  // namespace

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

bool fake_dns_find(const FakeDnsTable& t, std::string_view name, uint32_t& index) {
    char norm[kMaxName];
    size_t len = normalize_name(name, norm);
    if (len == 0) return false;
    uint32_t h = hash_name(norm, len);
    for (uint32_t probe = 0; probe < kFakeDnsSlots; ++probe) {
        uint32_t v = t.slots[(h + probe) & (kFakeDnsSlots - 1)].load(std::memory_order_acquire);
        if (v == 0) return false;
        if (v - 1 < limit(t) && entry_is(t.entries[v - 1], norm, len)) {
            index = v - 1;
            return true;
        }
    }
    return false;
}

InsertResult fake_dns_insert(FakeDnsTable& t, std::string_view name, uint32_t& index) {
    char norm[kMaxName];
    size_t len = normalize_name(name, norm);
    if (len == 0) return InsertResult::kBadName;
    uint32_t h = hash_name(norm, len);
    bool claimed = false;
    uint32_t mine = 0;
    for (uint32_t probe = 0; probe < kFakeDnsSlots; ++probe) {
        std::atomic<uint32_t>& slot = t.slots[(h + probe) & (kFakeDnsSlots - 1)];
        uint32_t v = slot.load(std::memory_order_acquire);
        while (v == 0) {
            if (!claimed) {
                if (!claim(t, mine)) return InsertResult::kFull;
                FakeDnsEntry& e = t.entries[mine];
                memcpy(e.name, norm, len);
                e.len = static_cast<uint8_t>(len);
                e.ready.store(1, std::memory_order_release);
                claimed = true;
            }
            if (slot.compare_exchange_strong(v, mine + 1, std::memory_order_acq_rel)) {
                index = mine;
                return InsertResult::kOk;
            }
            // Lost the slot: v now holds the winner, which may be our name.
        }
        if (v - 1 < limit(t) && entry_is(t.entries[v - 1], norm, len)) {
            index = v - 1;  // an entry we claimed but lost stays unreachable
            return InsertResult::kOk;
        }
    }
    return InsertResult::kFull;
}

std::string_view fake_dns_name(const FakeDnsTable& t, uint32_t index) {
    if (index >= limit(t)) return {};
    const FakeDnsEntry& e = t.entries[index];
    if (e.ready.load(std::memory_order_acquire) != 1) return {};
    uint8_t len = e.len;  // ≤ 255 = sizeof e.name by its type
    return {e.name, len};
}

}  // namespace socksify::shim
