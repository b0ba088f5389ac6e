// Per-fd state of the sockets the shim owns. The fast path of every hook is one
// byte load from kind_of(fd) (docs/ARCHITECTURE.md, Fast path); details live in records
// allocated on first use.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>

#include "shim/address_form.hpp"

namespace socksify::shim {

enum class FdKind : uint8_t {
    kNone = 0,        // not ours: every hook passes through
    kTcpProxied = 1,  // connected through the proxy; getpeername answers from the record
    kUdp = 2,         // an AF_INET/AF_INET6 datagram socket; may hold an association
    kControl = 3,     // the shim's own UDP ASSOCIATE control connection: hidden
    kHidden = 4,      // another fd of the shim's own (the audit log): hidden
    kDnsStream = 5,   // TCP to a nameserver, answered by the shim (dns_intercept.hpp)
    kTcpPending = 6,  // a non-blocking connect whose SOCKS exchange is still running
    kTcpFailed = 7,   // that exchange failed: SO_ERROR reports it (aux), the socket is shut
};

// Sockets still connecting to their destination through the proxy, as the program sees it.
inline bool is_pending(FdKind k) { return k == FdKind::kTcpPending || k == FdKind::kTcpFailed; }

// The hooks on the data path (read, write, send, recv, …) only care about kUdp.
inline bool is_udp(FdKind k) { return k == FdKind::kUdp; }

// The shim's own fds: to the program they are not open (close, dup, fcntl(F_DUPFD*)
// fail with EBADF; close_range and closefrom skip them).
inline bool is_hidden(FdKind k) { return k == FdKind::kControl || k == FdKind::kHidden; }

// Covers the kernel's default fs.nr_open (1 << 20). Larger fds are never owned; a
// connect on one is still proxied, only getpeername then reports the proxy.
inline constexpr int kMaxFds = 1 << 20;

// A UDP association, shared by every fd that dup() made of one socket.
struct UdpState {
    std::atomic<uint32_t> busy;  // spin lock around opening/closing the association
    int control_fd;              // -1: no association
    sockaddr_storage relay;      // in the socket's own family (v4-mapped if needed)
    socklen_t relay_len;
    bool connected;          // connect()ed to a proxied destination (peer)
    uint16_t expect_header;  // header size of the last datagram sent: receive layout
    uint8_t upstream;        // what carries the association: 0 proxy or chain, 1 + route index
    uint8_t path_len;        // a chain's hops, in order (Config::hops indices): audit log
    uint8_t path[8];
    int64_t checked_ns;  // when the control connection was last seen alive
    // Audit log only: the association's start while no record names it yet (0: none),
    // and hashes of the last destinations recorded on it (0: empty slot).
    std::atomic<int64_t> opened_ns;
    std::atomic<uint64_t> audited[4];
    std::atomic<uint8_t> audited_next;
};

struct FdRecord {
    sockaddr_storage peer;  // what the program asked to connect to
    socklen_t peer_len;
    int domain;  // the socket's family (AF_INET/AF_INET6)
    // The kernel object the record describes (fstat): a close the shim cannot see
    // (fclose(fdopen(fd)), a close inside libc) leaves the record behind while the
    // number is given to something else.
    dev_t dev;
    ino_t ino;
    // The socket's domain and protocol as the socket() hook made it: the connect hook
    // routes without asking the kernel (getsockopt) while dev/ino still name that
    // socket. domain AF_UNSPEC: not known.
    SocketShape shape;
    UdpState udp;
    std::atomic<uint32_t> refs;  // kControl: how many fds share this association
    int aux;  // kTcpPending: its slot (shim/proxy/pending.hpp); kTcpFailed: errno
    // The fake-DNS pin the open connection to peer holds (names.hpp fake_pin); 0: none.
    uint32_t fake_pin;
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

// fd's record if one was ever made, without making one (no system call); nullptr
// otherwise. Its contents may describe an earlier object: check with same_object.
FdRecord* existing_record(int fd);

// Stores the identity of the object fd names now in rec (when the record is made,
// and after the socket under fd was replaced). rec.shape is kept only when fd still
// names the object it was recorded for.
void remember_object(int fd, FdRecord& rec);

// The identity of fd's object is no longer known (the socket under fd was replaced):
// same_object fails until remember_object runs again. No system call.
void forget_object(int fd);

// For the socket() hook: records the shape and identity of fd, a socket it just made
// with these arguments (one fstat; none when fd was adopted as kUdp just now, which
// took the identity). Only AF_INET/AF_INET6 sockets are recorded.
void remember_new_socket(int fd, int domain, int type, int protocol);

// What the record tells of fd without asking the kernel about its shape: true with
// out = the shape the socket() hook recorded, when the record still names fd's
// socket (checked with one fstat unless checked is set: the caller's live_kind did).
// fresh: the record's identity names fd's socket now (remember_object not needed).
bool recorded_shape(int fd, bool checked, SocketShape& out, bool& fresh);

// True while fd still names the object rec was made for.
bool same_object(int fd, const FdRecord& rec);

// Publishes fd as owned (kind != kNone) or releases it (kNone).
void set_kind(int fd, FdKind kind);

// Copies the state of from onto to (dup2 semantics); clears to if from is not owned.
void copy_fd_state(int from, int to);

// Releases every owned fd in [first, last].
void clear_range(unsigned first, unsigned last);

// The lowest fd number the shim moves its own fds to (UDP control connections, the
// audit log): out of the way of programs that take the lowest free number, and of
// select()'s FD_SETSIZE.
int high_fd_floor();

}  // namespace socksify::shim
