// The trapped calls: connect, and sends that carry an address. For an inet socket
// only the supervisor's own copy of the address counts: it connects the program's
// socket itself (to the proxy, the fake nameserver or a direct destination) and
// never lets the program's call continue, so a thread rewriting the address after
// it was read changes nothing.
#include <fcntl.h>
#include <linux/seccomp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <thread>

#include "launcher/supervisor/dns_clients.hpp"
#include "launcher/supervisor/notif.hpp"
#include "settings/route.hpp"
#include "shim/audit.hpp"
#include "shim/dns/dns_intercept.hpp"
#include "shim/dns/names.hpp"
#include "shim/fd_table.hpp"
#include "shim/log.hpp"
#include "shim/proxy/tcp_connect.hpp"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

namespace socksify::launcher {

using shim::Config;
using shim::log_line;
using shim::LogLevel;

namespace {

constexpr uint16_t kDnsPort = 53;

long tgid_of(pid_t tid);

int open_pidfd(pid_t tid) {
    int fd = static_cast<int>(syscall(SYS_pidfd_open, tid, PIDFD_THREAD));
    if (fd >= 0 || errno != EINVAL) return fd;
    // Before Linux 6.9 only a thread-group leader has a pidfd: find the leader.
    long tgid = tgid_of(tid);
    if (tgid <= 0) {
        errno = ESRCH;
        return -1;
    }
    return static_cast<int>(syscall(SYS_pidfd_open, static_cast<pid_t>(tgid), 0));
}

long tgid_of(pid_t tid) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/status", static_cast<int>(tid));
    FILE* f = std::fopen(path, "re");
    if (f == nullptr) return -1;
    char line[128];
    long tgid = -1;
    while (std::fgets(line, sizeof line, f) != nullptr)
        if (std::sscanf(line, "Tgid: %ld", &tgid) == 1) break;
    std::fclose(f);
    return tgid;
}

// Audit records made while serving a call name the calling program (its pid and
// executable), not the launcher.
class Subject {
  public:
    explicit Subject(pid_t tid) {
        if (!shim::audit_on()) return;
        char path[64];
        std::snprintf(path, sizeof path, "/proc/%d/exe", static_cast<int>(tid));
        ssize_t n = readlink(path, exe_, sizeof exe_ - 1);
        exe_[n > 0 ? n : 0] = '\0';
        const char* slash = std::strrchr(exe_, '/');
        long pid = tgid_of(tid);
        pid_ = pid > 0 ? pid : tid;
        program_ = slash != nullptr ? slash + 1 : exe_;
        shim::audit_subject(pid_, program_);
    }
    ~Subject() { shim::audit_subject(0, nullptr); }
    Subject(const Subject&) = delete;
    Subject& operator=(const Subject&) = delete;
    // 0 when audit is off.
    long pid() const { return pid_; }
    const char* program() const { return program_; }

