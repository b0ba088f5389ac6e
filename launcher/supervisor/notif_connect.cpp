// The trapped calls: connect, and sends that carry an address. For an inet socket
// only the supervisor's own copy of the address counts: it connects the program's
// socket itself (to the proxy, the fake nameserver or a direct destination) and
// never lets the program's call continue, so a thread rewriting the address after
// it was read changes nothing.
#include <fcntl.h>
#include <linux/seccomp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <thread>
#include <vector>

#include "launcher/supervisor/dns_clients.hpp"
#include "launcher/supervisor/notif.hpp"
#include "launcher/supervisor/peer_names.hpp"
#include "launcher/supervisor/udp_relay.hpp"
#include "protocol/dns_message.hpp"
#include "shim/address_form.hpp"
#include "shim/audit.hpp"
#include "shim/dns/dns_intercept.hpp"
#include "shim/dns/dns_tcp.hpp"
#include "shim/dns/names.hpp"
#include "shim/fd_table.hpp"
#include "shim/io.hpp"
#include "shim/log.hpp"
#include "shim/police.hpp"
#include "shim/proxy/tcp_connect.hpp"
#include "shim/proxy/udp_assoc.hpp"
#include "shim/settings/route.hpp"

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
    // A connect alone sends nothing (libc and Go connect UDP sockets only to pick
    // a source address when sorting a lookup's answers): judged when data would go.
    std::string_view name;
    uint32_t index = 0;
    if (cfg.valid && cfg.dns_mode == shim::DnsMode::kRemote &&
        shim::fake_index_of(cfg, sa(dest), index))
        name = shim::fake_name_of(cfg, sa(dest));
    // The policy first: a denied destination is reported as such.
    if (sending && cfg.valid && shim::police(cfg, sa(dest), name, shim::AuditKind::kUdp) != 0)
        return fail(EACCES);
    char text[300];
    if (!name.empty())
        std::snprintf(text, sizeof text, "%.*s:%u", static_cast<int>(name.size()), name.data(),
                      port_of(dest));
    else
        shim::format_sockaddr(sa(dest), text, sizeof text);
    // --udp off: that is the reason. Else a datagram not wrapped for a relay: only the
    // library's (under --strict) go through the supervisor's associations.
    log_line(sending ? LogLevel::kError : LogLevel::kVerbose,
             "refusing UDP to %s from supervised pid %d: %s", text, static_cast<int>(c.pid),
             cfg.valid && !cfg.udp ? "UDP is off (--udp off)"
                                   : "the supervisor does not relay UDP (only the preloaded "
                                     "library's datagrams, under --strict)");
    if (sending)
        shim::audit_denied(cfg, shim::audit_event(shim::AuditKind::kUdp, sa(dest), name),
                           cfg.valid && !cfg.udp ? "udp-off" : "supervised-udp");
    return fail(EACCES);
}

// Under --strict a program's own connection to an upstream (the proxy, a chain hop, a
// route's proxy) is refused: what it would say there (SOCKS for a name the policy
// denies) is out of our sight. The supervisor's own connections never trap.
bool is_upstream(const Config& cfg, const sockaddr_storage& dest) {
    if (shim::same_endpoint(sa(dest), sa(cfg.proxy))) return true;
    for (size_t i = 0; i < cfg.hop_count; ++i)
        if (shim::same_endpoint(sa(dest), sa(cfg.hops[i].addr))) return true;
    for (size_t i = 0; i < cfg.route_count; ++i)
        if (shim::same_endpoint(sa(dest), sa(cfg.routes[i].hop.addr))) return true;
    return false;
}

Answer refuse_upstream(const Config& cfg, const Call& c, const sockaddr_storage& dest) {
    char text[64];
    shim::format_sockaddr(sa(dest), text, sizeof text);
    log_line(LogLevel::kError,
             "refusing connect to the proxy %s from supervised pid %d: under --strict only the "
             "supervisor speaks to the proxy",
             text, static_cast<int>(c.pid));
    shim::audit_denied(cfg, shim::audit_event(shim::AuditKind::kConnect, sa(dest)),
                       "proxy-endpoint");
    return fail(EACCES);
}

