// Port-53 interception for programs with their own DNS stub (dns_intercept.hpp).
// The message handling is protocol/dns_message (shared with the supervisor); this
// file finds the nameservers, decides the answer and moves the bytes.
#include "shim/dns/dns_intercept.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "protocol/dns_message.hpp"
#include "shim/audit.hpp"
#include "shim/direct_memory.hpp"
#include "shim/dns/dns_tcp.hpp"
#include "shim/dns/resolver.hpp"
#include "shim/fd_table.hpp"
#include "shim/io.hpp"
#include "shim/log.hpp"
#include "shim/police.hpp"
#include "shim/proxy/udp_assoc.hpp"
#include "shim/real.hpp"

namespace socksify::shim {
namespace {

constexpr const char* kResolvConf = "/etc/resolv.conf";
constexpr size_t kMaxNameservers = 8;  // glibc reads 3; stubs such as dig read more
constexpr size_t kMaxQuery = 4096;     // larger than any one-question query
constexpr size_t kMaxAnswer = 4096;    // carried (--dns-tcp) answers are cut here
constexpr uint32_t kAnswerTtl = 60;    // the table keeps a name's address for the run
constexpr int kSelfConnectMs = 2000;   // a loopback self-connect completes at once

struct Nameservers {
    std::atomic<int> state{0};  // 0 not read, 1 reading, 2 ready
    size_t count = 0;
    sockaddr_storage addr[kMaxNameservers] = {};
};
constinit Nameservers g_ns;

void add_nameserver(std::string_view text) {
    char buf[INET6_ADDRSTRLEN + 1];
    if (size_t pct = text.find('%'); pct != std::string_view::npos) text = text.substr(0, pct);
    if (text.empty() || text.size() >= sizeof buf || g_ns.count == kMaxNameservers) return;
    memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    sockaddr_storage& s = g_ns.addr[g_ns.count];
    memset(&s, 0, sizeof s);
    auto& in = reinterpret_cast<sockaddr_in&>(s);
    auto& in6 = reinterpret_cast<sockaddr_in6&>(s);
    if (inet_pton(AF_INET, buf, &in.sin_addr) == 1) {
        in.sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, buf, &in6.sin6_addr) == 1) {
        in6.sin6_family = AF_INET6;
    } else {
        return;
    }
    ++g_ns.count;
}

// resolv.conf(5): "nameserver ADDR" lines; none means 127.0.0.1 (glibc's default).
void read_nameservers() {
    char text[8192];
    size_t len = 0;
    int fd = open(kResolvConf, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n;
        while (len < sizeof text && (n = real::read(fd, text + len, sizeof text - len)) > 0)
            len += static_cast<size_t>(n);
        real::close(fd);
    }
    std::string_view rest(text, len);
    while (!rest.empty()) {
        size_t nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        constexpr std::string_view kKey = "nameserver";
        if (line.substr(0, kKey.size()) != kKey || line.size() == kKey.size() ||
            (line[kKey.size()] != ' ' && line[kKey.size()] != '\t'))
            continue;
        line.remove_prefix(kKey.size());
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
            line.remove_prefix(1);
        size_t end = 0;
        while (end < line.size() && line[end] != ' ' && line[end] != '\t' && line[end] != '\r' &&
               line[end] != '#' && line[end] != ';')
            ++end;
        add_nameserver(line.substr(0, end));
    }
    if (g_ns.count == 0) add_nameserver("127.0.0.1");
}

const Nameservers& nameservers() {
    int s = g_ns.state.load(std::memory_order_acquire);
    if (s == 2) return g_ns;
    int zero = 0;
    if (g_ns.state.compare_exchange_strong(zero, 1, std::memory_order_acq_rel)) {
        read_nameservers();
        g_ns.state.store(2, std::memory_order_release);
        return g_ns;
    }
    // Another thread is reading the file (a few system calls): wait for it, bounded.
    for (int i = 0; i < 100000 && g_ns.state.load(std::memory_order_acquire) != 2; ++i)
        sched_yield();
    return g_ns;
}

// The address bytes of a (v4, v6 or v4-mapped) destination as a v4 or v6 key.
bool address_of(const sockaddr* a, socklen_t len, int& family, const uint8_t*& bytes,
                uint16_t& port) {
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (a == nullptr) return false;
    if (a->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(a);
        family = AF_INET;
        bytes = reinterpret_cast<const uint8_t*>(&in->sin_addr);
        port = ntohs(in->sin_port);
        return true;
    }
    if (a->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a);
        bytes = in6->sin6_addr.s6_addr;
        family = AF_INET6;
        if (memcmp(bytes, kMapped, 12) == 0) {
            bytes += 12;
            family = AF_INET;
        }
        port = ntohs(in6->sin6_port);
        return true;
    }
    return false;
}