  private:
    char exe_[4096];
    long pid_ = 0;
    const char* program_ = nullptr;
};

bool is_inet_family(int f) { return f == AF_INET || f == AF_INET6; }

// The shortest address the kernel takes for the family (sockaddr_in6 without its
// scope id, RFC 2133, is accepted).
socklen_t min_len(int family) { return family == AF_INET ? sizeof(sockaddr_in) : 24; }

uint16_t port_of(const sockaddr_storage& a) {
    if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
    return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
}

// The address a datagram or connect on a socket of domain really goes to: on an
// AF_INET socket the kernel reads AF_UNSPEC as AF_INET for sends.
bool effective_inet(int domain, sockaddr_storage& a, socklen_t len) {
    if (domain == AF_INET && a.ss_family == AF_UNSPEC && len >= sizeof(sockaddr_in))
        a.ss_family = AF_INET;
    return is_inet_family(a.ss_family) && len >= min_len(a.ss_family);
}

const sockaddr* sa(const sockaddr_storage& a) { return reinterpret_cast<const sockaddr*>(&a); }

// The program's connect, made by us with our copy of the address.
Answer connect_as_program(int local, const sockaddr_storage& a, socklen_t len) {
    if (connect(local, sa(a), len) == 0) return done();
    return fail(errno);
}

Answer refuse_udp(const Config& cfg, const Call& c, const sockaddr_storage& dest, bool sending) {
    char text[64];
    shim::format_sockaddr(sa(dest), text, sizeof text);
    log_line(sending ? LogLevel::kError : LogLevel::kVerbose,
             "refusing UDP to %s from supervised pid %d: the supervisor does not relay UDP", text,
             static_cast<int>(c.pid));
    // A connect alone sends nothing (libc and Go connect UDP sockets only to pick
    // a source address when sorting a lookup's answers): audited when data would go.
    if (sending)
        shim::audit_denied(cfg, shim::audit_event(shim::AuditKind::kUdp, sa(dest)),
                           "supervised-udp");
    return fail(EACCES);
}

bool intercepts_dns(const Config& cfg, const sockaddr_storage& dest) {
    return cfg.valid && cfg.dns_mode != shim::DnsMode::kLocal && port_of(dest) == kDnsPort;
}

// Flags of the program's fd (FD_CLOEXEC) from /proc, for a socket we install anew.
unsigned fd_cloexec(pid_t pid, int fd) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", static_cast<int>(pid), fd);
    FILE* f = std::fopen(path, "re");
    if (f == nullptr) return 0;
    char line[128];
    unsigned long flags = 0;
    while (std::fgets(line, sizeof line, f) != nullptr)
        if (std::sscanf(line, "flags: %lo", &flags) == 1) break;
    std::fclose(f);
    return (flags & O_CLOEXEC) != 0 ? O_CLOEXEC : 0;
}

ino_t inode_of(int fd) {
    struct stat st {};
    return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

Answer proxied_stream(int listener, const Call& c, TakenFd& t, const sockaddr_storage& dest,
                      socklen_t len, const Config& cfg) {
    ino_t before = inode_of(t.local());
    int err = shim::proxied_tcp_connect(t.local(), sa(dest), len, cfg);
    shim::set_kind(t.local(), shim::FdKind::kNone);  // our number, not the program's
    if (err != 0) return fail(err);
    // The library replaced the socket (another family, or a stepwise retry after a
    // proxy lost pipelined bytes): put the new one under the program's number.
    if (inode_of(t.local()) != before) {
        if (int e = install_over(listener, c, t.local(), static_cast<int>(c.args[0])))
            return fail(e);
    }
    return done();
}

// A socket meant for a nameserver goes to ours instead (noted for the audit records
// of its lookups).
Answer to_dns_server(const TakenFd& t, int type, const Subject& who) {
    sockaddr_storage ns{};
    socklen_t ns_len = 0;
    if (!dns_server_address(t.domain, type, ns, ns_len)) return fail(EACCES);
    Answer a = connect_as_program(t.local(), ns, ns_len);
    if (who.pid() != 0) note_dns_client(t.local(), type, who.pid(), who.program());
    return a;
}

}  // namespace

TakenFd::~TakenFd() {
    if (local_ >= 0) close(local_);
    if (pidfd_ >= 0) close(pidfd_);
}

int TakenFd::take(int listener, const Call& c, int fd) {
    pidfd_ = open_pidfd(c.pid);
    if (pidfd_ < 0) return ESRCH;
    // The pidfd is the trapping task's only while the call still waits.
    if (!call_alive(listener, c.id)) return ESRCH;
    local_ = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd_, fd, 0));
    if (local_ < 0) return errno == ESRCH ? ESRCH : EBADF;
    fcntl(local_, F_SETFD, FD_CLOEXEC);
    socklen_t n = sizeof domain;
    if (getsockopt(local_, SOL_SOCKET, SO_DOMAIN, &domain, &n) != 0) return ENOTSOCK;
    n = sizeof type;
    if (getsockopt(local_, SOL_SOCKET, SO_TYPE, &type, &n) != 0) return ENOTSOCK;
    return 0;
}

int read_task(pid_t pid, uint64_t addr, void* out, size_t n) {
    if (n == 0) return 0;
    iovec local{out, n};
    iovec remote{reinterpret_cast<void*>(addr), n};
    ssize_t got = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    return got == static_cast<ssize_t>(n) ? 0 : EFAULT;
}