// --strict: UDP to an upstream's host or a relay that is not a relay datagram of ours
// (udp_relay.hpp).
Answer refuse_udp_upstream(const Config& cfg, const Call& c, const sockaddr_storage& dest,
                           const char* what) {
    char text[64];
    shim::format_sockaddr(sa(dest), text, sizeof text);
    log_line(LogLevel::kError,
             "refusing UDP %s to %s from supervised pid %d: the proxy's host takes only the "
             "supervisor's relay datagrams (--strict)",
             what, text, static_cast<int>(c.pid));
    shim::audit_denied(cfg, shim::audit_event(shim::AuditKind::kUdp, sa(dest)), "proxy-endpoint");
    return fail(EACCES);
}

// Direct for this run: the direct list, but under --strict never an upstream.
bool direct(const Config& cfg, const sockaddr_storage& dest) {
    if (!cfg.valid) return false;
    if (cfg.strict && is_upstream(cfg, dest)) return false;
    return shim::is_direct(cfg, sa(dest));
}

// A call on an inet socket that is neither TCP nor UDP (raw, inherited from before the
// run): refused, with the record the library's strict refusal makes.
Answer refuse_strict(const Config& cfg, const Call& c, const TakenFd& t, const char* call) {
    char dom[24], typ[48], what[96];
    shim::format_domain(t.domain, dom, sizeof dom);
    shim::format_socket_type(t.type, typ, sizeof typ);
    log_line(LogLevel::kError, "refusing %s on a %s %s socket from supervised pid %d", call, dom,
             typ, static_cast<int>(c.pid));
    int n = std::snprintf(what, sizeof what, "%s on socket(%s, %s)", call, dom, typ);
    std::string_view name(what, n > 0 ? static_cast<size_t>(n) : 0);
    shim::audit_denied(cfg, shim::audit_event(shim::AuditKind::kRefusal, nullptr, name), "strict");
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
    note_proxied_peer(t.local(), dest, len);
    return done();
}

// A socket meant for a nameserver goes to ours instead (noted for the audit records
// of its lookups; for --dns-tcp's nameserver, to the carrier that takes each query
// through the proxy).
Answer to_dns_server(const TakenFd& t, int type, const Subject& who, bool carry = false) {
    sockaddr_storage ns{};
    socklen_t ns_len = 0;
    if (!dns_server_address(t.domain, type, ns, ns_len, carry)) return fail(EACCES);
    Answer a = connect_as_program(t.local(), ns, ns_len);
    if (who.pid() != 0) note_dns_client(t.local(), type, who.pid(), who.program());
    return a;
}

bool is_carried_nameserver(const Config& cfg, const sockaddr_storage& dest) {
    return cfg.valid && cfg.dns_tcp && shim::same_endpoint(sa(dest), sa(cfg.dns_server));
}

}  // namespace

TakenFd::~TakenFd() {
    if (local_ >= 0) close(local_);
    if (pidfd_ >= 0) close(pidfd_);
}

