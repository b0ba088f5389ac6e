// Blocking I/O under one deadline on the monotonic clock, over a socket the caller
// has made non-blocking. Every function returns 0 or an errno value and never
// writes errno for the caller (docs/ARCHITECTURE.md, Hooks and real functions).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <span>

namespace socksify::shim {

class Deadline {
  public:
    static Deadline after_ms(int ms);
    Deadline earlier(const Deadline& other) const {
        return end_ns_ < other.end_ns_ ? *this : other;
    }
    int remaining_ms() const;  // 0 once passed; rounded up
    bool passed() const { return remaining_ms() == 0; }

  private:
    int64_t end_ns_ = 0;
};

int64_t monotonic_ns();

// Reads exactly n bytes from a blocking fd (EINTR retried); false at EOF or an error.
// For the launcher's local pipes and sockets, which need no deadline.
bool read_full(int fd, void* buf, size_t n);

// poll for events until the deadline; EINTR recomputes the time left. revents, if
// given, gets what poll reported.
int wait_for(int fd, short events, const Deadline& deadline, short* revents = nullptr);

// Whether fd's peer is a (same family, address and port).
bool peer_is(int fd, const sockaddr* a);

// connect that waits for completion (EINPROGRESS → poll, → SO_ERROR only when poll
// reports an error or hang-up: writable without either is connected). EISCONN or
// EALREADY from the first call (the socket was already connected or connecting) is
// returned as it is.
int connect_until(int fd, const sockaddr* a, socklen_t len, const Deadline& deadline);

// Sends every byte (MSG_NOSIGNAL: a vanished proxy is an errno, not SIGPIPE).
int send_all(int fd, std::span<const uint8_t> bytes, const Deadline& deadline);

// Reads exactly buf.size() bytes; got says how many arrived. EOF → ECONNABORTED.
int recv_exact(int fd, std::span<uint8_t> buf, size_t& got, const Deadline& deadline);

}  // namespace socksify::shim