bool call_alive(int listener, uint64_t id) {
    uint64_t copy = id;
    return ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &copy) == 0;
}

int install_over(int listener, const Call& c, int local, int target_fd) {
    seccomp_notif_addfd add{};
    add.id = c.id;
    add.flags = SECCOMP_ADDFD_FLAG_SETFD;
    add.srcfd = static_cast<uint32_t>(local);
    add.newfd = static_cast<uint32_t>(target_fd);
    add.newfd_flags = fd_cloexec(c.pid, target_fd);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add) < 0)
        return errno == ENOENT ? ESRCH : errno;
    return 0;
}

Answer on_connect(int listener, const Call& c, const Config& cfg) {
    int fd = static_cast<int>(c.args[0]);
    TakenFd t;
    if (int err = t.take(listener, c, fd)) return err == ESRCH ? gone() : fail(err);
    // Other families (AF_UNIX paths are resolved in the program's root and cwd) run
    // as the program made them.
    if (!is_inet_family(t.domain)) return proceed();
    auto len = static_cast<uint32_t>(c.args[2]);
    sockaddr_storage dest{};
    if (len > sizeof dest) return fail(EINVAL);
    if (int err = read_task(c.pid, c.args[1], &dest, len)) return fail(err);
    if (!call_alive(listener, c.id)) return gone();
    // From here on only this copy counts.
    Subject subject(c.pid);
    bool inet = is_inet_family(dest.ss_family) && len >= min_len(dest.ss_family);
    if (!inet) return connect_as_program(t.local(), dest, len);  // the kernel's own answer
    if (t.type == SOCK_STREAM) {
        // Another family than the socket's: the kernel's error, nothing is sent.
        if (dest.ss_family != t.domain) return connect_as_program(t.local(), dest, len);
        if (intercepts_dns(cfg, dest)) return to_dns_server(t, SOCK_STREAM, subject);
        if (cfg.valid && shim::is_direct(cfg, sa(dest)))
            return connect_as_program(t.local(), dest, len);
        return proxied_stream(listener, c, t, dest, len, cfg);
    }
    if (t.type == SOCK_DGRAM) {
        if (intercepts_dns(cfg, dest)) return to_dns_server(t, SOCK_DGRAM, subject);
        if (cfg.valid && shim::is_direct(cfg, sa(dest)))
            return connect_as_program(t.local(), dest, len);
        return refuse_udp(cfg, c, dest, false);
    }
    if (cfg.valid && shim::is_direct(cfg, sa(dest)))
        return connect_as_program(t.local(), dest, len);
    return fail(EACCES);
}

namespace {

// One named destination of a send on socket t: proceed, or refuse.
Answer judge_send(const Call& c, const TakenFd& t, sockaddr_storage& dest, socklen_t len, int flags,
                  const Config& cfg) {
    if (t.type == SOCK_STREAM) {
        // The address of a send on a stream socket is ignored, except for Fast Open,
        // which would connect around the proxy.
        if ((flags & MSG_FASTOPEN) == 0) return proceed();
        log_line(LogLevel::kError, "refusing TCP Fast Open send from supervised pid %d",
                 static_cast<int>(c.pid));
        return fail(EOPNOTSUPP);
    }
    if (!effective_inet(t.domain, dest, len)) return proceed();  // the kernel refuses it
    if (intercepts_dns(cfg, dest)) {
        // Answered only on a connected socket (connect is redirected to the fake
        // nameserver); an unconnected query would see the answer come from elsewhere.
        log_line(LogLevel::kError,
                 "refusing an unconnected DNS query from supervised pid %d (names are "
                 "answered on connected sockets only)",
                 static_cast<int>(c.pid));
        return fail(EACCES);
    }
    if (cfg.valid && shim::is_direct(cfg, sa(dest))) return proceed();
    return refuse_udp(cfg, c, dest, true);
}

struct Named {
    uint64_t name = 0;
    uint32_t len = 0;
};

}  // namespace