int TakenFd::take(int listener, const Call& c, int fd, bool shape) {
    pidfd_ = open_pidfd(c.pid);
    if (pidfd_ < 0) return ESRCH;
    // The pidfd is the trapping task's only while the call still waits.
    if (!call_alive(listener, c.id)) return ESRCH;
    local_ = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd_, fd, 0));  // FD_CLOEXEC set
    if (local_ < 0) return errno == ESRCH ? ESRCH : EBADF;
    if (!shape) return 0;
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
    // Other families run as the program made them; under --strict the supervisor makes
    // them too (letting the call continue would let another thread put an inet socket
    // under the same number first).
    if (!is_inet_family(t.domain)) return cfg.strict ? connect_other(c, t) : proceed();
    auto len = static_cast<uint32_t>(c.args[2]);
    sockaddr_storage dest{};
    if (len > sizeof dest) return fail(EINVAL);
    if (int err = read_task(c.pid, c.args[1], &dest, len)) return fail(err);
    if (!call_alive(listener, c.id)) return gone();
    // From here on only this copy counts.
    Subject subject(c.pid);
    if (cfg.strict) {
        // The library's model of the kernel (address_form.hpp): a form the kernel refuses
        // gets its own errno from a copy that reaches nothing; a destination is judged
        // in its plain form.
        shim::SocketShape shape;
        if (!shim::socket_shape(t.local(), shape)) return fail(EACCES);
        shim::AddressForm f =
            shim::classify_fd(t.local(), shape, shim::Entry::kConnect, false, sa(dest), len);
        switch (f.form) {
            case shim::Form::kDest:
                std::memcpy(&dest, &f.dest, sizeof dest);
                len = f.dest_len;
                break;
            case shim::Form::kUnknown: return refuse_strict(cfg, c, t, "connect");
            case shim::Form::kDisconnect: return connect_as_program(t.local(), dest, len);
            default: {
                sockaddr_storage zeroed{};
                socklen_t n = shim::neutral_copy(sa(dest), len, zeroed);
                return connect_as_program(t.local(), zeroed, n);
            }
        }
    }
    bool inet = is_inet_family(dest.ss_family) && len >= min_len(dest.ss_family);
    if (!inet) return connect_as_program(t.local(), dest, len);  // the kernel's own answer
    if (t.type == SOCK_STREAM) {
        // Another family than the socket's: the kernel's error, nothing is sent.
        if (dest.ss_family != t.domain) return connect_as_program(t.local(), dest, len);
        if (is_carried_nameserver(cfg, dest)) return to_dns_server(t, SOCK_STREAM, subject, true);
        if (intercepts_dns(cfg, dest)) return to_dns_server(t, SOCK_STREAM, subject);
        if (cfg.strict && is_upstream(cfg, dest)) return refuse_upstream(cfg, c, dest);
        if (direct(cfg, dest)) return connect_as_program(t.local(), dest, len);
        return proxied_stream(listener, c, t, dest, len, cfg);
    }
    if (t.type == SOCK_DGRAM) {
        if (intercepts_dns(cfg, dest)) return to_dns_server(t, SOCK_DGRAM, subject);
        // A datagram socket connected to a relay would send headers we never see.
        if (cfg.strict && (is_known_relay(dest) || is_upstream_host(cfg, dest)))
            return refuse_udp_upstream(cfg, c, dest, "connect");
        if (direct(cfg, dest)) return connect_as_program(t.local(), dest, len);
        return refuse_udp(cfg, c, dest, cfg.strict);  // --strict: every refusal recorded
    }
    if (direct(cfg, dest)) return connect_as_program(t.local(), dest, len);
    return refuse_strict(cfg, c, t, "connect");
}

namespace {

Answer judge_send(const Call& c, const TakenFd& t, sockaddr_storage& dest, socklen_t len, int flags,
                  const Config& cfg);

// --- --strict: the supervisor makes every trapped call itself ----------------------------
//
// A call allowed to continue would run on whatever the program's memory and fd table
// hold by then: another thread can rewrite the address, set a msg_name that was NULL,
// or dup2 a UDP socket over the checked fd. So under --strict nothing continues: the
// supervisor copies the address, the data and the ancillary data, judges its copy and
// makes the call on the program's socket (taken with pidfd_getfd).

constexpr size_t kMaxStreamCopy = 1 << 20;  // a stream send may be partial
constexpr size_t kMaxDatagram = 4 << 20;    // above any socket's send buffer limit
constexpr size_t kMaxControl = 64 << 10;

// AF_UNIX path names are resolved in the caller's directory: the worker (its own
// CLONE_FS, see Supervisor::work) moves to it first; a program in another root is
// refused (the supervisor would resolve the path in its own).
int enter_program_dir(pid_t tid, const sockaddr_storage& a, socklen_t len) {
    if (a.ss_family != AF_UNIX || len <= offsetof(sockaddr_un, sun_path)) return 0;
    const char* path = reinterpret_cast<const sockaddr_un&>(a).sun_path;
    if (path[0] == '\0') return 0;  // abstract: this network namespace's, as ours
    char proc[64];
    struct stat ours {
    }, theirs{};
    std::snprintf(proc, sizeof proc, "/proc/%d/root", static_cast<int>(tid));
    if (stat("/", &ours) != 0 || stat(proc, &theirs) != 0 || ours.st_dev != theirs.st_dev ||
        ours.st_ino != theirs.st_ino)
        return EACCES;
    if (path[0] == '/') return 0;
    std::snprintf(proc, sizeof proc, "/proc/%d/cwd", static_cast<int>(tid));
    int dir = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return EACCES;
    int rc = fchdir(dir);
    close(dir);
    return rc == 0 ? 0 : EACCES;
}

}  // namespace

