// Non-blocking connects through the proxy: connect() returns EINPROGRESS and the
// SOCKS exchange (shim/proxy/handshake.hpp, Handshake) advances inside the program's own
// readiness calls (shim/hooks/wait.cpp). The program's socket is reported ready only
// once the exchange is over; SO_ERROR then says how it ended.
#pragma once

#include <sys/epoll.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <string_view>

#include "shim/settings/config.hpp"

namespace socksify::shim {

namespace detail {
extern std::atomic<int> g_pending;  // exchanges in flight: 0 keeps every wait hook on its fast path
}

inline bool any_pending() { return detail::g_pending.load(std::memory_order_relaxed) != 0; }

inline constexpr int kNoPending = -1;

// Exchanges in flight at once; further non-blocking connects run blocking.
inline constexpr int kPendingSlots = 256;

// For a non-blocking fd: starts the connect to the proxy and records the exchange.
// Returns EINPROGRESS, an errno (nothing recorded), or kNoPending (fd is blocking, or
// no slot is free: the caller runs the blocking exchange).
// The supervisor (in the launcher) runs the TCP path on a program's socket it holds
// itself: no readiness hook of the program will ever advance an exchange there, so it
// turns the non-blocking path off for its process and every exchange runs to its end.
void disable_pending();

// route: the destination's route (find_route), or nullptr for the proxy or chain.
int start_pending(int fd, const sockaddr* dest, socklen_t dest_len, std::string_view name,
                  const Config& cfg, const RouteSpec* route, int64_t start_ns);

// Advances fd's exchange without blocking; finishes it at its deadline (ETIMEDOUT).
// Returns the poll events it waits for, or 0 if fd has no exchange in flight now.
// ms_left: lowered to the time until the exchange's deadline. ready: the events a wait
// just reported for fd (0: unknown).
short advance_pending(int fd, int& ms_left, short ready = 0);

// Forgets fd's exchange (close, dup2 over it): nothing more is sent for it.
void discard_pending(int fd);

// epoll_ctl on a pending fd: keeps the program's registration (events, data) in the
// exchange and registers what the exchange waits for instead. Returns the result of
// the call as epoll_ctl would (0 or -1 with errno), handled = false if fd is not pending.
int pending_epoll_ctl(int epfd, int op, int fd, epoll_event* ev, bool& handled);

// The program made epoll set ep: a socket it registers there before connecting is
// found there when its connect goes through the proxy (epoll_ctl, then connect).
void note_epoll_set(int ep);

// Ends every exchange past its deadline; returns the ms until the next deadline
// (-1: none in flight).
int pending_soonest_ms();

// Data of an epoll event that stands for pending fd (the program's own data is kept
// in the exchange). User-space pointers never have these high bits.
inline constexpr uint64_t kEpollTag = 0xfffe5c5f00000000ull;
inline bool is_epoll_tag(uint64_t u) { return (u & 0xffffffff00000000ull) == kEpollTag; }

}  // namespace socksify::shim