bool is_nameserver(const sockaddr* dest, socklen_t len) {
    int family = 0;
    const uint8_t* bytes = nullptr;
    uint16_t port = 0;
    if (!address_of(dest, len, family, bytes, port) || port != 53) return false;
    const Nameservers& ns = nameservers();
    for (size_t i = 0; i < ns.count; ++i) {
        int f = 0;
        const uint8_t* b = nullptr;
        uint16_t p = 0;
        const auto* a = reinterpret_cast<const sockaddr*>(&ns.addr[i]);
        if (address_of(a, sizeof ns.addr[i], f, b, p) && f == family &&
            memcmp(b, bytes, family == AF_INET ? 4 : 16) == 0)
            return true;
    }
    return false;
}

// The addresses getaddrinfo gives name in family, as DNS would carry them.
size_t answer_addresses(const proto::DnsQuery& q, int family, uint8_t* out, size_t cap) {
    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;  // one entry per address
    addrinfo* list = nullptr;
    bool handled = false;
    int rc = fake_getaddrinfo(q.name, nullptr, &hints, &list, handled);
    if (!handled) {
        // A name the real resolver answers: /etc/hosts (no DNS, see fake_getaddrinfo)
        // or a direct suffix (the user's choice to resolve it locally).
        rc = real::getaddrinfo(q.name, nullptr, &hints, &list);
        if (rc == 0 && is_direct_name(q.name))
            for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) remember_direct(ai->ai_addr);
    }
    proto::DnsRcode rcode = proto::DnsRcode::kNoError;
    uint8_t addrs[proto::kDnsMaxAnswers * 16];
    size_t count = 0;
    size_t alen = family == AF_INET ? 4 : 16;
    if (rc == 0) {
        for (addrinfo* ai = list; ai != nullptr && count < proto::kDnsMaxAnswers;
             ai = ai->ai_next) {
            if (ai->ai_family != family) continue;
            const void* b = family == AF_INET
                                ? static_cast<const void*>(
                                      &reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr)
                                : static_cast<const void*>(
                                      &reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr);
            memcpy(addrs + count * alen, b, alen);
            ++count;
        }
        real::freeaddrinfo(list);
    } else if (rc == EAI_NONAME) {
        rcode = proto::DnsRcode::kNxDomain;
    } else if (rc != EAI_NODATA && rc != EAI_ADDRFAMILY) {
        rcode = rc == EAI_FAIL ? proto::DnsRcode::kRefused : proto::DnsRcode::kServFail;
    }
    return proto::encode_dns_answer(proto::Out(out, cap), q, rcode, addrs, alen, count, kAnswerTtl);
}

// Other types: carried through the proxy with --dns-tcp, else refused (the fake
// table has nothing to say about MX or TXT and the nameserver must not be asked).
size_t answer_other(const Config& cfg, const proto::DnsQuery& q, const uint8_t* query, size_t len,
                    uint8_t* out, size_t cap) {
    if (cfg.valid && cfg.dns_tcp && police_lookup(cfg, q.name)) {
        int err = 0;
        int n = dns_query_over_proxy(cfg, query, static_cast<int>(len), out, static_cast<int>(cap),
                                     err);
        if (n >= static_cast<int>(proto::kDnsHeaderSize)) return static_cast<size_t>(n);
        return proto::encode_dns_answer(proto::Out(out, cap), q, proto::DnsRcode::kServFail,
                                        nullptr, 0, 0, 0);
    }
    log_line(LogLevel::kVerbose, "DNS query (type %u) for %s to the nameserver refused%s", q.qtype,
             q.name, cfg.valid && !cfg.dns_tcp ? " (use --dns-tcp to carry it)" : "");
    return proto::encode_dns_answer(proto::Out(out, cap), q, proto::DnsRcode::kRefused, nullptr, 0,
                                    0, 0);
}

// The socket's own address, bound first if it is not (as the kernel's autobind on
// the first send would), with a wildcard address turned into loopback: where a
// datagram or a connect reaches the socket itself.
int self_address(int fd, sockaddr_storage& self, socklen_t& len) {
    len = sizeof self;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&self), &len) != 0) return errno;
    bool v6 = self.ss_family == AF_INET6;
    auto& in = reinterpret_cast<sockaddr_in&>(self);
    auto& in6 = reinterpret_cast<sockaddr_in6&>(self);
    if ((v6 ? in6.sin6_port : in.sin_port) == 0) {
        sockaddr_storage any{};
        any.ss_family = self.ss_family;
        socklen_t any_len = v6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
        if (bind(fd, reinterpret_cast<sockaddr*>(&any), any_len) != 0) return errno;
        len = sizeof self;
        if (getsockname(fd, reinterpret_cast<sockaddr*>(&self), &len) != 0) return errno;
    }
    if (v6 && IN6_IS_ADDR_UNSPECIFIED(&in6.sin6_addr)) in6.sin6_addr = in6addr_loopback;
    if (!v6 && in.sin_addr.s_addr == htonl(INADDR_ANY)) in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return 0;
}

