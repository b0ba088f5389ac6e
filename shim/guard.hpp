// Per-thread "inside the shim" flag: while set, every hook passes straight to libc,
// so the shim's own libc calls never re-enter it (wolfcw/libfaketime dont_fake).
#pragma once

namespace socksify::shim {

inline thread_local bool t_inside_shim = false;  // initial-exec TLS via -ftls-model

inline bool inside_shim() { return t_inside_shim; }

// Sets the flag for a scope and restores the previous value (nested scopes nest).
class ShimScope {
  public:
    ShimScope() : saved_(t_inside_shim) { t_inside_shim = true; }
    ~ShimScope() { t_inside_shim = saved_; }
    ShimScope(const ShimScope&) = delete;
    ShimScope& operator=(const ShimScope&) = delete;

  private:
    bool saved_;
};

}  // namespace socksify::shim
