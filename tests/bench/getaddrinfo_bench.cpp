// getaddrinfo under the shim: a new name (one insert into the shared table) and a
// known name, next to the real getaddrinfo of a numeric host in the same binary.
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <netdb.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "shim/shared_state.hpp"

namespace {

using GetaddrinfoFn = int (*)(const char*, const char*, const addrinfo*, addrinfo**);
using FreeaddrinfoFn = void (*)(addrinfo*);

struct Hooked {
    GetaddrinfoFn getaddrinfo = nullptr;
    FreeaddrinfoFn freeaddrinfo = nullptr;
};

// Configures the library through the environment before anything initialises it,
// then takes its getaddrinfo from the dlopen handle.
const Hooked& hooked() {
    static Hooked h = [] {
        Hooked out;
        // No SOCKSIFY_SHM: the library creates the run's state itself (a memfd).
        unsetenv("SOCKSIFY_SHM");
        setenv("SOCKSIFY_PROXY", "socks5h://198.51.100.1:1080", 1);
        setenv("SOCKSIFY_LOG", "quiet", 1);
        const char* lib = getenv("SOCKSIFY_LIB");
        void* handle =
            dlopen(lib != nullptr ? lib : "build/lib/libsocksify.so", RTLD_NOW | RTLD_LOCAL);
        if (handle != nullptr) {
            out.getaddrinfo = reinterpret_cast<GetaddrinfoFn>(dlsym(handle, "getaddrinfo"));
            out.freeaddrinfo = reinterpret_cast<FreeaddrinfoFn>(dlsym(handle, "freeaddrinfo"));
        }
        return out;
    }();
    return h;
}

addrinfo stream_hints() {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    return hints;
}

void BM_RealGetaddrinfoNumeric(benchmark::State& state) {
    addrinfo hints = stream_hints();
    for (auto _ : state) {
        addrinfo* res = nullptr;
        benchmark::DoNotOptimize(getaddrinfo("203.0.113.10", "80", &hints, &res));
        freeaddrinfo(res);
    }
}
BENCHMARK(BM_RealGetaddrinfoNumeric);

void BM_ShimGetaddrinfoKnownName(benchmark::State& state) {
    const Hooked& h = hooked();
    if (h.getaddrinfo == nullptr) return state.SkipWithError("library not found");
    addrinfo hints = stream_hints();
    for (auto _ : state) {
        addrinfo* res = nullptr;
        benchmark::DoNotOptimize(h.getaddrinfo("known.bench.test", "80", &hints, &res));
        h.freeaddrinfo(res);
    }
}
BENCHMARK(BM_ShimGetaddrinfoKnownName);

void BM_ShimGetaddrinfoNewName(benchmark::State& state) {
    const Hooked& h = hooked();
    if (h.getaddrinfo == nullptr) return state.SkipWithError("library not found");
    addrinfo hints = stream_hints();
    static int next = 0;  // names stay new across repetitions; the table holds 131,070
    char name[64];
    for (auto _ : state) {
        snprintf(name, sizeof name, "n%d.bench.test", next++);
        addrinfo* res = nullptr;
        benchmark::DoNotOptimize(h.getaddrinfo(name, "80", &hints, &res));
        h.freeaddrinfo(res);
    }
}
// Bounded so every repetition still finds room in the table.
BENCHMARK(BM_ShimGetaddrinfoNewName)->Iterations(10000);

}  // namespace