bool same_endpoint(const sockaddr_storage& a, const sockaddr_storage& b) {
    if (a.ss_family != b.ss_family) return false;
    if (a.ss_family == AF_INET) {
        const auto& x = reinterpret_cast<const sockaddr_in&>(a);
        const auto& y = reinterpret_cast<const sockaddr_in&>(b);
        return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
    }
    const auto& x = reinterpret_cast<const sockaddr_in6&>(a);
    const auto& y = reinterpret_cast<const sockaddr_in6&>(b);
    return x.sin6_port == y.sin6_port && memcmp(&x.sin6_addr, &y.sin6_addr, 16) == 0;
}

int socket_type(int fd) {
    int type = 0;
    socklen_t n = sizeof type;
    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &n) == 0 ? type : -1;
}

size_t gather(const msghdr* msg, uint8_t* out, size_t cap, size_t& total) {
    size_t got = 0;
    total = 0;
    for (size_t i = 0; i < msg->msg_iovlen; ++i) {
        const iovec& v = msg->msg_iov[i];
        total += v.iov_len;
        size_t take = got + v.iov_len <= cap ? v.iov_len : cap - got;
        if (take > 0) memcpy(out + got, v.iov_base, take);
        got += take;
    }
    return got;
}

// Partly written TCP queries, by fd: most stubs write the length and the message in
// one call, so a few slots are plenty; without one the stream fails (EAGAIN).
struct Pending {
    std::atomic<int> fd{-1};
    size_t have = 0;
    uint8_t buf[2 + kMaxQuery] = {};
};
constexpr size_t kPendingSlots = 8;
constinit Pending g_pending[kPendingSlots];

Pending* pending_of(int fd, bool create) {
    for (auto& p : g_pending)
        if (p.fd.load(std::memory_order_acquire) == fd) return &p;
    if (!create) return nullptr;
    for (auto& p : g_pending) {
        int free_slot = -1;
        if (p.fd.compare_exchange_strong(free_slot, fd, std::memory_order_acq_rel)) {
            p.have = 0;
            return &p;
        }
    }
    return nullptr;
}

}  // namespace

bool is_intercepted_nameserver(const Config& cfg, const sockaddr* dest, socklen_t len) {
    if (cfg.valid && cfg.dns_mode == DnsMode::kLocal) return false;
    return is_nameserver(dest, len);
}

size_t answer_dns_query(const Config& cfg, const uint8_t* query, size_t len, uint8_t* out,
                        size_t cap) {
    proto::DnsQuery q;
    proto::Result r = decode_dns_query(proto::Bytes(query, len), q);
    if (len < proto::kDnsHeaderSize || (q.flags & proto::kDnsFlagQr)) return 0;
    if (r.status != proto::Status::kDone) {
        bool other_opcode = ((q.flags >> 11) & 0xf) != 0;
        return proto::encode_dns_answer(
            proto::Out(out, cap), q,
            other_opcode ? proto::DnsRcode::kNotImp : proto::DnsRcode::kFormErr, nullptr, 0, 0, 0);
    }
    if (!cfg.valid)
        return proto::encode_dns_answer(proto::Out(out, cap), q, proto::DnsRcode::kServFail,
                                        nullptr, 0, 0, 0);
    if (q.qclass == proto::kDnsClassIn && q.name_len > 0 &&
        (q.qtype == proto::kDnsTypeA || q.qtype == proto::kDnsTypeAaaa))
        return answer_addresses(q, q.qtype == proto::kDnsTypeA ? AF_INET : AF_INET6, out, cap);
    return answer_other(cfg, q, query, len, out, cap);
}

bool dns_intercept_connect(int fd, const sockaddr* dest, socklen_t len, const Config& cfg,
                           int& err) {
    if (!is_intercepted_nameserver(cfg, dest, len)) return false;
    int type = socket_type(fd);
    if (type != SOCK_DGRAM && type != SOCK_STREAM) return false;
    if (type == SOCK_DGRAM && kind_of(fd) == FdKind::kNone) adopt_udp(fd);  // made before load
    FdRecord* rec = fd_record(fd);
    err = EACCES;  // never to the nameserver: refuse what cannot be answered here
    if (rec == nullptr || (type == SOCK_DGRAM && kind_of(fd) != FdKind::kUdp)) return true;
    sockaddr_storage self;
    socklen_t self_len = 0;
    if ((err = self_address(fd, self, self_len)) != 0) return true;
    if (type == SOCK_STREAM) {
        // A TCP socket connected to itself (simultaneous open): what the shim writes
        // into it, the program reads.
        err = connect_until(fd, reinterpret_cast<sockaddr*>(&self), self_len,
                            Deadline::after_ms(kSelfConnectMs));
        if (err != 0) return true;
        if (Pending* p = pending_of(fd, false)) p->fd.store(-1, std::memory_order_release);
    } else if (real::connect(fd, reinterpret_cast<sockaddr*>(&self), self_len) != 0) {
        err = errno;
        return true;
    }
    memcpy(&rec->peer, dest, len < sizeof rec->peer ? len : sizeof rec->peer);
    rec->peer_len = len < sizeof rec->peer ? len : sizeof rec->peer;
    remember_object(fd, *rec);  // the record is checked against its socket before use
    if (type == SOCK_STREAM)
        set_kind(fd, FdKind::kDnsStream);
    else
        rec->udp.connected = true;
    err = 0;
    return true;
}

