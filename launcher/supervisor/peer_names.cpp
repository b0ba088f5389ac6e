// The destinations of the program's proxied sockets, for getpeername (peer_names.hpp).
#include "launcher/supervisor/peer_names.hpp"

#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace socksify::launcher {
namespace {

// Sockets noted at once. A run with more open proxied connections than this loses the
// oldest records (those sockets report the proxy again); closed ones are swept first.
constexpr size_t kMaxNoted = 1 << 16;

// An inet address as the kernel reports it (a record is ~100 bytes: the table's bound
// is a few MB at most).
struct Endpoint {
    sockaddr_in6 addr{};  // or a sockaddr_in
    socklen_t len = 0;
    bool operator==(const Endpoint& o) const {
        return len == o.len && std::memcmp(&addr, &o.addr, len) == 0;
    }
};

struct Noted {
    Endpoint dest;   // what getpeername answers
    Endpoint proxy;  // the kernel's peer and local address when noted: the record
    Endpoint local;  // holds only while the socket still reports both
    uint64_t seq = 0;
};

std::mutex g_mu;
std::unordered_map<ino_t, Noted> g_noted;
std::atomic<size_t> g_count{0};  // the receiving thread's unlocked "none at all"
uint64_t g_seq = 0;

// The form the kernel reports a peer in: a whole sockaddr_in or sockaddr_in6 (the
// program may have connected with the 24-byte RFC 2133 one), no flow label, a scope
// id only for a link-local address.
Endpoint peer_form(const sockaddr_storage& a, socklen_t len) {
    Endpoint e;
    if (a.ss_family == AF_INET && len >= sizeof(sockaddr_in)) {
        sockaddr_in in{};
        std::memcpy(&in, &a, sizeof in);
        std::memset(in.sin_zero, 0, sizeof in.sin_zero);
        std::memcpy(&e.addr, &in, sizeof in);
        e.len = sizeof in;
    } else if (a.ss_family == AF_INET6 && len >= 24) {
        sockaddr_in6 in6{};
        std::memcpy(&in6, &a, std::min<size_t>(len, sizeof in6));
        in6.sin6_flowinfo = 0;
        if (!IN6_IS_ADDR_LINKLOCAL(&in6.sin6_addr)) in6.sin6_scope_id = 0;
        std::memcpy(&e.addr, &in6, sizeof in6);
        e.len = sizeof in6;
    }
    return e;
}

bool kernel_view(int fd, Endpoint& peer, Endpoint& local) {
    peer.len = sizeof peer.addr;
    local.len = sizeof local.addr;
    // An inet socket's addresses fit (a longer one would be truncated: no match).
    return getpeername(fd, reinterpret_cast<sockaddr*>(&peer.addr), &peer.len) == 0 &&
           getsockname(fd, reinterpret_cast<sockaddr*>(&local.addr), &local.len) == 0 &&
           peer.len <= sizeof peer.addr && local.len <= sizeof local.addr;
}

// The inodes of the TCP sockets open in this network namespace (the program's).
void open_tcp_inodes(std::unordered_set<ino_t>& out) {
    for (const char* path : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        FILE* f = std::fopen(path, "re");
        if (f == nullptr) continue;
        char line[512];
        while (std::fgets(line, sizeof line, f) != nullptr) {
            unsigned long ino = 0;
            // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
            if (std::sscanf(line, "%*s %*s %*s %*s %*s %*s %*s %*s %*s %lu", &ino) == 1 && ino != 0)
                out.insert(static_cast<ino_t>(ino));
        }
        std::fclose(f);
    }
}

// The table is full: records of sockets no longer open go; if that is not enough, the
// oldest quarter.
void make_room() {
    std::unordered_set<ino_t> open;
    open_tcp_inodes(open);
    for (auto it = g_noted.begin(); it != g_noted.end();)
        it = open.count(it->first) != 0 ? std::next(it) : g_noted.erase(it);
    if (g_noted.size() < kMaxNoted * 3 / 4) return;
    std::vector<uint64_t> seqs;
    seqs.reserve(g_noted.size());
    for (const auto& [ino, n] : g_noted) seqs.push_back(n.seq);
    auto cut = seqs.begin() + static_cast<long>(g_noted.size() - kMaxNoted * 3 / 4);
    std::nth_element(seqs.begin(), cut, seqs.end());
    uint64_t keep_from = *cut;
    for (auto it = g_noted.begin(); it != g_noted.end();)
        it = it->second.seq >= keep_from ? std::next(it) : g_noted.erase(it);
}

// The inode of the socket pid's fd names, from /proc (no fd taken): 0 when not a socket.
ino_t socket_inode(pid_t pid, int fd) {
    char path[64], link[64];
    std::snprintf(path, sizeof path, "/proc/%d/fd/%d", static_cast<int>(pid), fd);
    ssize_t n = readlink(path, link, sizeof link - 1);
    if (n <= 0) return 0;
    link[n] = '\0';
    unsigned long ino = 0;
    return std::sscanf(link, "socket:[%lu]", &ino) == 1 ? static_cast<ino_t>(ino) : 0;
}

}  // namespace