void shut_program_socket(int listener, const Call& c) {
    TakenFd t;
    if (t.take(listener, c, static_cast<int>(c.args[0])) == 0) shutdown(t.local(), SHUT_RDWR);
}

Answer connect_other(const Call& c, const TakenFd& t) {
    auto len = static_cast<uint32_t>(c.args[2]);
    sockaddr_storage dest{};
    if (len > sizeof dest) return fail(EINVAL);
    if (int err = read_task(c.pid, c.args[1], &dest, len)) return fail(err);
    if (int err = enter_program_dir(c.pid, dest, len)) return fail(err);
    return connect_as_program(t.local(), dest, len);
}

namespace {

// The program's thread gets the SIGPIPE its own send would have raised.
void raise_sigpipe(pid_t tid) {
    long tgid = tgid_of(tid);
    if (tgid > 0) syscall(SYS_tgkill, static_cast<pid_t>(tgid), tid, SIGPIPE);
}

// One message of the program's, copied: name, data, ancillary data with its fds taken.
struct CopiedMsg {
    sockaddr_storage name{};
    socklen_t name_len = 0;
    bool has_name = false;
    std::vector<uint8_t> data;
    std::vector<uint8_t> control;
    std::vector<int> fds;  // ours, closed by the destructor
    size_t reported = 0;   // a relay datagram re-encoded: the program's length (0: not one)
    CopiedMsg() = default;
    CopiedMsg(const CopiedMsg&) = delete;
    CopiedMsg& operator=(const CopiedMsg&) = delete;
    ~CopiedMsg() {
        for (int fd : fds) close(fd);
    }
};

// Copies m (the program's msghdr, already in our memory) into out: 0 or errno.
int copy_msg(const Call& c, const TakenFd& t, const msghdr& m, CopiedMsg& out) {
    if (m.msg_name != nullptr) {  // a length of 0 is kept: sendto says EINVAL for it
        if (m.msg_namelen > sizeof out.name) return EINVAL;
        if (read_task(c.pid, reinterpret_cast<uint64_t>(m.msg_name), &out.name, m.msg_namelen))
            return EFAULT;
        out.name_len = m.msg_namelen;
        out.has_name = true;
    }
    if (m.msg_iovlen > 1024) return EMSGSIZE;
    std::vector<iovec> iov(m.msg_iovlen);
    if (m.msg_iovlen > 0 && read_task(c.pid, reinterpret_cast<uint64_t>(m.msg_iov), iov.data(),
                                      iov.size() * sizeof(iovec)))
        return EFAULT;
    bool stream = t.type == SOCK_STREAM;
    size_t cap = stream ? kMaxStreamCopy : kMaxDatagram;
    size_t total = 0;
    for (const iovec& v : iov) total += std::min(v.iov_len, kMaxDatagram + 1);
    if (!stream && total > kMaxDatagram) return EMSGSIZE;
    out.data.resize(std::min(total, cap));
    size_t at = 0;
    for (const iovec& v : iov) {
        if (at == out.data.size()) break;
        size_t n = std::min(v.iov_len, out.data.size() - at);
        if (read_task(c.pid, reinterpret_cast<uint64_t>(v.iov_base), out.data.data() + at, n))
            return EFAULT;
        at += n;
    }
    if (m.msg_control != nullptr && m.msg_controllen > 0) {
        if (m.msg_controllen > kMaxControl) return ENOBUFS;
        out.control.resize(m.msg_controllen);
        if (read_task(c.pid, reinterpret_cast<uint64_t>(m.msg_control), out.control.data(),
                      out.control.size()))
            return EFAULT;
        // File descriptors passed along (AF_UNIX) are the program's numbers: ours here.
        msghdr view{};
        view.msg_control = out.control.data();
        view.msg_controllen = out.control.size();
        for (cmsghdr* h = CMSG_FIRSTHDR(&view); h != nullptr; h = CMSG_NXTHDR(&view, h)) {
            if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
            size_t n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            auto* fds = reinterpret_cast<int*>(CMSG_DATA(h));
            for (size_t i = 0; i < n; ++i) {
                int mine = static_cast<int>(syscall(SYS_pidfd_getfd, t.pidfd(), fds[i], 0));
                if (mine < 0) return EBADF;
                out.fds.push_back(mine);
                fds[i] = mine;
            }
        }
    }
    return 0;
}

// Judges a copied destination on an inet socket by the library's model of the kernel
// (address_form.hpp): true to send the copy (name possibly dropped or neutralised),
// false with the answer.
bool judge_copy(const Call& c, const TakenFd& t, CopiedMsg& m, int flags, const Config& cfg,
                Answer& out) {
    if (!is_inet_family(t.domain)) return true;
    shim::SocketShape shape;
    if (!shim::socket_shape(t.local(), shape)) return true;
    bool fastopen = (flags & MSG_FASTOPEN) != 0;
    shim::AddressForm f = shim::classify_fd(
        t.local(), shape, c.nr == SYS_sendto ? shim::Entry::kSendto : shim::Entry::kSendmsg,
        fastopen, m.has_name ? sa(m.name) : nullptr, m.has_name ? m.name_len : 0);
    switch (f.form) {
        case shim::Form::kDest: break;
        case shim::Form::kNoDest:
        case shim::Form::kIgnored: m.has_name = false; return true;  // the peer's, or none
        case shim::Form::kUnknown: out = refuse_strict(cfg, c, t, "send"); return false;
        default: {  // refused by the kernel: its own errno, for a copy that reaches nothing
            sockaddr_storage zeroed{};
            m.name_len = shim::neutral_copy(sa(m.name), m.name_len, zeroed);
            m.name = zeroed;
            return true;
        }
    }
    std::memcpy(&m.name, &f.dest, sizeof m.name);
    m.name_len = f.dest_len;
    // A datagram for a relay the supervisor holds: its header judged and re-encoded
    // here, then sent from this copy (udp_relay.hpp).
    if (cfg.strict && t.type == SOCK_DGRAM && is_known_relay(m.name)) {
        size_t program_len = m.data.size();
        if (int err = judge_relayed(cfg, m.name, m.data)) {
            out = fail(err);
            return false;
        }
        m.reported = program_len;
        return true;
    }
    out = judge_send(c, t, m.name, m.name_len, flags, cfg);
    return out.proceed;
}

// Sends our copy on the program's socket: bytes sent, or -errno.
ssize_t send_copy(const Call& c, const TakenFd& t, CopiedMsg& m, int flags) {
    if (int err = enter_program_dir(c.pid, m.name, m.has_name ? m.name_len : 0)) return -err;
    ssize_t n = 0;
    if (m.reported != 0) {
        // A relay datagram: one datagram, whatever the socket's UDP_SEGMENT says (a
        // thread may set it at any time; split, the later segments would be the job's
        // own bytes, a header we never judged). A UDP_SEGMENT of 0 in this call's
        // control data overrides the option for this send; the program's own control
        // data is not sent.
        alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(uint16_t))] = {};
        iovec one{m.data.data(), m.data.size()};
        msghdr h{};
        h.msg_name = &m.name;
        h.msg_namelen = m.name_len;
        h.msg_iov = &one;
        h.msg_iovlen = 1;
        h.msg_control = control;
        h.msg_controllen = sizeof control;
        cmsghdr* cm = CMSG_FIRSTHDR(&h);
        cm->cmsg_level = SOL_UDP;
        cm->cmsg_type = UDP_SEGMENT;
        cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        n = sendmsg(t.local(), &h, flags | MSG_NOSIGNAL);
    } else if (c.nr == SYS_sendto) {  // not sendmsg: a name of length 0 means another thing there
        n = sendto(t.local(), m.data.data(), m.data.size(), flags | MSG_NOSIGNAL,
                   m.has_name ? sa(m.name) : nullptr, m.has_name ? m.name_len : 0);
    } else {
        iovec one{m.data.data(), m.data.size()};
        msghdr h{};
        h.msg_name = m.has_name ? &m.name : nullptr;
        h.msg_namelen = m.has_name ? m.name_len : 0;
        h.msg_iov = &one;
        h.msg_iovlen = 1;
        h.msg_control = m.control.empty() ? nullptr : m.control.data();
        h.msg_controllen = m.control.size();
        n = sendmsg(t.local(), &h, flags | MSG_NOSIGNAL);
    }
    if (n >= 0) return n;
    int err = errno;
    if (err == EPIPE && (flags & MSG_NOSIGNAL) == 0) raise_sigpipe(c.pid);
    return -err;
}

}  // namespace

