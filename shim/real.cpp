// Lazily resolved real libc functions: dlsym(RTLD_NEXT) once per symbol, stored in
// an atomic pointer, and checked not to be our own hook (a self-reference would
// recurse forever; rofl0r/proxychains-ng load_sym does the same check).
#include "shim/real.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <type_traits>

namespace socksify::shim::real {
namespace {

// Our own loaded segments, found once: a symbol inside them is one of our hooks.
struct Range {
    uintptr_t begin = 0;
    uintptr_t end = 0;
};

int find_self(dl_phdr_info* info, size_t, void* data) {
    auto* r = static_cast<Range*>(data);
    if (info->dlpi_addr != r->begin) return 0;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const auto& ph = info->dlpi_phdr[i];
        if (ph.p_type != PT_LOAD) continue;
        lo = std::min<uintptr_t>(lo, info->dlpi_addr + ph.p_vaddr);
        hi = std::max<uintptr_t>(hi, info->dlpi_addr + ph.p_vaddr + ph.p_memsz);
    }
    r->begin = lo;
    r->end = hi;
    return 1;
}

Range self_range() {
    // Computed on first use and cached; racing threads compute the same value. (dladdr
    // per symbol cost ~1 M instructions per process.)
    static constinit std::atomic<uintptr_t> begin{0}, end{0};
    if (uintptr_t b = begin.load(std::memory_order_acquire)) return {b, end.load()};
    Range r;
    Dl_info mine{};
    if (dladdr(reinterpret_cast<void*>(&find_self), &mine) == 0) return r;
    r.begin = reinterpret_cast<uintptr_t>(mine.dli_fbase);
    if (dl_iterate_phdr(find_self, &r) == 0) r.end = r.begin;  // not found: empty range
    end.store(r.end, std::memory_order_relaxed);
    begin.store(r.begin, std::memory_order_release);
    return r;
}

void* resolve(const char* name) {
    void* next = dlsym(RTLD_NEXT, name);
    Range self = self_range();
    auto at = reinterpret_cast<uintptr_t>(next);
    if (next != nullptr && at >= self.begin && at < self.end) return nullptr;
    return next;
}

template <typename Fn>
Fn load(std::atomic<Fn>& slot, const char* name) {
    Fn fn = slot.load(std::memory_order_acquire);
    if (fn == nullptr) [[unlikely]] {
        fn = reinterpret_cast<Fn>(resolve(name));
        slot.store(fn, std::memory_order_release);
    }
    return fn;
}

// The result a missing function reports: -1 / ENOSYS, or nothing for void.
template <typename Ret>
Ret missing() {
    errno = ENOSYS;
    if constexpr (std::is_same_v<Ret, void>) {
        return;
    } else if constexpr (std::is_pointer_v<Ret>) {
        return nullptr;
    } else {
        return static_cast<Ret>(-1);
    }
}

}  // namespace

#define SOCKSIFY_DEFINE_REAL(name, ret, params, args) \
    ret detail::slow_##name params {                  \
        auto fn = load(slot_##name, #name);           \
        if (fn == nullptr) return missing<ret>();     \
        return fn args;                               \
    }
SOCKSIFY_REAL_FUNCTIONS(SOCKSIFY_DEFINE_REAL)
#undef SOCKSIFY_DEFINE_REAL

int fcntl(int fd, int cmd, long arg) {
    using Fn = int (*)(int, int, ...);
    constinit static std::atomic<Fn> slot{nullptr};
    Fn fn = load(slot, "fcntl");
    if (fn == nullptr) [[unlikely]]
        return missing<int>();
    return fn(fd, cmd, arg);
}

}  // namespace socksify::shim::real

namespace socksify::shim::real {

long syscall(long number, long a, long b, long c, long d, long e, long f) {
    using Fn = long (*)(long, ...);
    constinit static std::atomic<Fn> slot{nullptr};
    Fn fn = load(slot, "syscall");
    if (fn == nullptr) [[unlikely]]
        return missing<long>();
    return fn(number, a, b, c, d, e, f);
}

}  // namespace socksify::shim::real
