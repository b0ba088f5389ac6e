// The fd table: a byte per fd in .bss (untouched pages cost no memory) and records
// in chunks mapped with mmap on first use, so no hook path calls malloc.
#include "shim/fd_table.hpp"

#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cerrno>
#include <iterator>

namespace socksify::shim {
namespace detail {
constinit std::atomic<uint8_t> g_fd_kind[kMaxFds]{};
}

namespace {

constexpr int kChunkShift = 10;
constexpr int kChunkSize = 1 << kChunkShift;
constexpr int kChunks = kMaxFds / kChunkSize;

constinit std::atomic<FdRecord*> g_chunks[kChunks]{};

// The shape a successful socket(domain, type, protocol) gives, as socket_shape reads
// it back from the kernel: protocol 0 is TCP for a stream and UDP for a datagram
// socket; any other type or protocol (SCTP, ICMP, raw, ...) is kOther.
SocketShape shape_of(int domain, int type, int protocol) {
    SocketShape s;
    s.domain = domain;
    int base = type & 0xf;  // SOCK_TYPE_MASK: without SOCK_NONBLOCK and SOCK_CLOEXEC
    if (base == SOCK_STREAM &&
        (protocol == 0 || protocol == IPPROTO_TCP || protocol == IPPROTO_MPTCP))
        s.proto = Proto::kTcp;
    else if (base == SOCK_DGRAM &&
             (protocol == 0 || protocol == IPPROTO_UDP || protocol == IPPROTO_UDPLITE))
        s.proto = Proto::kUdp;
    return s;
}

}  // namespace

FdRecord* fd_record(int fd) {
    if (static_cast<unsigned>(fd) >= static_cast<unsigned>(kMaxFds)) return nullptr;
    std::atomic<FdRecord*>& slot = g_chunks[fd >> kChunkShift];
    FdRecord* chunk = slot.load(std::memory_order_acquire);
    if (chunk == nullptr) {
        void* p = mmap(nullptr, sizeof(FdRecord) * kChunkSize, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return nullptr;
        FdRecord* fresh = static_cast<FdRecord*>(p);
        if (slot.compare_exchange_strong(chunk, fresh, std::memory_order_acq_rel)) {
            chunk = fresh;
        } else {
            munmap(p, sizeof(FdRecord) * kChunkSize);  // another thread won
        }
    }
    return &chunk[fd & (kChunkSize - 1)];
}

FdRecord* existing_record(int fd) {
    if (static_cast<unsigned>(fd) >= static_cast<unsigned>(kMaxFds)) return nullptr;
    FdRecord* chunk = g_chunks[fd >> kChunkShift].load(std::memory_order_acquire);
    return chunk != nullptr ? &chunk[fd & (kChunkSize - 1)] : nullptr;
}

void remember_object(int fd, FdRecord& rec) {
    int saved = errno;
    struct stat st;
    if (fstat(fd, &st) != 0) st.st_dev = st.st_ino = 0;  // then never the same again
    // The shape describes one object: a record remade for another one forgets it.
    if (st.st_ino == 0 || st.st_ino != rec.ino || st.st_dev != rec.dev) rec.shape = SocketShape{};
    rec.dev = st.st_dev;
    rec.ino = st.st_ino;
    errno = saved;
}

void forget_object(int fd) {
    if (FdRecord* rec = existing_record(fd)) {
        rec->dev = 0;
        rec->ino = 0;
        rec->shape = SocketShape{};
    }
}

void remember_new_socket(int fd, int domain, int type, int protocol) {
    if (domain != AF_INET && domain != AF_INET6) return;
    FdRecord* rec = fd_record(fd);
    if (rec == nullptr) return;
    // A datagram socket the hook adopted has its identity taken already.
    if (kind_of(fd) != FdKind::kUdp) remember_object(fd, *rec);
    rec->shape = shape_of(domain, type, protocol);
}

bool recorded_shape(int fd, bool checked, SocketShape& out, bool& fresh) {
    fresh = checked;
    FdRecord* rec = existing_record(fd);
    if (rec == nullptr || rec->shape.domain == AF_UNSPEC) return false;
    if (!fresh) fresh = same_object(fd, *rec);
    if (!fresh) return false;
    out = rec->shape;
    return true;
}

bool same_object(int fd, const FdRecord& rec) {
    int saved = errno;
    struct stat st;
    bool same = fstat(fd, &st) == 0 && st.st_ino == rec.ino && st.st_dev == rec.dev && rec.ino != 0;
    errno = saved;
    return same;
}

void set_kind(int fd, FdKind kind) {
    if (static_cast<unsigned>(fd) >= static_cast<unsigned>(kMaxFds)) return;
    detail::g_fd_kind[fd].store(static_cast<uint8_t>(kind), std::memory_order_release);
}

void copy_fd_state(int from, int to) {
    if (from == to) return;
    FdKind kind = kind_of(from);
    // A pending exchange belongs to the fd that started it; a copy is a plain socket.
    if (kind == FdKind::kNone || is_pending(kind)) {
        set_kind(to, FdKind::kNone);
        return;
    }
    FdRecord* src = fd_record(from);
    FdRecord* dst = fd_record(to);
    if (src == nullptr || dst == nullptr) {
        set_kind(to, FdKind::kNone);
        return;
    }
    // Field by field: the record holds atomics.
    dst->peer = src->peer;
    dst->peer_len = src->peer_len;
    dst->domain = src->domain;
    dst->dev = src->dev;
    dst->ino = src->ino;
    dst->shape = src->shape;
    dst->udp.busy.store(0, std::memory_order_relaxed);
    dst->udp.control_fd = src->udp.control_fd;
    dst->udp.relay = src->udp.relay;
    dst->udp.relay_len = src->udp.relay_len;
    dst->udp.connected = src->udp.connected;
    dst->udp.expect_header = src->udp.expect_header;
    dst->udp.checked_ns = src->udp.checked_ns;
    dst->udp.opened_ns.store(src->udp.opened_ns.load(std::memory_order_relaxed),
                             std::memory_order_relaxed);
    for (size_t i = 0; i < std::size(dst->udp.audited); ++i)
        dst->udp.audited[i].store(src->udp.audited[i].load(std::memory_order_relaxed),
                                  std::memory_order_relaxed);
    dst->udp.audited_next.store(0, std::memory_order_relaxed);
    dst->fake_pin = src->fake_pin;  // the caller takes the copy's own pin (record_repin)
    set_kind(to, kind);
}

void clear_range(unsigned first, unsigned last) {
    if (first >= static_cast<unsigned>(kMaxFds)) return;
    if (last >= static_cast<unsigned>(kMaxFds)) last = kMaxFds - 1;
    for (unsigned fd = first; fd <= last; ++fd) {
        if (detail::g_fd_kind[fd].load(std::memory_order_relaxed) != 0)
            detail::g_fd_kind[fd].store(0, std::memory_order_release);
    }
}

int high_fd_floor() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1024;
    rlim_t floor = rl.rlim_cur - rl.rlim_cur / 4;
    // Below the fd table's end: an fd the table cannot mark cannot be hidden.
    constexpr rlim_t kCeiling = kMaxFds - 4096;
    if (floor > kCeiling) floor = kCeiling;
    return floor > 1024 ? static_cast<int>(floor)
                        : static_cast<int>(rl.rlim_cur > 64 ? rl.rlim_cur - 32 : 3);
}

}  // namespace socksify::shim
