// The table of exchanges in flight for non-blocking connects. A slot is claimed by
// the connect hook and released when the exchange ends, is discarded, or times out;
// its lock keeps two threads waiting on the same socket from advancing it together.
#include "shim/proxy/pending.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>

#include "shim/fd_table.hpp"
#include "shim/guard.hpp"
#include "shim/init.hpp"
#include "shim/io.hpp"
#include "shim/proxy/chain.hpp"
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
    Deadline deadline;  // a copy of the path's: scans of the slots stay small
    HandshakeResult result;
    int domain;             // the socket's family (a chain may replace it)
    unsigned replacements;  // path.replacements() the epoll sets know of
    sockaddr_storage dest;
    socklen_t dest_len;
    char name[256];
    size_t name_len;
    int64_t start_ns;
    short waiting;  // what the exchange waits for now (registered in the epoll sets)
    Watch watch[kWatches];
    int watches;
};

// constinit: zero at load, in .bss; a dynamic initializer wrote all 208 KiB (52 page
// faults in every program at start-up).
constinit Pending g_slots[kSlots];
// Apart from the slots: a path holds an HTTP head buffer. Raw storage, built when a
// slot is taken: an array of Paths would be constructed at load time, and writing
// their initialised members touched ~2 MB of pages in every program (7 ms of page
// faults at start-up here).
static_assert(std::is_trivially_destructible_v<Path>);
alignas(Path) unsigned char g_path_store[kSlots][sizeof(Path)];

Path& path_of(Pending& p) {
    return *std::launder(reinterpret_cast<Path*>(g_path_store[&p - g_slots]));
}
Path& fresh_path_of(Pending& p) { return *new (g_path_store[&p - g_slots]) Path(); }

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
void complete(int fd, Pending& p, int err, int op) {
    ShimScope scope;
    finish_connect(fd, reinterpret_cast<sockaddr*>(&p.dest), p.dest_len, {p.name, p.name_len},
                   config(), err, p.start_ns, path_of(p).via());
    if (err != 0) {
        if (FdRecord* rec = fd_record(fd)) rec->aux = err;
        set_kind(fd, FdKind::kTcpFailed);
    }
    for (int i = 0; i < p.watches; ++i)
        (void)real::epoll_ctl(p.watch[i].epfd, op, fd, &p.watch[i].ev);
    release(p);
}

// Epoll sets the program made (epoll_create*), fd + 1 each (0: free). A socket
// registered in one before its connect is found there through /proc/self/fdinfo.
constexpr int kSets = 64;
constinit std::atomic<int> g_sets[kSets];

// Parses the hex number after key in line; false if key is absent.
bool hex_after(const char* line, const char* key, uint64_t& out) {
    const char* at = strstr(line, key);
    if (at == nullptr) return false;
    at += strlen(key);
    while (*at == ' ' || *at == '\t') ++at;
    char* end = nullptr;
    out = strtoull(at, &end, 16);
    return end != at;
}

// One "tfd:" line of an epoll set's fdinfo: fd's registration (events, data) if the
// line is about fd's current file (ino), kernel format "tfd: %8d events: %8x data:
// %16llx pos:%lli ino:%lx sdev:%x".
bool registration_of(const char* line, int fd, uint64_t ino, epoll_event& ev) {
    const char* tfd = strstr(line, "tfd:");
    if (tfd == nullptr || atoi(tfd + 4) != fd) return false;
    uint64_t events = 0, data = 0, file = 0;
    if (!hex_after(line, "events:", events) || !hex_after(line, "data:", data) ||
        !hex_after(line, "ino:", file) || file != ino)
        return false;
    ev.events = static_cast<uint32_t>(events);
    ev.data.u64 = data;
    return true;
}

// fd's registration in epoll set ep, read from the kernel's own listing.
bool find_registration(int ep, int fd, uint64_t ino, epoll_event& ev) {
    char path[48];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", ep);
    int f = open(path, O_RDONLY | O_CLOEXEC);
    if (f < 0) return false;
    char buf[4096];
    size_t have = 0;
    bool found = false;
    for (;;) {
        ssize_t n = real::read(f, buf + have, sizeof buf - 1 - have);
        if (n <= 0) break;
        have += static_cast<size_t>(n);
        buf[have] = '\0';
        char* line = buf;
        for (char* nl; (nl = strchr(line, '\n')) != nullptr; line = nl + 1) {
            *nl = '\0';
            if (registration_of(line, fd, ino, ev)) found = true;
        }
        have = static_cast<size_t>(buf + have - line);  // a line cut by the read: kept
        if (have == sizeof buf - 1) have = 0;           // longer than any real line
        memmove(buf, line, have);
        if (found) break;
    }
    real::close(f);
    return found;
}

