// What the poll and epoll_wait hooks add to a call on fds socksify does not own
// (issue 16: "a few nanoseconds"). On this kind of machine a system call costs about
// a microsecond and varies by more than the hook costs, so both variants call a floor
// that returns at once (tests/bench/wait_floor.c): "floor" calls it directly, "hooked"
// calls the library's exported hook, which finds the floor as its real function.
// The difference of the two medians is the hook's own cost.
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <poll.h>
#include <sys/epoll.h>

#include <cstdlib>
#include <string>

namespace {

// build/bench/libhooks_over_floor.so needs libsocksify.so, then libwait_floor.so: for
// a library opened RTLD_LOCAL, glibc's RTLD_NEXT searches the opener's local scope
// after the library, which finds the floor before libc.
void* scope(std::string& error) {
    static std::string open_error;
    static void* handle = [] {
        const char* path = getenv("SOCKSIFY_FLOOR_SCOPE");
        if (path == nullptr || *path == '\0') path = "build/bench/libhooks_over_floor.so";
        void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (h == nullptr) open_error = dlerror();
        return h;
    }();
    error = open_error;
    return handle;
}

enum class Variant : uint8_t { kFloor, kHooked };
constexpr int kFloorAnswer = 4242;  // tests/bench/wait_floor.c

template <typename Fn>
Fn resolve(benchmark::State& state, const char* name, Variant v) {
    std::string error;
    void* h = scope(error);
    if (h == nullptr) {
        state.SkipWithError(("cannot open the floor scope (make bench): " + error).c_str());
        return nullptr;
    }
    void* floor = dlsym(h, (std::string("floor_") + name).c_str());
    void* hook = dlsym(h, name);  // the first in the scope's order: the library's hook
    Dl_info hook_info{};
    if (hook == nullptr || dladdr(hook, &hook_info) == 0 || hook_info.dli_fname == nullptr ||
        std::string(hook_info.dli_fname).find("libsocksify") == std::string::npos) {
        state.SkipWithError(
            (std::string("the scope's ") + name + " is not the library's hook").c_str());
        return nullptr;
    }
    return reinterpret_cast<Fn>(v == Variant::kFloor ? floor : hook);
}

using PollFn = int (*)(pollfd*, nfds_t, int);
using EpollWaitFn = int (*)(int, epoll_event*, int, int);

void BM_PollAdded(benchmark::State& state, Variant v) {
    auto fn = resolve<PollFn>(state, "poll", v);
    if (fn == nullptr) return;
    pollfd pfd{1, POLLOUT, 0};
    if (fn(&pfd, 1, 0) != kFloorAnswer) {
        state.SkipWithError("the hook did not reach the floor");
        return;
    }
    for (auto _ : state) {
        int n = fn(&pfd, 1, 0);
        benchmark::DoNotOptimize(n);
    }
}
BENCHMARK_CAPTURE(BM_PollAdded, floor, Variant::kFloor);
BENCHMARK_CAPTURE(BM_PollAdded, hooked, Variant::kHooked);

void BM_EpollWaitAdded(benchmark::State& state, Variant v) {
    auto fn = resolve<EpollWaitFn>(state, "epoll_wait", v);
    if (fn == nullptr) return;
    epoll_event out[4];
    if (fn(-1, out, 4, 0) != kFloorAnswer) {
        state.SkipWithError("the hook did not reach the floor");
        return;
    }
    for (auto _ : state) {
        int n = fn(-1, out, 4, 0);
        benchmark::DoNotOptimize(n);
    }
}
BENCHMARK_CAPTURE(BM_EpollWaitAdded, floor, Variant::kFloor);
BENCHMARK_CAPTURE(BM_EpollWaitAdded, hooked, Variant::kHooked);

}  // namespace
