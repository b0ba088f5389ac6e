// CONNECT through the proxy on the program's fd: pick a proxy address the socket's
// family can reach, connect under the deadline, run the handshake (pipelined only
// when the launcher's probe found the proxy keeps early bytes), record the peer.
#include "shim/proxy/tcp_connect.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "protocol/pipeline_probe.hpp"
#include "shim/audit.hpp"
#include "shim/dns/names.hpp"
#include "shim/fd_table.hpp"
#include "shim/init.hpp"
#include "shim/io.hpp"
#include "shim/log.hpp"
#include "shim/police.hpp"
#include "shim/proxy/chain.hpp"
#include "shim/proxy/handshake.hpp"
#include "shim/proxy/pending.hpp"
#include "shim/proxy/socks_address.hpp"
#include "shim/proxy/upstream.hpp"
#include "shim/real.hpp"
#include "shim/shared_state.hpp"
#include "shim/socket_ops.hpp"

namespace socksify::shim {

int reachable_address(int fd, int& domain, const sockaddr_storage& proxy, socklen_t proxy_len,
                      sockaddr_storage& out, socklen_t& out_len) {
    memcpy(&out, &proxy, sizeof out);
    out_len = proxy_len;
    int proxy_family = proxy.ss_family;
    if (domain == proxy_family) return 0;
    if (domain == AF_INET6 && proxy_family == AF_INET) {
        int v6only = 0;
        socklen_t len = sizeof v6only;
        if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len) == 0 && !v6only) {
            auto& in = reinterpret_cast<const sockaddr_in&>(proxy);
            sockaddr_in6 mapped{};
            mapped.sin6_family = AF_INET6;
            mapped.sin6_port = in.sin_port;
            mapped.sin6_addr.s6_addr[10] = mapped.sin6_addr.s6_addr[11] = 0xff;
            memcpy(mapped.sin6_addr.s6_addr + 12, &in.sin_addr, 4);
            memcpy(&out, &mapped, sizeof mapped);
            out_len = sizeof mapped;
            return 0;
        }
    }
    int err =
        replace_socket(fd, proxy_family, true);  // not connected yet: a binding is the program's
    if (err == 0) domain = proxy_family;
    return err;
}

namespace {

// The upstream(s) of the calling thread's last connection, for its log line.
thread_local char t_via[160];

// One attempt over the whole way (proxy, route or chain) under deadline.
int attempt(int fd, int& domain, const proto::Request& request, const Config& cfg,
            const RouteSpec* route, HandshakeMode mode, const Deadline& deadline,
            HandshakeResult& result) {
    Path path;
    int err =
        path.start(fd, domain, cfg, route, request, mode == HandshakeMode::kPipelined, deadline);
    snprintf(t_via, sizeof t_via, "%s", path.via());
    return err != 0 ? err : run_path(fd, domain, path, result);
}

void log_connect(int fd, const sockaddr* dest, std::string_view name, const Config& cfg, int err,
                 int64_t start_ns) {
    // What the upstream said, on this line: a failure logs one line (taken on success
    // too: a dynamic chain's skipped hop is not a later line's).
    const char* said = take_upstream_answer();
    LogLevel level = err == 0 ? LogLevel::kVerbose : LogLevel::kError;
    if (static_cast<int>(level) > static_cast<int>(cfg.log_level)) return;
    char dest_text[64];
    long ms = static_cast<long>((monotonic_ns() - start_ns) / 1000000);
    format_sockaddr(dest, dest_text, sizeof dest_text);
    log_line(level, "connect fd %d to %.*s%s%s via %s (%s): %s%s%s (%ld ms)", fd,
             static_cast<int>(name.size()), name.data(), name.empty() ? "" : " = ", dest_text,
             t_via[0] != '\0' ? t_via : cfg.proxy_text, pipelining(cfg) ? "pipelined" : "stepwise",
             err == 0 ? "ok" : strerror(err), said[0] ? ": " : "", said, ms);
}

void audit_connect(const Config& cfg, const sockaddr* dest, std::string_view name, int err,
                   int64_t start_ns, bool via_proxy = true) {
    AuditEvent e = audit_event(AuditKind::kConnect, dest, name);
    e.start_ns = start_ns;
    e.via_proxy = via_proxy;
    e.via = t_via;  // the hops this thread's connection used (chains, routes)
    audit_result(cfg, e, err);
}

}  // namespace