Answer on_send(int listener, const Call& c, const Config& cfg) {
    int fd = static_cast<int>(c.args[0]);
    int flags = static_cast<int>(c.args[c.nr == SYS_sendto ? 3 : 2]);
    // The named destinations of the call; most sendmsg calls name none.
    constexpr unsigned kMaxMsgs = 1024;  // UIO_MAXIOV: the kernel sends no more
    static mmsghdr msgs[kMaxMsgs];       // sends are judged on the receiving thread only
    Named named[8];
    unsigned count = 0;
    bool more = false;
    if (c.nr == SYS_sendto) {
        named[count++] = {c.args[4], static_cast<uint32_t>(c.args[5])};
    } else if (c.nr == SYS_sendmsg) {
        msghdr m{};
        if (read_task(c.pid, c.args[1], &m, sizeof m) != 0) return proceed();  // EFAULT
        if (m.msg_name != nullptr)
            named[count++] = {reinterpret_cast<uint64_t>(m.msg_name), m.msg_namelen};
    } else {
        unsigned n = static_cast<unsigned>(std::min<uint64_t>(c.args[2], kMaxMsgs));
        if (n == 0 || read_task(c.pid, c.args[1], msgs, n * sizeof(mmsghdr)) != 0)
            return proceed();  // the kernel reports the bad pointer
        for (unsigned i = 0; i < n; ++i) {
            if (msgs[i].msg_hdr.msg_name == nullptr) continue;
            if (count == std::size(named)) {
                more = true;
                break;
            }
            named[count++] = {reinterpret_cast<uint64_t>(msgs[i].msg_hdr.msg_name),
                              msgs[i].msg_hdr.msg_namelen};
        }
    }
    if (count == 0) return proceed();
    TakenFd t;
    if (int err = t.take(listener, c, fd)) return err == ESRCH ? gone() : proceed();
    if (!is_inet_family(t.domain)) return proceed();
    if (more) return fail(EACCES);  // more destinations in one call than we judge
    Subject subject(c.pid);
    for (unsigned i = 0; i < count; ++i) {
        sockaddr_storage dest{};
        socklen_t len = named[i].len;
        if (len > sizeof dest) return proceed();  // EINVAL from the kernel
        if (read_task(c.pid, named[i].name, &dest, len) != 0) return proceed();  // EFAULT
        Answer a = judge_send(c, t, dest, len, flags, cfg);
        if (!a.proceed) return a;
    }
    if (!call_alive(listener, c.id)) return gone();
    return proceed();
}

// --- the fake nameserver -------------------------------------------------------------

