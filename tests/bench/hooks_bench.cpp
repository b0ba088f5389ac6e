// The unowned-fd fast path of the hooks next to the bare libc call, in one binary.
// The built library is dlopen'ed RTLD_LOCAL (so it interposes nothing here) and each
// hook is called through the pointer dlsym gives, exactly as the libc function is.
// Keep this binary single-threaded: after a process's first thread, glibc sends
// read/write through its cancellation-point path for good (~+22 ns a call here),
// which changes both variants and hides the difference.
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "shim/fd_table.hpp"

namespace {

enum class Variant : uint8_t { kBare, kHooked };

// The library under test, opened once. Its hooks find the real functions with
// dlsym(RTLD_NEXT): for an RTLD_LOCAL object glibc searches that object's own
// scope after it, which holds its only dependency, libc.so.6.
void* library(std::string& error) {
    static std::string open_error;
    static void* handle = [] {
        const char* path = getenv("SOCKSIFY_LIB");
        if (path == nullptr || *path == '\0') path = "build/lib/libsocksify.so";
        void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (h == nullptr) open_error = dlerror();
        return h;
    }();
    error = open_error;
    return handle;
}

// `name` as the program would call it (variant bare) or as the library's hook.
// Skips the benchmark when the hook is missing or is not the library's own.
template <typename Fn>
Fn resolve(benchmark::State& state, const char* name, Variant v) {
    void* bare = dlsym(RTLD_DEFAULT, name);
    if (bare == nullptr) {
        state.SkipWithError((std::string("libc has no ") + name).c_str());
        return nullptr;
    }
    if (v == Variant::kBare) return reinterpret_cast<Fn>(bare);
    std::string error;
    void* lib = library(error);
    if (lib == nullptr) {
        state.SkipWithError(
            ("libsocksify.so not loaded (make all; SOCKSIFY_LIB): " + error).c_str());
        return nullptr;
    }
    void* hook = dlsym(lib, name);
    Dl_info hook_info{};
    Dl_info bare_info{};
    if (hook == nullptr || dladdr(hook, &hook_info) == 0 || dladdr(bare, &bare_info) == 0 ||
        hook_info.dli_fbase == bare_info.dli_fbase) {
        state.SkipWithError((std::string("libsocksify.so exports no hook for ") + name).c_str());
        return nullptr;
    }
    return reinterpret_cast<Fn>(hook);
}

// The first call resolves the hook's real function; a failure there (ENOSYS) means
// RTLD_NEXT found nothing and the numbers would be meaningless.
bool warmed(benchmark::State& state, bool ok, const char* what) {
    if (!ok) state.SkipWithError((std::string(what) + " failed before the loop").c_str());
    return ok;
}

using WriteFn = ssize_t (*)(int, const void*, size_t);
using ReadFn = ssize_t (*)(int, void*, size_t);
using SendFn = ssize_t (*)(int, const void*, size_t, int);
using RecvFn = ssize_t (*)(int, void*, size_t, int);
using SendtoFn = ssize_t (*)(int, const void*, size_t, int, const sockaddr*, socklen_t);
using RecvfromFn = ssize_t (*)(int, void*, size_t, int, sockaddr*, socklen_t*);
using CloseFn = int (*)(int);
using DupFn = int (*)(int);

void BM_Write(benchmark::State& state, Variant v) {
    auto write_fn = resolve<WriteFn>(state, "write", v);
    if (write_fn == nullptr) return;
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    char byte = 'x';
    if (warmed(state, fd >= 0 && write_fn(fd, &byte, 1) == 1, "write to /dev/null")) {
        for (auto _ : state) {
            ssize_t n = write_fn(fd, &byte, 1);
            benchmark::DoNotOptimize(n);
        }
    }
    close(fd);
}
BENCHMARK_CAPTURE(BM_Write, bare, Variant::kBare);
BENCHMARK_CAPTURE(BM_Write, hooked, Variant::kHooked);

void BM_Read(benchmark::State& state, Variant v) {
    auto read_fn = resolve<ReadFn>(state, "read", v);
    if (read_fn == nullptr) return;
    int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    char byte = 'x';
    if (warmed(state, fd >= 0 && read_fn(fd, &byte, 1) == 1, "read from /dev/zero")) {
        for (auto _ : state) {
            ssize_t n = read_fn(fd, &byte, 1);
            benchmark::DoNotOptimize(n);
        }
    }
    close(fd);
}
BENCHMARK_CAPTURE(BM_Read, bare, Variant::kBare);
BENCHMARK_CAPTURE(BM_Read, hooked, Variant::kHooked);

// A datagram socketpair: each iteration sends one byte and receives it, so the
// socket never fills. Only the side named hooked goes through the library; the
// difference to "bare" is the cost of that one hook.
struct Pair {
    Pair() { ok = socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds) == 0; }
    ~Pair() {
        if (ok) {
            close(fds[0]);
            close(fds[1]);
        }
    }
    int fds[2] = {-1, -1};
    bool ok = false;
};

