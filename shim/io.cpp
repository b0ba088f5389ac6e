// Deadline-bound socket I/O for the handshake driver.
#include "shim/io.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <time.h>

#include <cerrno>
#include <cstring>

#include "shim/real.hpp"

namespace socksify::shim {

bool read_full(int fd, void* buf, size_t n) {
    auto* p = static_cast<char*>(buf);
    while (n > 0) {
        ssize_t r = real::read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p += r;
        n -= static_cast<size_t>(r);
    }
    return true;
}

int64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

Deadline Deadline::after_ms(int ms) {
    Deadline d;
    d.end_ns_ = monotonic_ns() + static_cast<int64_t>(ms) * 1000000;
    return d;
}

int Deadline::remaining_ms() const {
    int64_t left = end_ns_ - monotonic_ns();
    if (left <= 0) return 0;
    return static_cast<int>((left + 999999) / 1000000);
}

int wait_for(int fd, short events, const Deadline& deadline, short* revents) {
    for (;;) {
        int ms = deadline.remaining_ms();
        if (ms == 0) return ETIMEDOUT;
        pollfd p{fd, events, 0};
        int n = real::poll(&p, 1, ms);
        if (n > 0) {  // readiness or an error condition: the next call reports it
            if (revents != nullptr) *revents = p.revents;
            return 0;
        }
        if (n == 0) continue;  // re-check against the clock
        if (errno != EINTR) return errno;
    }
}

// Whether fd's peer is a (same family, address and port).
bool peer_is(int fd, const sockaddr* a) {
    sockaddr_storage peer{};
    socklen_t n = sizeof peer;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &n) != 0) return false;
    if (peer.ss_family != a->sa_family) return false;
    if (a->sa_family == AF_INET) {
        const auto& x = reinterpret_cast<const sockaddr_in&>(peer);
        const auto* y = reinterpret_cast<const sockaddr_in*>(a);
        return x.sin_port == y->sin_port && x.sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const auto& x = reinterpret_cast<const sockaddr_in6&>(peer);
    const auto* y = reinterpret_cast<const sockaddr_in6*>(a);
    return x.sin6_port == y->sin6_port &&
           std::memcmp(&x.sin6_addr, &y->sin6_addr, sizeof x.sin6_addr) == 0;
}

int connect_until(int fd, const sockaddr* a, socklen_t len, const Deadline& deadline) {
    int rc;
    bool interrupted = false;
    for (;;) {
        rc = real::connect(fd, a, len);
        if (rc == 0 || errno != EINTR || deadline.passed()) break;
        interrupted = true;
    }
    // A 0 at once can also be the kernel finishing the program's own earlier
    // non-blocking connect (whatever address is passed): then the peer is not a.
    if (rc == 0) return interrupted || peer_is(fd, a) ? 0 : EISCONN;
    // Before any connect of ours, EISCONN and EALREADY describe the program's own
    // connection (made directly, or still in progress): not ours to touch. After an
    // interrupted one they describe ours.
    if (errno == EISCONN) return interrupted ? 0 : EISCONN;
    if (errno == EALREADY && !interrupted) return EALREADY;
    // EINTR from a connect in progress continues in the background, like EINPROGRESS.
    if (errno != EINPROGRESS && errno != EINTR && errno != EALREADY) return errno;
    short revents = 0;
    if (int err = wait_for(fd, POLLOUT, deadline, &revents)) return err;
    // A failed connect sets the socket's error, which poll reports as POLLERR (Linux
    // tcp_poll); only then is SO_ERROR worth a call.
    if ((revents & (POLLERR | POLLHUP | POLLNVAL)) == 0) return 0;
    int so_error = 0;
    socklen_t n = sizeof so_error;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &n) != 0) return errno;
    return so_error;
}

int send_all(int fd, std::span<const uint8_t> bytes, const Deadline& deadline) {
    size_t sent = 0;
    while (sent < bytes.size()) {
        ssize_t n = real::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<size_t>(n);
        } else if (n < 0 && errno == EINTR) {
            if (deadline.passed()) return ETIMEDOUT;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (int err = wait_for(fd, POLLOUT, deadline)) return err;
        } else {
            return n < 0 ? errno : ECONNABORTED;
        }
    }
    return 0;
}

int recv_exact(int fd, std::span<uint8_t> buf, size_t& got, const Deadline& deadline) {
    got = 0;
    while (got < buf.size()) {
        ssize_t n = real::recv(fd, buf.data() + got, buf.size() - got, 0);
        if (n > 0) {
            got += static_cast<size_t>(n);
        } else if (n == 0) {
            return ECONNABORTED;  // the proxy closed mid-exchange
        } else if (errno == EINTR) {
            if (deadline.passed()) return ETIMEDOUT;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (int err = wait_for(fd, POLLIN, deadline)) return err;
        } else {
            return errno;
        }
    }
    return 0;
}

}  // namespace socksify::shim
