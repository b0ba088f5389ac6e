// Per-fd state of the sockets the shim owns. The fast path of every hook is one
// byte load from kind_of(fd) (DESIGN.md, Fast path); details live in records
// allocated on first use.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>

namespace socksify::shim {

enum class FdKind : uint8_t {
    kNone = 0,        // not ours: every hook passes through
    kTcpProxied = 1,  // connected through the proxy; getpeername answers from the record
};

// Covers the kernel's default fs.nr_open (1 << 20). Larger fds are never owned; a
// connect on one is still proxied, only getpeername then reports the proxy.
inline constexpr int kMaxFds = 1 << 20;

struct FdRecord {
    sockaddr_storage peer;  // what the program asked to connect to
    socklen_t peer_len;
};

namespace detail {
extern std::atomic<uint8_t> g_fd_kind[kMaxFds];
}

inline FdKind kind_of(int fd) {
    if (static_cast<unsigned>(fd) >= static_cast<unsigned>(kMaxFds)) return FdKind::kNone;
    return static_cast<FdKind>(detail::g_fd_kind[fd].load(std::memory_order_acquire));
}

// The record of fd, allocated on demand; nullptr if fd is out of range or memory is
// exhausted. Write it before publish(), read it after kind_of() said it is owned.
FdRecord* fd_record(int fd);

// Publishes fd as owned (kind != kNone) or releases it (kNone).
void set_kind(int fd, FdKind kind);

// Copies the state of from onto to (dup2 semantics); clears to if from is not owned.
void copy_fd_state(int from, int to);

// Releases every owned fd in [first, last].
void clear_range(unsigned first, unsigned last);

}  // namespace socksify::shim
