// The table of exchanges in flight for non-blocking connects. A slot is claimed by
// the connect hook and released when the exchange ends, is discarded, or times out;
// its lock keeps two threads waiting on the same socket from advancing it together.
#include "shim/proxy/pending.hpp"

#include <fcntl.h>
#include <poll.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "shim/fd_table.hpp"
#include "shim/guard.hpp"
#include "shim/init.hpp"
#include "shim/io.hpp"
#include "shim/proxy/handshake.hpp"
#include "shim/proxy/socks_address.hpp"
#include "shim/proxy/tcp_connect.hpp"
#include "shim/real.hpp"

namespace socksify::shim {
namespace detail {
constinit std::atomic<int> g_pending{0};
}

namespace {

struct Watch {
    int epfd;
    epoll_event ev;  // the program's own registration
};

constexpr int kWatches = 4;  // epoll sets one pending socket can be in
constexpr int kSlots = kPendingSlots;

struct Pending {
    std::atomic<int> owner;  // fd + 1; 0: free
    std::atomic<uint32_t> busy;
    Handshake hs;
    HandshakeResult result;
    Deadline deadline;
    sockaddr_storage dest;
    socklen_t dest_len;
    char name[256];
    size_t name_len;
    int64_t start_ns;
    short waiting;  // what the exchange waits for now (registered in the epoll sets)
    Watch watch[kWatches];
    int watches;
};

Pending g_slots[kSlots];

void lock(Pending& p) {
    while (p.busy.exchange(1, std::memory_order_acquire) != 0) {
    }
}
void unlock(Pending& p) { p.busy.store(0, std::memory_order_release); }

Pending* slot_of(int fd) {
    if (kind_of(fd) != FdKind::kTcpPending) return nullptr;
    FdRecord* rec = fd_record(fd);
    if (rec == nullptr || rec->aux < 0 || rec->aux >= kSlots) return nullptr;
    Pending& p = g_slots[rec->aux];
    return p.owner.load(std::memory_order_acquire) == fd + 1 ? &p : nullptr;
}

epoll_event ours(int fd, short waiting) {
    epoll_event e{};
    e.events = static_cast<uint32_t>(waiting);  // POLLIN/POLLOUT == EPOLLIN/EPOLLOUT
    e.data.u64 = kEpollTag | static_cast<uint32_t>(fd);
    return e;
}

void release(Pending& p) {
    p.watches = 0;
    p.owner.store(0, std::memory_order_release);
    detail::g_pending.fetch_sub(1, std::memory_order_relaxed);
}

// The exchange is over (p locked): settle the socket, report it, give the epoll sets
// back the program's own registrations, which now see the socket's real state.
void complete(int fd, Pending& p, int err) {
    ShimScope scope;
    finish_connect(fd, reinterpret_cast<sockaddr*>(&p.dest), p.dest_len, {p.name, p.name_len},
                   config(), err, p.start_ns);
    if (err != 0) {
        if (FdRecord* rec = fd_record(fd)) rec->aux = err;
        set_kind(fd, FdKind::kTcpFailed);
    }
    for (int i = 0; i < p.watches; ++i)
        (void)real::epoll_ctl(p.watch[i].epfd, EPOLL_CTL_MOD, fd, &p.watch[i].ev);
    release(p);
}

}  // namespace

constinit std::atomic<bool> g_pending_off{false};

void disable_pending() { g_pending_off.store(true, std::memory_order_relaxed); }

int start_pending(int fd, const sockaddr* dest, socklen_t dest_len, std::string_view name,
                  const Config& cfg, int64_t start_ns) {
    if (g_pending_off.load(std::memory_order_relaxed)) return kNoPending;
    int fl = real::fcntl(fd, F_GETFL, 0);
    if (fl < 0 || !(fl & O_NONBLOCK)) return kNoPending;
    FdRecord* rec = fd_record(fd);
    if (rec == nullptr || name.size() > sizeof g_slots[0].name) return kNoPending;
    Pending* p = nullptr;
    for (auto& s : g_slots) {
        int free_mark = 0;
        if (s.owner.load(std::memory_order_relaxed) == 0 &&
            s.owner.compare_exchange_strong(free_mark, -1, std::memory_order_acquire)) {
            p = &s;
            break;
        }
    }
    if (p == nullptr) return kNoPending;
    bool connecting = false;
    int err = begin_proxy_connect(fd, dest->sa_family, cfg, connecting);
    proto::Request request{proto::Command::kConnect, socks_address(dest, name)};
    if (err == 0)
        err = p->hs.start(request, proxy_credentials(cfg), handshake_mode(cfg), connecting);
    if (err != 0) {
        p->owner.store(0, std::memory_order_release);
        return err;
    }
    p->busy.store(0, std::memory_order_relaxed);
    p->deadline = Deadline::after_ms(cfg.timeout_ms);
    if (dest_len > sizeof p->dest) dest_len = sizeof p->dest;
    memcpy(&p->dest, dest, dest_len);
    p->dest_len = dest_len;
    memcpy(p->name, name.data(), name.size());
    p->name_len = name.size();
    p->start_ns = start_ns;
    p->waiting = POLLOUT;
    p->watches = 0;
    rec->aux = static_cast<int>(p - g_slots);
    rec->domain = dest->sa_family;
    remember_object(fd, *rec);
    detail::g_pending.fetch_add(1, std::memory_order_relaxed);
    p->owner.store(fd + 1, std::memory_order_release);
    set_kind(fd, FdKind::kTcpPending);
    return EINPROGRESS;
}

short advance_pending(int fd, int& ms_left) {
    Pending* p = slot_of(fd);
    if (p == nullptr) return 0;
    if (p->busy.exchange(1, std::memory_order_acquire) != 0) return p->waiting;  // another thread
    if (p->owner.load(std::memory_order_acquire) != fd + 1) {
        unlock(*p);
        return 0;
    }
    short ev = p->hs.advance(fd, p->result);
    int err = p->result.err;
    if (ev != 0 && p->deadline.passed()) {
        ev = 0;
        err = ETIMEDOUT;
    }
    if (ev == 0) {
        complete(fd, *p, err);
        unlock(*p);
        return 0;
    }
    if (ev != p->waiting) {
        p->waiting = ev;
        epoll_event e = ours(fd, ev);
        for (int i = 0; i < p->watches; ++i)
            (void)real::epoll_ctl(p->watch[i].epfd, EPOLL_CTL_MOD, fd, &e);
    }
    int left = p->deadline.remaining_ms();
    if (ms_left < 0 || left < ms_left) ms_left = left;
    unlock(*p);
    return ev;
}

void discard_pending(int fd) {
    Pending* p = slot_of(fd);
    if (p == nullptr) return;
    lock(*p);
    if (p->owner.load(std::memory_order_acquire) == fd + 1) release(*p);
    unlock(*p);
}

int pending_epoll_ctl(int epfd, int op, int fd, epoll_event* ev, bool& handled) {
    handled = false;
    Pending* p = slot_of(fd);
    if (p == nullptr) return 0;
    lock(*p);
    if (p->owner.load(std::memory_order_acquire) != fd + 1) {
        unlock(*p);
        return 0;
    }
    int at = -1;
    for (int i = 0; i < p->watches; ++i)
        if (p->watch[i].epfd == epfd) at = i;
    int rc = 0;
    epoll_event e = ours(fd, p->waiting);
    if (op == EPOLL_CTL_ADD && ev != nullptr && p->watches < kWatches) {
        handled = true;
        rc = real::epoll_ctl(epfd, op, fd, &e);
        if (rc == 0) p->watch[p->watches++] = {epfd, *ev};
    } else if (op == EPOLL_CTL_MOD && ev != nullptr && at >= 0) {
        handled = true;
        rc = real::epoll_ctl(epfd, op, fd, &e);
        if (rc == 0) p->watch[at].ev = *ev;
    } else if (op == EPOLL_CTL_DEL && at >= 0) {
        handled = true;
        rc = real::epoll_ctl(epfd, op, fd, ev);
        p->watch[at] = p->watch[--p->watches];
    }
    unlock(*p);
    return rc;
}

int pending_soonest_ms() {
    int ms = -1;
    for (auto& s : g_slots) {
        int owner = s.owner.load(std::memory_order_acquire);
        if (owner <= 0) continue;
        int left = s.deadline.remaining_ms();
        if (left == 0) {
            int ignored = -1;
            (void)advance_pending(owner - 1, ignored);  // ends it with ETIMEDOUT
        }
        if (ms < 0 || left < ms) ms = left;
    }
    return ms;
}

}  // namespace socksify::shim