bool dns_udp_send(int fd, const msghdr* msg, const Config& cfg, ssize_t& n, int& err) {
    FdRecord* rec = fd_record(fd);
    if (rec == nullptr) return false;
    const auto* dest = static_cast<const sockaddr*>(msg->msg_name);
    socklen_t dest_len = msg->msg_namelen;
    if (dest == nullptr) {
        if (!rec->udp.connected || rec->peer_len == 0) return false;
        dest = reinterpret_cast<const sockaddr*>(&rec->peer);
        dest_len = rec->peer_len;
    }
    if (!is_intercepted_nameserver(cfg, dest, dest_len)) return false;
    uint8_t query[kMaxQuery];
    size_t total = 0;
    size_t got = gather(msg, query, sizeof query, total);
    sockaddr_storage self;
    socklen_t self_len = 0;
    if ((err = self_address(fd, self, self_len)) != 0) {
        n = -1;
        return true;
    }
    if (dest != reinterpret_cast<const sockaddr*>(&rec->peer)) {
        // The reply's source: remembered only on a socket not connected elsewhere.
        if (!rec->udp.connected) {
            memcpy(&rec->peer, dest, dest_len < sizeof rec->peer ? dest_len : sizeof rec->peer);
            rec->peer_len = dest_len < sizeof rec->peer ? dest_len : sizeof rec->peer;
        }
    }
    uint8_t answer[kMaxAnswer];
    size_t alen = got == total ? answer_dns_query(cfg, query, got, answer, sizeof answer) : 0;
    if (alen > 0)
        (void)real::sendto(fd, answer, alen, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&self),
                           self_len);
    n = static_cast<ssize_t>(total);
    err = 0;
    return true;
}

void dns_udp_source(int fd, sockaddr_storage& from, socklen_t& len) {
    FdRecord* rec = fd_record(fd);
    if (rec == nullptr || rec->peer_len == 0 ||
        !is_nameserver(reinterpret_cast<sockaddr*>(&rec->peer), rec->peer_len))
        return;
    if (!rec->udp.connected) {
        sockaddr_storage self;
        socklen_t self_len = 0;
        if (self_address(fd, self, self_len) != 0 || !same_endpoint(self, from)) return;
    }
    from = rec->peer;
    len = rec->peer_len;
}

ssize_t dns_stream_send(int fd, const msghdr* msg, const Config& cfg, int& err) {
    Pending* p = pending_of(fd, true);
    if (p == nullptr) {
        err = EAGAIN;
        return -1;
    }
    size_t total = 0;
    size_t got = gather(msg, p->buf + p->have, sizeof p->buf - p->have, total);
    if (got != total) {  // a query longer than any one-question query
        p->fd.store(-1, std::memory_order_release);
        err = EMSGSIZE;
        return -1;
    }
    p->have += got;
    size_t at = 0;
    Deadline deadline = Deadline::after_ms(cfg.valid ? cfg.timeout_ms : 5000);
    while (p->have - at >= 2) {
        size_t len = (static_cast<size_t>(p->buf[at]) << 8) | p->buf[at + 1];
        if (p->have - at - 2 < len) break;
        uint8_t answer[2 + kMaxAnswer];
        size_t alen = answer_dns_query(cfg, p->buf + at + 2, len, answer + 2, kMaxAnswer);
        at += 2 + len;
        if (alen == 0) continue;
        answer[0] = static_cast<uint8_t>(alen >> 8);
        answer[1] = static_cast<uint8_t>(alen);
        if ((err = send_all(fd, {answer, 2 + alen}, deadline)) != 0) {
            p->fd.store(-1, std::memory_order_release);
            return -1;
        }
    }
    memmove(p->buf, p->buf + at, p->have - at);
    p->have -= at;
    if (p->have == 0) p->fd.store(-1, std::memory_order_release);
    err = 0;
    return static_cast<ssize_t>(total);
}

}  // namespace socksify::shim
