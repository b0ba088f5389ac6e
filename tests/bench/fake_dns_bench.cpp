// The fake-DNS table in MAP_SHARED memory, as the launcher creates it: insert of
// new names, lookup of a known name, and the reverse (index → name).
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <cstring>
#include <string>
#include <vector>

#include "shim/dns/fake_dns.hpp"

namespace socksify::shim {
namespace {

// A zeroed, pre-faulted table in shared anonymous memory.
class SharedTable {
  public:
    SharedTable() {
        void* p = mmap(nullptr, sizeof(FakeDnsTable), PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return;
        memset(p, 0, sizeof(FakeDnsTable));  // fault every page in outside the loop
        table_ = static_cast<FakeDnsTable*>(p);
        table_->capacity = kFakeDnsCapacity;
    }
    ~SharedTable() {
        if (table_ != nullptr) munmap(table_, sizeof(FakeDnsTable));
    }
    SharedTable(const SharedTable&) = delete;
    SharedTable& operator=(const SharedTable&) = delete;

    FakeDnsTable* get() const { return table_; }

    // Empties the table: a cleared hash index hides every entry, and an entry is
    // rewritten before it is published again, so the 34 MB of entries stay as they are.
    void reset() {
        memset(static_cast<void*>(table_->slots), 0, sizeof table_->slots);
        table_->next.store(0, std::memory_order_relaxed);
    }

  private:
    FakeDnsTable* table_ = nullptr;
};

// Names shaped like real ones: varied length, a few labels.
std::vector<std::string> make_names(size_t n) {
    static constexpr const char* kSuffixes[] = {".example.com", ".cdn.example.net",
                                                ".api.example.org", ".example"};
    std::vector<std::string> names;
    names.reserve(n);
    for (size_t i = 0; i < n; ++i) names.push_back("host-" + std::to_string(i) + kSuffixes[i % 4]);
    return names;
}

// Every iteration inserts a name the table has not seen; when the table is full
// (capacity names) it is reset (inside the loop: ~1 MiB memset per 131,072 inserts, well under 1 ns
// each) and the names are used again. The average covers load factors 0 to 0.5.
void BM_FakeDnsInsertNew(benchmark::State& state) {
    SharedTable s;
    if (s.get() == nullptr) {
        state.SkipWithError("mmap failed");
        return;
    }
    const std::vector<std::string> names = make_names(kFakeDnsCapacity);
    size_t next = 0;
    for (auto _ : state) {
        if (next == names.size()) [[unlikely]] {  // one name per entry: the table is full
            s.reset();
            next = 0;
        }
        uint32_t index = 0;
        InsertResult r = fake_dns_insert(*s.get(), names[next], index);
        if (r != InsertResult::kOk) [[unlikely]] {
            state.SkipWithError("insert failed before the table was full");
            break;
        }
        benchmark::DoNotOptimize(index);
        ++next;
    }
}
BENCHMARK(BM_FakeDnsInsertNew);

// Insert of a name already present: what every repeated getaddrinfo of one name costs.
void BM_FakeDnsInsertExisting(benchmark::State& state) {
    SharedTable s;
    if (s.get() == nullptr) {
        state.SkipWithError("mmap failed");
        return;
    }
    uint32_t index = 0;
    fake_dns_insert(*s.get(), "www.example.com", index);
    for (auto _ : state) {
        InsertResult r = fake_dns_insert(*s.get(), "www.example.com", index);
        benchmark::DoNotOptimize(r);
        benchmark::DoNotOptimize(index);
    }
}
BENCHMARK(BM_FakeDnsInsertExisting);

// One table holding 100,000 names, shared by the lookup benchmarks (built once).
// Lookups either repeat one known name (hot in cache) or walk all of them (the
// table is ~35 MB: mostly cache misses).
struct Filled {
    explicit Filled(size_t n) : names(make_names(n)) {
        if (s.get() == nullptr) return;
        for (const std::string& name : names) {
            uint32_t index = 0;
            if (fake_dns_insert(*s.get(), name, index) != InsertResult::kOk) return;
            indices.push_back(index);
        }
        ok = true;
    }
    SharedTable s;
    std::vector<std::string> names;
    std::vector<uint32_t> indices;
    bool ok = false;
};

const Filled& filled() {
    static const Filled f(100000);
    return f;
}

void BM_FakeDnsFindKnown(benchmark::State& state) {
    const Filled& f = filled();
    if (!f.ok) {
        state.SkipWithError("filling the table failed");
        return;
    }
    const std::string& name = f.names[f.names.size() / 2];
    for (auto _ : state) {
        uint32_t index = 0;
        bool found = fake_dns_find(*f.s.get(), name, index);
        benchmark::DoNotOptimize(found);
        benchmark::DoNotOptimize(index);
    }
}
BENCHMARK(BM_FakeDnsFindKnown);

void BM_FakeDnsFindAll(benchmark::State& state) {
    const Filled& f = filled();
    if (!f.ok) {
        state.SkipWithError("filling the table failed");
        return;
    }
    size_t i = 0;
    for (auto _ : state) {
        uint32_t index = 0;
        bool found = fake_dns_find(*f.s.get(), f.names[i], index);
        benchmark::DoNotOptimize(found);
        benchmark::DoNotOptimize(index);
        if (++i == f.names.size()) i = 0;
    }
}
BENCHMARK(BM_FakeDnsFindAll);

void BM_FakeDnsFindMissing(benchmark::State& state) {
    const Filled& f = filled();
    if (!f.ok) {
        state.SkipWithError("filling the table failed");
        return;
    }
    for (auto _ : state) {
        uint32_t index = 0;
        bool found = fake_dns_find(*f.s.get(), "not-there.example.com", index);
        benchmark::DoNotOptimize(found);
        benchmark::DoNotOptimize(index);
    }
}
BENCHMARK(BM_FakeDnsFindMissing);

// Reverse: the fake address a program connects to, back to its name.
void BM_FakeDnsName(benchmark::State& state) {
    const Filled& f = filled();
    if (!f.ok) {
        state.SkipWithError("filling the table failed");
        return;
    }
    size_t i = 0;
    for (auto _ : state) {
        std::string_view name = fake_dns_name(*f.s.get(), f.indices[i]);
        benchmark::DoNotOptimize(name);
        if (++i == f.indices.size()) i = 0;
    }
}
BENCHMARK(BM_FakeDnsName);

}  // namespace
}  // namespace socksify::shim