void note_proxied_peer(int local, const sockaddr_storage& dest, socklen_t len) {
    Noted n;
    n.dest = peer_form(dest, len);
    struct stat st {};
    if (n.dest.len == 0 || fstat(local, &st) != 0 || !kernel_view(local, n.proxy, n.local)) return;
    std::lock_guard lock(g_mu);
    if (g_noted.size() >= kMaxNoted && g_noted.count(st.st_ino) == 0) make_room();
    n.seq = ++g_seq;
    g_noted[st.st_ino] = n;
    g_count.store(g_noted.size());
}

size_t noted_peer_count() {
    std::lock_guard lock(g_mu);
    return g_noted.size();
}

Answer on_getpeername(int listener, const Call& c) {
    // The common case costs nothing more than the trap: no proxied socket at all, or
    // not one of them (one readlink).
    if (g_count.load() == 0) return proceed();
    int fd = static_cast<int>(c.args[0]);
    uint64_t addr = c.args[1];
    uint64_t len_at = c.args[2];
    ino_t ino = socket_inode(c.pid, fd);
    if (ino == 0) return proceed();
    Noted n;
    {
        std::lock_guard lock(g_mu);
        auto it = g_noted.find(ino);
        if (it == g_noted.end()) return proceed();
        n = it->second;
    }
    TakenFd t;
    if (int err = t.take(listener, c, fd, false)) return err == ESRCH ? gone() : proceed();
    // The connection is known by its two ends (no two TCP sockets share both), so fd
    // may even have been replaced since the readlink: only the one noted matches.
    Endpoint peer, local;
    if (!kernel_view(t.local(), peer, local) || !(peer == n.proxy) || !(local == n.local)) {
        // Not the connection noted (reset, dissolved, or another socket under a reused
        // inode number): the record is stale — unless fd names another socket by now.
        struct stat st {};
        if (fstat(t.local(), &st) != 0 || st.st_ino != ino) return proceed();
        std::lock_guard lock(g_mu);
        auto it = g_noted.find(ino);
        if (it != g_noted.end() && it->second.seq == n.seq) g_noted.erase(it);
        g_count.store(g_noted.size());
        return proceed();
    }
    // Bad pointers and a negative length: the kernel's own errors.
    int cap = 0;
    if (addr == 0 || len_at == 0 || read_task(c.pid, len_at, &cap, sizeof cap) != 0 || cap < 0)
        return proceed();
    if (!call_alive(listener, c.id)) return gone();  // the pid is still the caller's
    // As the kernel: the address truncated to the caller's buffer, the full length.
    auto full = static_cast<int>(n.dest.len);
    auto part = static_cast<size_t>(std::min(cap, full));
    iovec from[2] = {{&n.dest.addr, part}, {&full, sizeof full}};
    iovec to[2] = {{reinterpret_cast<void*>(addr), part},
                   {reinterpret_cast<void*>(len_at), sizeof full}};
    if (process_vm_writev(c.pid, from, 2, to, 2, 0) != static_cast<ssize_t>(part + sizeof full))
        return fail(EFAULT);
    return done(0);
}

}  // namespace socksify::launcher