void BM_SendRecv(benchmark::State& state, Variant send_v, Variant recv_v) {
    auto send_fn = resolve<SendFn>(state, "send", send_v);
    auto recv_fn = resolve<RecvFn>(state, "recv", recv_v);
    if (send_fn == nullptr || recv_fn == nullptr) return;
    Pair p;
    char out = 'x';
    char in = 0;
    if (!warmed(state,
                p.ok && send_fn(p.fds[0], &out, 1, 0) == 1 && recv_fn(p.fds[1], &in, 1, 0) == 1,
                "send/recv on a socketpair"))
        return;
    for (auto _ : state) {
        ssize_t s = send_fn(p.fds[0], &out, 1, 0);
        ssize_t r = recv_fn(p.fds[1], &in, 1, 0);
        benchmark::DoNotOptimize(s);
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK_CAPTURE(BM_SendRecv, bare, Variant::kBare, Variant::kBare);
BENCHMARK_CAPTURE(BM_SendRecv, hooked_send, Variant::kHooked, Variant::kBare);
BENCHMARK_CAPTURE(BM_SendRecv, hooked_recv, Variant::kBare, Variant::kHooked);
BENCHMARK_CAPTURE(BM_SendRecv, hooked_both, Variant::kHooked, Variant::kHooked);

// sendto without an address and recvfrom without a source: what a program does on
// a connected datagram socket. A sendto with an address on an unowned fd leaves the
// fast path on purpose (the shim must look at the destination).
void BM_SendtoRecvfrom(benchmark::State& state, Variant send_v, Variant recv_v) {
    auto sendto_fn = resolve<SendtoFn>(state, "sendto", send_v);
    auto recvfrom_fn = resolve<RecvfromFn>(state, "recvfrom", recv_v);
    if (sendto_fn == nullptr || recvfrom_fn == nullptr) return;
    Pair p;
    char out = 'x';
    char in = 0;
    if (!warmed(state,
                p.ok && sendto_fn(p.fds[0], &out, 1, 0, nullptr, 0) == 1 &&
                    recvfrom_fn(p.fds[1], &in, 1, 0, nullptr, nullptr) == 1,
                "sendto/recvfrom on a socketpair"))
        return;
    for (auto _ : state) {
        ssize_t s = sendto_fn(p.fds[0], &out, 1, 0, nullptr, 0);
        ssize_t r = recvfrom_fn(p.fds[1], &in, 1, 0, nullptr, nullptr);
        benchmark::DoNotOptimize(s);
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK_CAPTURE(BM_SendtoRecvfrom, bare, Variant::kBare, Variant::kBare);
BENCHMARK_CAPTURE(BM_SendtoRecvfrom, hooked_sendto, Variant::kHooked, Variant::kBare);
BENCHMARK_CAPTURE(BM_SendtoRecvfrom, hooked_recvfrom, Variant::kBare, Variant::kHooked);
BENCHMARK_CAPTURE(BM_SendtoRecvfrom, hooked_both, Variant::kHooked, Variant::kHooked);

// close needs an fd to close: every variant pays the same dup first.
void BM_DupClose(benchmark::State& state, Variant dup_v, Variant close_v) {
    auto dup_fn = resolve<DupFn>(state, "dup", dup_v);
    auto close_fn = resolve<CloseFn>(state, "close", close_v);
    if (dup_fn == nullptr || close_fn == nullptr) return;
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (warmed(state, fd >= 0 && close_fn(dup_fn(fd)) == 0, "dup+close")) {
        for (auto _ : state) {
            int rc = close_fn(dup_fn(fd));
            benchmark::DoNotOptimize(rc);
        }
    }
    close(fd);
}
BENCHMARK_CAPTURE(BM_DupClose, bare, Variant::kBare, Variant::kBare);
BENCHMARK_CAPTURE(BM_DupClose, hooked_close, Variant::kBare, Variant::kHooked);
BENCHMARK_CAPTURE(BM_DupClose, hooked_both, Variant::kHooked, Variant::kHooked);

// poll and epoll_wait with no exchange in flight (issue 16): one load of the
// "any pending" counter, then the real call. A ready pipe: the call never sleeps.
using PollFn = int (*)(pollfd*, nfds_t, int);
using EpollWaitFn = int (*)(int, epoll_event*, int, int);

void BM_Poll(benchmark::State& state, Variant v) {
    auto poll_fn = resolve<PollFn>(state, "poll", v);
    if (poll_fn == nullptr) return;
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return;
    pollfd pfd{p[1], POLLOUT, 0};
    if (warmed(state, poll_fn(&pfd, 1, 0) == 1, "poll on a pipe")) {
        for (auto _ : state) {
            int n = poll_fn(&pfd, 1, 0);
            benchmark::DoNotOptimize(n);
        }
    }
    close(p[0]);
    close(p[1]);
}
BENCHMARK_CAPTURE(BM_Poll, bare, Variant::kBare);
BENCHMARK_CAPTURE(BM_Poll, hooked, Variant::kHooked);

void BM_EpollWait(benchmark::State& state, Variant v) {
    auto wait_fn = resolve<EpollWaitFn>(state, "epoll_wait", v);
    if (wait_fn == nullptr) return;
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.fd = p[1];
    epoll_event out[4];
    if (warmed(
            state,
            ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev) == 0 && wait_fn(ep, out, 4, 0) == 1,
            "epoll_wait on a pipe")) {
        for (auto _ : state) {
            int n = wait_fn(ep, out, 4, 0);
            benchmark::DoNotOptimize(n);
        }
    }
    close(ep);
    close(p[0]);
    close(p[1]);
}
BENCHMARK_CAPTURE(BM_EpollWait, bare, Variant::kBare);
BENCHMARK_CAPTURE(BM_EpollWait, hooked, Variant::kHooked);

// The fast-path test itself: one byte load from the fd table, over the fds a
// program typically has open (this binary's copy of the table; same inline code).
void BM_FdTableKindOf(benchmark::State& state) {
    int fd = 0;
    for (auto _ : state) {
        socksify::shim::FdKind k = socksify::shim::kind_of(fd);
        benchmark::DoNotOptimize(k);
        fd = (fd + 1) & 1023;
    }
}
BENCHMARK(BM_FdTableKindOf);

}  // namespace