// The program put fd in epoll sets before its connect: those registrations become the
// exchange's watches (shown again when it ends), the sets watch what the exchange needs.
void adopt_registrations(int fd, Pending& p) {
    struct stat st;
    if (fstat(fd, &st) != 0) return;
    for (auto& set : g_sets) {
        int ep = set.load(std::memory_order_relaxed) - 1;
        epoll_event ev{};
        if (ep < 0 || p.watches == kWatches || !find_registration(ep, fd, st.st_ino, ev)) continue;
        epoll_event e = ours(fd, p.waiting);
        // EPOLLEXCLUSIVE registrations cannot be modified: those stay the program's.
        if (real::epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e) == 0) p.watch[p.watches++] = {ep, ev};
    }
}

}  // namespace

void note_epoll_set(int ep) {
    if (ep < 0) return;
    for (auto& set : g_sets) {
        int v = set.load(std::memory_order_relaxed);
        // A slot of this number (closed and reused), or one whose set is gone.
        bool stale = v == ep + 1 || (v != 0 && real::fcntl(v - 1, F_GETFD, 0) < 0);
        if ((v == 0 || stale) && set.compare_exchange_strong(v, ep + 1)) return;
    }
}

constinit std::atomic<bool> g_pending_off{false};

void disable_pending() { g_pending_off.store(true, std::memory_order_relaxed); }

int start_pending(int fd, const sockaddr* dest, socklen_t dest_len, std::string_view name,
                  const Config& cfg, const RouteSpec* route, int64_t start_ns) {
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
    proto::Request request{proto::Command::kConnect, socks_address(dest, name)};
    p->domain = dest->sa_family;
    // The probe's verdict is for the proxy of the run; a route's upstream goes stepwise.
    bool pipelined = route == nullptr && handshake_mode(cfg) == HandshakeMode::kPipelined;
    p->deadline = Deadline::after_ms(cfg.timeout_ms);
    int err = fresh_path_of(*p).start(fd, p->domain, cfg, route, request, pipelined, p->deadline);
    p->replacements = 0;
    if (err != 0) {
        p->owner.store(0, std::memory_order_release);
        return err;
    }
    p->busy.store(0, std::memory_order_relaxed);
    if (dest_len > sizeof p->dest) dest_len = sizeof p->dest;
    memcpy(&p->dest, dest, dest_len);
    p->dest_len = dest_len;
    memcpy(p->name, name.data(), name.size());
    p->name_len = name.size();
    p->start_ns = start_ns;
    p->waiting = POLLOUT;
    p->watches = 0;
    rec->aux = static_cast<int>(p - g_slots);
    rec->domain = p->domain;
    remember_object(fd, *rec);
    detail::g_pending.fetch_add(1, std::memory_order_relaxed);
    p->owner.store(fd + 1, std::memory_order_release);
    set_kind(fd, FdKind::kTcpPending);
    // Only now: a wait in another thread that sees one of our events must know them.
    lock(*p);
    adopt_registrations(fd, *p);
    unlock(*p);
    return EINPROGRESS;
}

short advance_pending(int fd, int& ms_left, short ready) {
    Pending* p = slot_of(fd);
    if (p == nullptr) return 0;
    if (p->busy.exchange(1, std::memory_order_acquire) != 0) return p->waiting;  // another thread
    if (p->owner.load(std::memory_order_acquire) != fd + 1) {
        unlock(*p);
        return 0;
    }
    Path& path = path_of(*p);
    short ev = path.advance(fd, p->domain, p->result, ready);
    if (ev != 0 && p->deadline.passed()) ev = path.expire(p->result);
    // A fresh socket under fd (a dynamic chain dropped a hop): the epoll sets lost the
    // old one with its file; they are given the new one.
    bool fresh = path.replacements() != p->replacements;
    if (fresh) {
        p->replacements = path.replacements();
        if (FdRecord* rec = fd_record(fd)) {
            rec->domain = p->domain;
            remember_object(fd, *rec);
        }
    }
    if (ev == 0) {
        complete(fd, *p, p->result.err, fresh ? EPOLL_CTL_ADD : EPOLL_CTL_MOD);
        unlock(*p);
        return 0;
    }
    if (fresh) {
        p->waiting = ev;
        epoll_event e = ours(fd, ev);
        for (int i = 0; i < p->watches; ++i)
            (void)real::epoll_ctl(p->watch[i].epfd, EPOLL_CTL_ADD, fd, &e);
    } else if (ev != p->waiting) {
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