namespace {

// The nameserver's sockets: [udp, tcp] x [IPv4, IPv6] on loopback.
struct Endpoint {
    int fd = -1;
    sockaddr_storage addr{};
    socklen_t len = 0;
};
Endpoint g_ns[2][2];

int open_dns_socket(int family, int type, sockaddr_storage& addr, socklen_t& len) {
    int fd = socket(family, type | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    std::memset(&addr, 0, sizeof addr);
    if (family == AF_INET) {
        auto& in = reinterpret_cast<sockaddr_in&>(addr);
        in.sin_family = AF_INET;
        in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof in;
    } else {
        auto& in6 = reinterpret_cast<sockaddr_in6&>(addr);
        in6.sin6_family = AF_INET6;
        in6.sin6_addr = in6addr_loopback;
        len = sizeof in6;
    }
    if (bind(fd, sa(addr), len) != 0 || (type == SOCK_STREAM && listen(fd, 128) != 0) ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

// The answer to one query: the library's own answering (shim/dns/dns_intercept.hpp), so
// a name gets the same fake address whether glibc, a DNS stub or Go asked for it.
size_t answer(const Config& cfg, std::span<const uint8_t> query, std::span<uint8_t> out) {
    return shim::answer_dns_query(cfg, query.data(), query.size(), out.data(), out.size());
}

void serve_udp(const Config* cfg) {
    pollfd p[2] = {{g_ns[0][0].fd, POLLIN, 0}, {g_ns[0][1].fd, POLLIN, 0}};
    uint8_t query[1500], reply[1500];
    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return;
        }
        for (const pollfd& one : p) {
            if (one.fd < 0 || (one.revents & POLLIN) == 0) continue;
            sockaddr_storage from{};
            socklen_t from_len = sizeof from;
            ssize_t n = recvfrom(one.fd, query, sizeof query, MSG_DONTWAIT,
                                 reinterpret_cast<sockaddr*>(&from), &from_len);
            if (n <= 0) continue;
            DnsClientSubject who(SOCK_DGRAM, from);
            size_t m = answer(*cfg, {query, static_cast<size_t>(n)}, reply);
            if (m > 0) (void)sendto(one.fd, reply, m, MSG_DONTWAIT, sa(from), from_len);
        }
    }
}

bool read_full(int fd, uint8_t* p, size_t n) {
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p += r;
        n -= static_cast<size_t>(r);
    }
    return true;
}

// One DNS-over-TCP client: length-prefixed queries until it closes or idles 10 s.
void serve_tcp_client(const Config* cfg, int fd, sockaddr_storage from) {
    timeval idle{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &idle, sizeof idle);
    uint8_t query[65535], reply[2 + 1500];
    for (;;) {
        uint8_t len[2];
        if (!read_full(fd, len, 2)) break;
        size_t n = static_cast<size_t>(len[0] << 8 | len[1]);
        if (!read_full(fd, query, n)) break;
        // Looked up per query: the accept may come before the supervisor noted the
        // client, the query never does (the program's connect returns after that).
        DnsClientSubject who(SOCK_STREAM, from);
        size_t m = answer(*cfg, {query, n}, {reply + 2, sizeof reply - 2});
        if (m == 0) break;
        reply[0] = static_cast<uint8_t>(m >> 8);
        reply[1] = static_cast<uint8_t>(m);
        if (send(fd, reply, m + 2, MSG_NOSIGNAL) != static_cast<ssize_t>(m + 2)) break;
    }
    close(fd);
}

void serve_tcp(const Config* cfg) {
    pollfd p[2] = {{g_ns[1][0].fd, POLLIN, 0}, {g_ns[1][1].fd, POLLIN, 0}};
    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return;
        }
        for (const pollfd& one : p) {
            if (one.fd < 0 || (one.revents & POLLIN) == 0) continue;
            sockaddr_storage from{};
            socklen_t from_len = sizeof from;
            int c = accept4(one.fd, reinterpret_cast<sockaddr*>(&from), &from_len, SOCK_CLOEXEC);
            if (c >= 0) std::thread(serve_tcp_client, cfg, c, from).detach();
        }
    }
}

}  // namespace

bool start_dns_server(const Config& cfg) {
    const int types[2] = {SOCK_DGRAM, SOCK_STREAM};
    const int families[2] = {AF_INET, AF_INET6};
    for (int t = 0; t < 2; ++t) {
        for (int f = 0; f < 2; ++f) {
            Endpoint& e = g_ns[t][f];
            e.fd = open_dns_socket(families[f], types[t], e.addr, e.len);
        }
    }
    std::thread(serve_udp, &cfg).detach();
    std::thread(serve_tcp, &cfg).detach();
    return g_ns[0][0].fd >= 0 || g_ns[0][1].fd >= 0;
}

bool dns_server_address(int domain, int type, sockaddr_storage& out, socklen_t& len) {
    const Endpoint* e = g_ns[type == SOCK_STREAM ? 1 : 0];
    if (domain == AF_INET6 && e[1].fd >= 0) {
        out = e[1].addr;
        len = e[1].len;
        return true;
    }
    if (e[0].fd < 0) return false;
    if (domain == AF_INET) {
        out = e[0].addr;
        len = e[0].len;
        return true;
    }
    // An AF_INET6 socket without [::1]: the v4-mapped form (fails on a v6-only socket).
    const auto& in = reinterpret_cast<const sockaddr_in&>(e[0].addr);
    sockaddr_in6 mapped{};
    mapped.sin6_family = AF_INET6;
    mapped.sin6_port = in.sin_port;
    mapped.sin6_addr.s6_addr[10] = mapped.sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(mapped.sin6_addr.s6_addr + 12, &in.sin_addr, 4);
    std::memcpy(&out, &mapped, sizeof mapped);
    len = sizeof mapped;
    return true;
}

}  // namespace socksify::launcher
