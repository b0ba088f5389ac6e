// Lazily resolved real libc functions: dlsym(RTLD_NEXT) once per symbol, stored in
// an atomic pointer, and checked not to be our own hook (a self-reference would
// recurse forever; rofl0r/proxychains-ng load_sym does the same check).
#include "shim/real.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <type_traits>

namespace socksify::shim::real {
namespace {

void* resolve(const char* name) {
    void* next = dlsym(RTLD_NEXT, name);
    Dl_info found{};
    Dl_info mine{};
    if (next != nullptr && dladdr(next, &found) != 0 &&
        dladdr(reinterpret_cast<void*>(&resolve), &mine) != 0 &&
        found.dli_fbase == mine.dli_fbase) {
        return nullptr;
    }
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

#define SOCKSIFY_DEFINE_REAL(name, ret, params, args)                          \
    ret detail::slow_##name params {                                           \
        auto fn = load(slot_##name, #name);                                    \
        if (fn == nullptr) return missing<ret>();                              \
        return fn args;                                                        \
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
