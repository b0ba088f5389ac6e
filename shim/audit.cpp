// Audit records from the library: formatted on the stack (audit_format.cpp) and
// appended with one write(2) to an O_APPEND file, so that the records of many
// processes never interleave.
#include "shim/audit.hpp"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "shim/fd_table.hpp"
#include "shim/io.hpp"
#include "shim/log.hpp"
#include "shim/real.hpp"
#include "shim/settings/audit_format.hpp"
#include "shim/settings/policy.hpp"

namespace socksify::shim {

// The process a record is about when it is not this one (the supervisor).
static thread_local long t_subject_pid = 0;
static thread_local const char* t_subject_program = "";

void audit_subject(long pid, const char* program) {
    t_subject_pid = pid;
    t_subject_program = program != nullptr ? program : "";
}
namespace {

constinit int g_audit_fd = -1;  // written once before the shim is ready
constinit std::atomic<bool> g_lost_logged{false};
constinit std::atomic<bool> g_write_failed{false};

const char* kind_text(AuditKind k) {
    switch (k) {
        case AuditKind::kConnect: return "connect";
        case AuditKind::kUdp: return "udp";
        case AuditKind::kLookup: return "lookup";
        case AuditKind::kRefusal: return "refusal";
    }
    return "?";
}

const char* verdict_text(AuditVerdict v) {
    switch (v) {
        case AuditVerdict::kAllow: return "allow";
        case AuditVerdict::kDeny: return "deny";
        case AuditVerdict::kError: return "error";
    }
    return "?";
}

// "ECONNREFUSED" for ECONNREFUSED (glibc ≥ 2.32), else "E<number>".
const char* errno_name(int err, char (&buf)[16]) {
    if (const char* n = strerrorname_np(err)) return n;
    std::snprintf(buf, sizeof buf, "E%d", err);
    return buf;
}

// The numeric address (no port) and the port of a.
bool address_text(const sockaddr* a, char (&out)[INET6_ADDRSTRLEN], int& port) {
    if (a->sa_family == AF_INET) {
        auto* in = reinterpret_cast<const sockaddr_in*>(a);
        port = ntohs(in->sin_port);
        return inet_ntop(AF_INET, &in->sin_addr, out, sizeof out) != nullptr;
    }
    if (a->sa_family == AF_INET6) {
        auto* in6 = reinterpret_cast<const sockaddr_in6*>(a);
        port = ntohs(in6->sin6_port);
        return inet_ntop(AF_INET6, &in6->sin6_addr, out, sizeof out) != nullptr;
    }
    return false;
}

}  // namespace

void audit_open(Config& cfg) {
    if (cfg.audit_path[0] == '\0') return;
    int fd = open(cfg.audit_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    int err = fd < 0 ? errno : 0;
    int high = fd >= 0 ? real::fcntl(fd, F_DUPFD_CLOEXEC, high_fd_floor()) : -1;
    if (high >= 0) {
        real::close(fd);
        fd = high;
    }
    if (fd >= kMaxFds) {  // cannot be hidden from the program
        real::close(fd);
        fd = -1;
        err = EMFILE;
    }
    if (fd < 0) {
        if (cfg.valid) {
            std::snprintf(cfg.error, sizeof cfg.error, "cannot open audit log '%.120s' (%s): %s",
                          cfg.audit_path, kEnvAudit, strerror(err));
            cfg.valid = false;
        }
        return;
    }
    set_kind(fd, FdKind::kHidden);  // the program cannot close or dup it
    g_audit_fd = fd;
}

bool audit_on() { return g_audit_fd >= 0; }

bool audit_failed() { return g_write_failed.load(std::memory_order_relaxed); }

void audit(const Config& cfg, const AuditEvent& e) {
    int fd = g_audit_fd;
    if (fd < 0) return;
    int saved = errno;
    if (kind_of(fd) != FdKind::kHidden) {
        // The program dup2()ed over it: stop rather than write into its file.
        if (!g_lost_logged.exchange(true))
            log_line(LogLevel::kError,
                     "audit log fd %d was replaced by the program; no more records", fd);
        g_write_failed.store(true, std::memory_order_relaxed);
        errno = saved;
        return;
    }
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    char addr[INET6_ADDRSTRLEN];
    char errbuf[16];
    AuditRecord r;
    r.time_ms = static_cast<int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
    r.pid = t_subject_pid != 0 ? t_subject_pid : static_cast<long>(getpid());
    r.program = t_subject_pid != 0                         ? t_subject_program
                : program_invocation_short_name != nullptr ? program_invocation_short_name
                                                           : "";
    r.kind = kind_text(e.kind);
    r.name = e.name;
    r.port = e.port;
    int port = -1;
    if (e.address != nullptr && address_text(e.address, addr, port)) {
        r.address = addr;
        if (e.kind != AuditKind::kLookup) r.port = port;  // a lookup's answer has no port
    }
    if (e.via_proxy && e.via != nullptr && e.via[0] != '\0')
        r.proxy = e.via;
    else if (e.via_proxy && cfg.proxy_text[0] != '\0')
        r.proxy = cfg.proxy_text;
    r.verdict = verdict_text(e.verdict);
    r.reason = e.err != 0 ? errno_name(e.err, errbuf) : e.reason;
    r.ms = e.start_ns != 0 ? static_cast<long>((monotonic_ns() - e.start_ns) / 1000000) : 0;
    char line[kAuditRecordMax];
    size_t n = format_audit_record(r, line, sizeof line);
    ssize_t w;
    while ((w = real::write(fd, line, n)) < 0 && errno == EINTR) {
    }
    if (w != static_cast<ssize_t>(n)) g_write_failed.store(true, std::memory_order_relaxed);
    errno = saved;
}

AuditEvent audit_event(AuditKind kind, const sockaddr* dest, std::string_view name) {
    AuditEvent e;
    e.kind = kind;
    if (!name.empty()) {
        e.name = name;
        if (dest != nullptr) e.port = port_of(dest);
    } else {
        e.address = dest;
    }
    return e;
}

void audit_denied(const Config& cfg, AuditEvent e, const char* reason) {
    e.verdict = AuditVerdict::kDeny;
    e.reason = reason;
    e.via_proxy = false;
    audit(cfg, e);
}

void audit_result(const Config& cfg, AuditEvent e, int err) {
    if (err != 0) {
        e.verdict = AuditVerdict::kError;
        e.err = err;
    }
    audit(cfg, e);
}

// One audit record for a fake-DNS lookup: answered with fake (reason null), or
// refused/failed for reason.
void audit_lookup(const Config& cfg, const char* name, const sockaddr_storage* fake,
                  const char* reason) {
    AuditEvent e = audit_event(AuditKind::kLookup, nullptr, name);
    e.via_proxy = false;  // the name reaches the proxy with the connection, not now
    if (fake != nullptr) {
        e.address = reinterpret_cast<const sockaddr*>(fake);
        audit(cfg, e);
    } else if (strncmp(reason, "EAI_", 4) == 0) {
        e.verdict = AuditVerdict::kError;
        e.reason = reason;
        audit(cfg, e);
    } else {
        audit_denied(cfg, e, reason);
    }
}

}  // namespace socksify::shim