Answer strict_send(int listener, const Call& c, const Config& cfg) {
    int fd = static_cast<int>(c.args[0]);
    TakenFd t;
    if (int err = t.take(listener, c, fd)) return err == ESRCH ? gone() : fail(err);
    Subject subject(c.pid);
    if (c.nr == SYS_sendto || c.nr == SYS_sendmsg) {
        msghdr m{};
        iovec one{};
        int flags = static_cast<int>(c.args[c.nr == SYS_sendto ? 3 : 2]);
        if (c.nr == SYS_sendto) {
            one.iov_base = reinterpret_cast<void*>(c.args[1]);
            one.iov_len = c.args[2];
            m.msg_iov = &one;  // our memory: read_task below reads this array from us
            m.msg_iovlen = 1;
            m.msg_name = reinterpret_cast<void*>(c.args[4]);
            m.msg_namelen = static_cast<socklen_t>(c.args[5]);
        } else if (read_task(c.pid, c.args[1], &m, sizeof m)) {
            return fail(EFAULT);
        }
        CopiedMsg copy;
        int err = 0;
        if (c.nr == SYS_sendto) {
            // The one iovec is ours: copy the data straight from the program.
            msghdr data_only = m;
            data_only.msg_iov = nullptr;
            data_only.msg_iovlen = 0;
            err = copy_msg(c, t, data_only, copy);
            if (err == 0) {
                size_t cap = t.type == SOCK_STREAM ? kMaxStreamCopy : kMaxDatagram;
                if (t.type != SOCK_STREAM && one.iov_len > kMaxDatagram) return fail(EMSGSIZE);
                copy.data.resize(std::min(one.iov_len, cap));
                if (read_task(c.pid, reinterpret_cast<uint64_t>(one.iov_base), copy.data.data(),
                              copy.data.size()))
                    err = EFAULT;
            }
        } else {
            err = copy_msg(c, t, m, copy);
        }
        if (err != 0) return fail(err);
        Answer refused;
        if (!judge_copy(c, t, copy, flags, cfg, refused)) return refused;
        ssize_t n = send_copy(c, t, copy, flags);
        if (n >= 0 && copy.reported != 0) n = static_cast<ssize_t>(copy.reported);
        return n < 0 ? fail(static_cast<int>(-n)) : done(n);
    }
    // sendmmsg: message by message, as the kernel, which stops at the first error
    // (reported only when nothing was sent) and writes each msg_len.
    int flags = static_cast<int>(c.args[3]);
    unsigned n = static_cast<unsigned>(std::min<uint64_t>(c.args[2], 1024));
    if (n == 0) return done(0);
    std::vector<mmsghdr> msgs(n);
    if (read_task(c.pid, c.args[1], msgs.data(), n * sizeof(mmsghdr))) return fail(EFAULT);
    unsigned sent = 0;
    for (; sent < n; ++sent) {
        CopiedMsg copy;
        int err = copy_msg(c, t, msgs[sent].msg_hdr, copy);
        Answer refused;
        if (err == 0 && !judge_copy(c, t, copy, flags, cfg, refused)) err = refused.err;
        ssize_t r = err == 0 ? send_copy(c, t, copy, flags) : -err;
        if (r >= 0 && copy.reported != 0) r = static_cast<ssize_t>(copy.reported);
        if (r < 0) {
            if (sent == 0) return fail(static_cast<int>(-r));
            break;
        }
        auto len = static_cast<unsigned>(r);
        iovec local{&len, sizeof len};
        iovec remote{reinterpret_cast<char*>(c.args[1]) + sent * sizeof(mmsghdr) +
                         offsetof(mmsghdr, msg_len),
                     sizeof len};
        (void)process_vm_writev(c.pid, &local, 1, &remote, 1, 0);
    }
    return done(sent);
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
        if (!cfg.strict) return fail(EOPNOTSUPP);
        // --strict: the errno of every refusal, and a record.
        shim::audit_denied(cfg, shim::audit_event(shim::AuditKind::kConnect, sa(dest)), "strict");
        return fail(EACCES);
    }
    if (cfg.strict && t.type != SOCK_DGRAM) return refuse_strict(cfg, c, t, "send");
    if (!effective_inet(t.domain, dest, len)) return proceed();  // the kernel refuses it
    if (intercepts_dns(cfg, dest)) {
        // Answered only on a connected socket (connect is redirected to the fake
        // nameserver); an unconnected query would see the answer come from elsewhere.
        log_line(LogLevel::kError,
                 "refusing an unconnected DNS query from supervised pid %d (names are "
                 "answered on connected sockets only)",
                 static_cast<int>(c.pid));
        if (cfg.strict)  // every refusal of a strict run is recorded
            shim::audit_denied(cfg, shim::audit_event(shim::AuditKind::kUdp, sa(dest)), "dns");
        return fail(EACCES);
    }
    if (cfg.strict && is_upstream_host(cfg, dest))
        return refuse_udp_upstream(cfg, c, dest, "datagram");
    if (direct(cfg, dest)) return proceed();
    return refuse_udp(cfg, c, dest, true);
}

