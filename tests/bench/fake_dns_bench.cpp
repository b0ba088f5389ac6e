// The fake-DNS table in MAP_SHARED memory, as the launcher creates it, holding 10
// thousand, 1 million and 10 million names in a /8 range (--fake-net 240.0.0.0/8, the
// largest; 10 million names need it): lookup of a known name, insert of a new one
// while the range has room, insert of a new one into a range exactly full (each insert
// gives one name back), and the reverse (index → name). Flat cost across sizes is the
// point (issue 19).
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "shim/dns/fake_dns.hpp"

namespace socksify::shim {
namespace {

constexpr uint32_t kNow = 1000;

// A zeroed table of capacity names in shared anonymous memory (no minimum age: a full
// range gives back a name on every new insert).
class SharedTable {
  public:
    explicit SharedTable(uint32_t capacity) : size_(fake_dns_layout(capacity).size) {
        void* p = mmap(nullptr, size_, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) return;
        mem_ = p;
        table_ = fake_dns_view(p, capacity, 0);
    }
    ~SharedTable() {
        if (mem_ != nullptr) munmap(mem_, size_);
    }
    SharedTable(const SharedTable&) = delete;
    SharedTable& operator=(const SharedTable&) = delete;

    FakeDns* get() { return mem_ != nullptr ? &table_ : nullptr; }

  private:
    size_t size_;
    void* mem_ = nullptr;
    FakeDns table_;
};

// Names shaped like real ones: varied length, a few labels.
std::string make_name(size_t i) {
    static constexpr const char* kSuffixes[] = {".example.com", ".cdn.example.net",
                                                ".api.example.org", ".example"};
    return "host-" + std::to_string(i) + kSuffixes[i % 4];
}

// A table of capacity addresses holding n names, built once per size and kept.
struct Filled {
    Filled(uint32_t n, uint32_t capacity) : s(capacity) {
        if (s.get() == nullptr) return;
        names.reserve(n);
        indices.reserve(n);
        for (uint32_t i = 0; i < n; ++i) {
            names.push_back(make_name(i));
            uint32_t index = 0;
            if (fake_dns_insert(*s.get(), names.back(), index, kNow) != InsertResult::kOk) return;
            indices.push_back(index);
        }
        ok = true;
    }
    SharedTable s;
    std::vector<std::string> names;
    std::vector<uint32_t> indices;
    bool ok = false;
};

// n names in a /8 range.
Filled& filled(uint32_t n, uint32_t capacity = kFakeDnsMaxCapacity) {
    static std::map<std::pair<uint32_t, uint32_t>, std::unique_ptr<Filled>> tables;
    auto& f = tables[{n, capacity}];
    if (!f) f = std::make_unique<Filled>(n, capacity);
    return *f;
}

// n names in a range of exactly n addresses: every new name recycles one.
Filled& full(uint32_t n) { return filled(n, n); }

// Names not in the table yet: counting up from where the last run for this table
// stopped, so repetitions insert new names too.
std::vector<std::string> fresh_names(const Filled& f, size_t& next, size_t count) {
    if (next == 0) next = f.names.size();
    std::vector<std::string> fresh;
    fresh.reserve(count);
    for (size_t i = 0; i < count; ++i) fresh.push_back(make_name(next + i));
    return fresh;
}

// Inserts fresh names, one per iteration; each must get an address.
void insert_fresh(benchmark::State& state, Filled& f, size_t& next) {
    if (!f.ok) {
        state.SkipWithError("filling the table failed");
        return;
    }
    std::vector<std::string> fresh = fresh_names(f, next, 1 << 16);
    size_t i = 0;
    for (auto _ : state) {
        uint32_t index = 0;
        InsertResult r = fake_dns_insert(*f.s.get(), fresh[i], index, kNow);
        if (r != InsertResult::kOk) [[unlikely]] {
            state.SkipWithError("insert failed");
            break;
        }
        benchmark::DoNotOptimize(index);
        if (++i == fresh.size()) [[unlikely]] {
            state.SkipWithError("ran past the prepared names");
            break;
        }
    }
    next += i;
}

// Known names in table order: mostly cache misses on a big table.
void BM_FakeDnsFindKnown(benchmark::State& state) {
    Filled& f = filled(static_cast<uint32_t>(state.range(0)));
    if (!f.ok) {
        state.SkipWithError("filling the table failed");
        return;
    }
    size_t i = 0;
    for (auto _ : state) {
        uint32_t index = 0;
        bool found = fake_dns_find(*f.s.get(), f.names[i], index, kNow);
        benchmark::DoNotOptimize(found);
        benchmark::DoNotOptimize(index);
        if (++i == f.names.size()) i = 0;
    }
}
BENCHMARK(BM_FakeDnsFindKnown)->Arg(10000)->Arg(1000000)->Arg(10000000);

// A new name while the range has room: what the first lookup of every name costs.
void BM_FakeDnsInsertNew(benchmark::State& state) {
    static std::map<int64_t, size_t> next_name;
    insert_fresh(state, filled(static_cast<uint32_t>(state.range(0))), next_name[state.range(0)]);
}
BENCHMARK(BM_FakeDnsInsertNew)->Arg(10000)->Arg(1000000)->Arg(10000000)->Iterations(50000);

// A new name into a full range: the sweep gives one name back each time (the one given
// back was idle). The table keeps its size.
void BM_FakeDnsInsertNewRecycling(benchmark::State& state) {
    static std::map<int64_t, size_t> next_name;
    insert_fresh(state, full(static_cast<uint32_t>(state.range(0))), next_name[state.range(0)]);
}
BENCHMARK(BM_FakeDnsInsertNewRecycling)->Arg(10000)->Arg(1000000)->Arg(10000000)->Iterations(50000);

// Insert of a name already present: what every repeated getaddrinfo of one name costs.
void BM_FakeDnsInsertExisting(benchmark::State& state) {
    Filled& f = filled(static_cast<uint32_t>(state.range(0)));
    if (!f.ok) {
        state.SkipWithError("filling the table failed");
        return;
    }
    uint32_t index = 0;
    const std::string name = "www.example.com";
    fake_dns_insert(*f.s.get(), name, index, kNow);
    for (auto _ : state) {
        InsertResult r = fake_dns_insert(*f.s.get(), name, index, kNow);
        benchmark::DoNotOptimize(r);
        benchmark::DoNotOptimize(index);
    }
}
BENCHMARK(BM_FakeDnsInsertExisting)->Arg(10000)->Arg(1000000)->Arg(10000000);

// Reverse: the fake address a program connects to, back to its name.
void BM_FakeDnsName(benchmark::State& state) {
    Filled& f = filled(static_cast<uint32_t>(state.range(0)));
    if (!f.ok) {
        state.SkipWithError("filling the table failed");
        return;
    }
    size_t i = 0;
    for (auto _ : state) {
        char name[kMaxName];
        size_t n = fake_dns_name(*f.s.get(), f.indices[i], name, kNow);
        benchmark::DoNotOptimize(n);
        benchmark::DoNotOptimize(name);
        if (++i == f.indices.size()) i = 0;
    }
}
BENCHMARK(BM_FakeDnsName)->Arg(10000)->Arg(1000000)->Arg(10000000);

}  // namespace
}  // namespace socksify::shim
