// The fake-DNS table in MAP_SHARED memory, as the launcher creates it, holding 10
// thousand, 1 million and 10 million names: lookup of a known name, insert of a new
// one (the range full, so each insert gives one name back), and the reverse (index →
// name). Flat cost across sizes is the point (issue 19).
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
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

// A table filled to its capacity with n names, built once per size and kept.
struct Filled {
    explicit Filled(uint32_t n) : s(n) {
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

Filled& filled(uint32_t n) {
    static std::map<uint32_t, std::unique_ptr<Filled>> tables;
    auto& f = tables[n];
    if (!f) f = std::make_unique<Filled>(n);
    return *f;
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

// A new name into the full table: the sweep gives one name back each time. Names go on
// counting up from the table's size, so each is new; the one given back was idle.
void BM_FakeDnsInsertNew(benchmark::State& state) {
    Filled& f = filled(static_cast<uint32_t>(state.range(0)));
    if (!f.ok) {
        state.SkipWithError("filling the table failed");
        return;
    }
    static std::map<int64_t, size_t> next_name;
    size_t& next = next_name[state.range(0)];
    if (next == 0) next = f.names.size();
    std::vector<std::string> fresh;
    fresh.reserve(1 << 16);
    for (size_t i = 0; i < (1 << 16); ++i) fresh.push_back(make_name(next + i));
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
    next += i;  // the table keeps its size; the names given back were the earliest ones
}
BENCHMARK(BM_FakeDnsInsertNew)->Arg(10000)->Arg(1000000)->Arg(10000000)->Iterations(50000);

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