struct Named {
    uint64_t name = 0;
    uint32_t len = 0;
};

}  // namespace

Answer on_send(int listener, const Call& c, const Config& cfg) {
    if (cfg.strict) return strict_send(listener, c, cfg);
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

Answer on_refused_socket(const Call& c, const Config& cfg) {
    auto domain = static_cast<int>(c.args[0]);
    auto type = static_cast<int>(c.args[1]);
    auto protocol = static_cast<int>(c.args[2]);
    Subject subject(c.pid);
    char dom[24], typ[48], what[96];
    shim::format_domain(domain, dom, sizeof dom);
    shim::format_socket_type(type, typ, sizeof typ);
    const char* call = c.nr == SYS_socketpair ? "socketpair" : "socket";
    log_line(LogLevel::kError,
             "refusing %s(domain %d, type %d, protocol %d) from supervised pid %d: %s %s could "
             "bypass the proxy (--strict)",
             call, domain, type & 0xff, protocol, static_cast<int>(c.pid), dom, typ);
    // The same record as the library's early refusal: socket(AF_PACKET, SOCK_RAW, 768).
    int n = std::snprintf(what, sizeof what, "%s(%s, %s, %d)", call, dom, typ, protocol);
    std::string_view name(what, n > 0 ? static_cast<size_t>(n) : 0);
    shim::audit_denied(cfg, shim::audit_event(shim::AuditKind::kRefusal, nullptr, name), "strict");
    return fail(EACCES);
}

// --- the fake nameserver -------------------------------------------------------------

namespace {

// The nameserver's sockets: [udp, tcp, tcp carrier] x [IPv4, IPv6] on loopback.
struct Endpoint {
    int fd = -1;
    sockaddr_storage addr{};
    socklen_t len = 0;
};
Endpoint g_ns[3][2];
constexpr int kCarrier = 2;

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

// --dns-tcp's nameserver, asked by the library's res_* calls: each query judged by the
// name it asks about and carried through the proxy, as the library would.
size_t carry(const Config& cfg, std::span<const uint8_t> query, std::span<uint8_t> out) {
    proto::DnsQuery q;
    proto::Result r = proto::decode_dns_query(proto::Bytes(query.data(), query.size()), q);
    const char* asked = r.status == proto::Status::kDone ? q.name : "";
    if (!shim::police_lookup(cfg, asked))
        return proto::encode_dns_answer(proto::Out(out.data(), out.size()), q,
                                        proto::DnsRcode::kRefused, nullptr, 0, 0, 0);
    int err = 0;
    int64_t start = shim::monotonic_ns();
    int n = shim::dns_query_over_proxy(cfg, query.data(), static_cast<int>(query.size()),
                                       out.data(), static_cast<int>(out.size()), err);
    shim::AuditEvent e = shim::audit_event(shim::AuditKind::kLookup, nullptr, asked);
    e.address = sa(cfg.dns_server);
    e.start_ns = start;
    shim::audit_result(cfg, e, n < 0 ? err : 0);
    if (n < static_cast<int>(proto::kDnsHeaderSize))
        return proto::encode_dns_answer(proto::Out(out.data(), out.size()), q,
                                        proto::DnsRcode::kServFail, nullptr, 0, 0, 0);
    return static_cast<size_t>(n);
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

// One DNS-over-TCP client: length-prefixed queries until it closes or idles 10 s.
void serve_tcp_client(const Config* cfg, int fd, sockaddr_storage from, bool carrier) {
    timeval idle{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &idle, sizeof idle);
    uint8_t query[65535], reply[2 + 65535];
    for (;;) {
        uint8_t len[2];
        if (!shim::read_full(fd, len, 2)) break;
        size_t n = static_cast<size_t>(len[0] << 8 | len[1]);
        if (!shim::read_full(fd, query, n)) break;
        // Looked up per query: the accept may come before the supervisor noted the
        // client, the query never does (the program's connect returns after that).
        DnsClientSubject who(SOCK_STREAM, from);
        if (n == shim::kRelayMessage) {  // the library asks for a UDP association
            timeval none{0, 0};
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
            if (serve_relay_request(*cfg, fd, query, n)) break;
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
        }
        size_t m = carrier ? carry(*cfg, {query, n}, {reply + 2, sizeof reply - 2})
                           : answer(*cfg, {query, n}, {reply + 2, sizeof reply - 2});
        if (m == 0) break;
        reply[0] = static_cast<uint8_t>(m >> 8);
        reply[1] = static_cast<uint8_t>(m);
        if (send(fd, reply, m + 2, MSG_NOSIGNAL) != static_cast<ssize_t>(m + 2)) break;
    }
    close(fd);
}

void serve_tcp(const Config* cfg) {
    pollfd p[4] = {{g_ns[1][0].fd, POLLIN, 0},
                   {g_ns[1][1].fd, POLLIN, 0},
                   {g_ns[kCarrier][0].fd, POLLIN, 0},
                   {g_ns[kCarrier][1].fd, POLLIN, 0}};
    for (;;) {
        if (poll(p, 4, -1) < 0) {
            if (errno == EINTR) continue;
            return;
        }
        for (int i = 0; i < 4; ++i) {
            if (p[i].fd < 0 || (p[i].revents & POLLIN) == 0) continue;
            sockaddr_storage from{};
            socklen_t from_len = sizeof from;
            int c = accept4(p[i].fd, reinterpret_cast<sockaddr*>(&from), &from_len, SOCK_CLOEXEC);
            if (c >= 0) std::thread(serve_tcp_client, cfg, c, from, i >= 2).detach();
        }
    }
}

}  // namespace

bool start_dns_server(const Config& cfg) {
    const int types[3] = {SOCK_DGRAM, SOCK_STREAM, SOCK_STREAM};
    const int families[2] = {AF_INET, AF_INET6};
    for (int t = 0; t < (cfg.dns_tcp ? 3 : 2); ++t) {
        for (int f = 0; f < 2; ++f) {
            Endpoint& e = g_ns[t][f];
            e.fd = open_dns_socket(families[f], types[t], e.addr, e.len);
        }
    }
    std::thread(serve_udp, &cfg).detach();
    std::thread(serve_tcp, &cfg).detach();
    return g_ns[0][0].fd >= 0 || g_ns[0][1].fd >= 0;
}

bool dns_server_address(int domain, int type, sockaddr_storage& out, socklen_t& len, bool carrier) {
    const Endpoint* e = g_ns[carrier ? kCarrier : type == SOCK_STREAM ? 1 : 0];
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