int proxied_tcp_connect(int fd, const sockaddr* dest, socklen_t dest_len, const Config& cfg,
                        bool fresh) {
    int64_t start = monotonic_ns();
    t_via[0] = '\0';
    if (!cfg.valid) {
        // Never fall back to a direct connection on a broken configuration.
        log_line(LogLevel::kError, "refusing connect: %s", cfg.error);
        audit_denied(cfg, audit_event(AuditKind::kRefusal, dest), "config");
        return EACCES;
    }
    // A fake address stands for a name: the proxy gets the name, never a guess.
    std::string_view name;
    uint32_t index = 0;
    if (cfg.dns_mode == DnsMode::kRemote && fake_index_of(cfg, dest, index)) {
        name = fake_name_of(cfg, dest);
        if (name.empty()) {
            log_connect(fd, dest, name, cfg, EHOSTUNREACH, start);
            audit_connect(cfg, dest, name, EHOSTUNREACH, start, false);
            return EHOSTUNREACH;
        }
    }
    if (int err = police(cfg, dest, name, AuditKind::kConnect)) return err;
    // One read of the status flags picks the path, and is what the blocking path puts
    // back. A non-blocking socket gets EINPROGRESS; its exchange runs in the readiness
    // hooks and ends in finish_connect (shim/proxy/pending.cpp). Without a free slot:
    // blocking.
    int flags = real::fcntl(fd, F_GETFL, 0);
    int err = flags < 0 ? errno : kNoPending;
    if (flags >= 0 && (flags & O_NONBLOCK) != 0)
        err = start_pending(fd, dest, dest_len, name, cfg, find_route(cfg, dest, name), start);
    if (err == EINPROGRESS) return err;
    if (err == kNoPending) {
        err = connect_blocking(fd, flags, dest, dest_len, name, cfg, fresh);
    } else if (flags >= 0) {
        settle(fd, dest, dest_len, err);
    }
    log_connect(fd, dest, name, cfg, err, start);
    audit_connect(cfg, dest, name, err, start);
    return err;
}

void finish_connect(int fd, const sockaddr* dest, socklen_t dest_len, std::string_view name,
                    const Config& cfg, int err, int64_t start_ns, const char* via) {
    snprintf(t_via, sizeof t_via, "%s", via);
    // start_pending took the identity after the socket's last replacement.
    settle(fd, dest, dest_len, err, true);
    log_connect(fd, dest, name, cfg, err, start_ns);
    audit_connect(cfg, dest, name, err, start_ns);
}

HandshakeMode handshake_mode(const Config& cfg) {
    return pipelining(cfg) ? HandshakeMode::kPipelined : HandshakeMode::kStepwise;
}

Credentials proxy_credentials(const Config& cfg) {
    if (!cfg.has_auth) return {};
    return {{cfg.user, cfg.user_len}, {cfg.pass, cfg.pass_len}};
}

bool pipelining(const Config& cfg) {
    return cfg.pipeline && shared_state().pipeline.load(std::memory_order_relaxed) ==
                               static_cast<uint32_t>(proto::PipelineVerdict::kSafe);
}

int proxy_exchange(int fd, int domain, const proto::Request& request, const Config& cfg,
                   const Deadline& deadline, HandshakeResult& result) {
    // One attempt, whatever the proxy's speed: a retry would be a second connection
    // to a server that may simply be slow.
    return attempt(fd, domain, request, cfg, nullptr, handshake_mode(cfg), deadline, result);
}

int connect_via_proxy(int fd, const sockaddr* dest, socklen_t dest_len, std::string_view name,
                      const Config& cfg) {
    int flags = real::fcntl(fd, F_GETFL, 0);
    if (flags < 0) return errno;
    return connect_blocking(fd, flags, dest, dest_len, name, cfg, false);
}

int connect_blocking(int fd, int flags, const sockaddr* dest, socklen_t dest_len,
                     std::string_view name, const Config& cfg, bool fresh) {
    if (int err = make_nonblocking(fd, flags)) return err;
    Deadline deadline = Deadline::after_ms(cfg.timeout_ms);
    proto::Request request{proto::Command::kConnect, socks_address(dest, name)};
    HandshakeResult result;
    // The hook checked that the socket's family is dest's.
    int domain = dest->sa_family;
    const RouteSpec* route = find_route(cfg, dest, name);
    int err = route != nullptr ? attempt(fd, domain, request, cfg, route, HandshakeMode::kStepwise,
                                         deadline, result)
                               : proxy_exchange(fd, domain, request, cfg, deadline, result);
    settle(fd, dest, dest_len, err, fresh);
    restore_blocking(fd, flags);
    return err;
}

void settle(int fd, const sockaddr* dest, socklen_t dest_len, int err, bool fresh) {
    if (err == EISCONN || err == EALREADY) {
        // The program's own connection (direct, or still connecting): left alone.
    } else if (err != 0) {
        (void)shutdown(fd, SHUT_RDWR);  // fail closed: nothing more flows on this socket
    } else if (FdRecord* rec = fd_record(fd)) {
        if (dest_len > sizeof rec->peer) dest_len = sizeof rec->peer;
        memcpy(&rec->peer, dest, dest_len);
        rec->peer_len = dest_len;
        rec->domain = dest->sa_family;
        // Known already unless the socket under fd was replaced (forget_object).
        if (!fresh || rec->ino == 0) remember_object(fd, *rec);
        // While it is open, the name behind a fake peer is not given to another.
        record_pin(fd, *rec, config(), dest);
        set_kind(fd, FdKind::kTcpProxied);
    }
}

}  // namespace socksify::shim
