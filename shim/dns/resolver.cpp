// Name lookups under remote DNS: the fake-DNS table answers, /etc/hosts and direct
// suffixes go to the real resolver, and nothing else may reach a nameserver.
#include "shim/dns/resolver.hpp"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>

#include <cerrno>
#include <cstring>

#include "shim/audit.hpp"
#include "shim/dns/dns_tcp.hpp"
#include "shim/dns/fake_dns.hpp"
#include "shim/dns/hosts_file.hpp"
#include "shim/dns/names.hpp"
#include "shim/init.hpp"
#include "shim/io.hpp"
#include "shim/log.hpp"
#include "shim/police.hpp"
#include "shim/real.hpp"

namespace socksify::shim {
namespace {

constexpr const char* kHostsPath = "/etc/hosts";

// True when some non-loopback interface has an address of family (AI_ADDRCONFIG).
bool have_family(int family) {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return true;
    bool found = false;
    for (ifaddrs* i = list; i != nullptr && !found; i = i->ifa_next) {
        if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != family) continue;
        if (family == AF_INET) {
            auto* in = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
            found = (ntohl(in->sin_addr.s_addr) >> 24) != 127;
        } else {
            auto* in6 = reinterpret_cast<sockaddr_in6*>(i->ifa_addr);
            found = !IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
        }
    }
    freeifaddrs(list);
    return found;
}

// The family a fake answer uses: AF_UNSPEC answers IPv4 only (one proxy connection
// per connect, no happy-eyeballs doubling), unless AI_ADDRCONFIG finds no IPv4.
int answer_family(int family, int flags) {
    if (family == AF_INET6) return AF_INET6;
    if (family == AF_UNSPEC && (flags & AI_ADDRCONFIG) && !have_family(AF_INET) &&
        have_family(AF_INET6))
        return AF_INET6;
    return AF_INET;
}

const Config& ready_config() {
    ensure_ready();
    return config();
}

void copy_address(addrinfo* ai, const sockaddr_storage& fake) {
    if (ai->ai_addr->sa_family == AF_INET) {
        reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr =
            reinterpret_cast<const sockaddr_in&>(fake).sin_addr;
    } else if (ai->ai_addr->sa_family == AF_INET6) {
        reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr =
            reinterpret_cast<const sockaddr_in6&>(fake).sin6_addr;
    }
}

// Lays a one-address hostent out in the caller's buffer (the _r contract).
int fill_hostent(const char* name, int af, const void* addr, hostent* out, char* buf, size_t buflen,
                 hostent** result, int* h_errnop) {
    size_t addr_len = af == AF_INET6 ? 16 : 4;
    size_t name_len = strlen(name) + 1;
    uintptr_t base = reinterpret_cast<uintptr_t>(buf);
    size_t pad = (alignof(char*) - base % alignof(char*)) % alignof(char*);
    size_t need = pad + 3 * sizeof(char*) + addr_len + name_len;
    *result = nullptr;
    if (buflen < need) {
        *h_errnop = NETDB_INTERNAL;
        return ERANGE;
    }
    char** ptrs = reinterpret_cast<char**>(buf + pad);  // addr_list[2], aliases[1]
    char* addr_copy = reinterpret_cast<char*>(ptrs + 3);
    char* name_copy = addr_copy + addr_len;
    memcpy(addr_copy, addr, addr_len);
    memcpy(name_copy, name, name_len);
    ptrs[0] = addr_copy;
    ptrs[1] = nullptr;
    ptrs[2] = nullptr;
    out->h_name = name_copy;
    out->h_aliases = ptrs + 2;
    out->h_addrtype = af;
    out->h_length = static_cast<int>(addr_len);
    out->h_addr_list = ptrs;
    *result = out;
    *h_errnop = 0;
    return 0;
}

const void* sockaddr_bytes(const sockaddr_storage& s) {
    if (s.ss_family == AF_INET6) return &reinterpret_cast<const sockaddr_in6&>(s).sin6_addr;
    return &reinterpret_cast<const sockaddr_in&>(s).sin_addr;
}

// A reverse lookup of a real address may reach a nameserver unless the hosts file
// answers it; under remote DNS it is answered numerically instead.
bool reverse_stays_local(const Config& cfg, int family, const void* addr) {
    if (cfg.dns_mode == DnsMode::kLocal) return true;
    return hosts_file_has_address(kHostsPath, family, addr);
}

// glibc's freeaddrinfo frees ai_canonname with free(); on failure list is freed.
int set_canonical_name(addrinfo* list, const char* node) {
    char* canon = strdup(node);
    if (canon == nullptr) {
        real::freeaddrinfo(list);
        return EAI_MEMORY;
    }
    free(list->ai_canonname);
    list->ai_canonname = canon;
    return 0;
}

// An IP literal, or a string that is no host name: the real getaddrinfo with
// AI_NUMERICHOST makes every check a lookup would (flags, family, service) and then
// gives the literal's address (scope id included) or, for a non-name, EAI_NONAME —
// what glibc's DNS backend answers before asking anyone. Never a lookup.
int answer_without_lookup(const char* node, const HostText& host, const char* service,
                          const addrinfo* hints, addrinfo** res) {
    addrinfo shape = hints != nullptr ? *hints : addrinfo{};
    if (hints == nullptr) shape.ai_flags = AI_V4MAPPED | AI_ADDRCONFIG;
    // glibc's inet_aton takes no trailing dot: pass the address itself, unless the
    // caller asked for libc's numeric parsing (which refuses the dot) by AI_NUMERICHOST.
    char text[INET_ADDRSTRLEN];
    const char* numeric = node;
    if (host.kind == HostKind::kIpv4 && host.trailing_dot && !(shape.ai_flags & AI_NUMERICHOST) &&
        inet_ntop(AF_INET, host.addr, text, sizeof text) != nullptr)
        numeric = text;
    shape.ai_flags |= AI_NUMERICHOST;
    int rc = real::getaddrinfo(numeric, service, &shape, res);
    if (rc == 0 && numeric != node && (shape.ai_flags & AI_CANONNAME))
        rc = set_canonical_name(*res, node);
    return rc;
}

// True when glibc's gethostbyname answers the literal itself without a lookup (its
// digits-and-dots rule): IPv4 in decimal digits and dots, no trailing dot; IPv6
// without a scope.
bool libc_reads_literal(const char* name, const HostText& host) {
    if (host.kind == HostKind::kIpv6) return !host.scoped;
    if (host.trailing_dot) return false;
    for (const char* p = name; *p != '\0'; ++p)
        if (!((*p >= '0' && *p <= '9') || *p == '.')) return false;
    return true;
}

// gethostbyname* for an IP literal glibc would look up as a name (hex, a trailing
// dot, a scope id) and for a string that is no host name, with the h_errno glibc's
// own checks give (measured; tests/unit/resolver_test.cpp).
int hostent_without_lookup(const char* name, int af, const HostText& host, hostent* out, char* buf,
                           size_t buflen, hostent** result, int* h_errnop) {
    *result = nullptr;
    bool family_ok = af == AF_INET || af == AF_INET6;
    bool empty = name[0] == '\0';
    if ((host.kind == HostKind::kIpv4 || empty) && !family_ok) {
        *h_errnop = NO_DATA;  // glibc's pair for a family it has no backend for
        return EAFNOSUPPORT;
    }
    if (host.kind == HostKind::kIpv4 && af == AF_INET)
        return fill_hostent(name, AF_INET, host.addr, out, buf, buflen, result, h_errnop);
    // A scoped IPv6 literal (gethostbyname has no scope id), an IPv4 literal asked
    // for as IPv6, a non-name; "" fails its query's construction.
    *h_errnop = empty ? NO_RECOVERY : HOST_NOT_FOUND;
    return 0;
}

// A name glibc's files backend answers, asked for a family its lines lack: glibc would
// go on to the next source (nsswitch "files dns") and ask a nameserver, which remote
// DNS must never do. True when the lookup is to be answered here, from entry.
bool hosts_lacks_family(const Config& cfg, const char* name, int family, HostsEntry& entry) {
    if (!cfg.valid || cfg.dns_mode == DnsMode::kLocal) return false;
    unsigned want = family == AF_INET ? kHostsHasV4 : family == AF_INET6 ? kHostsHasV6 : 0;
    if (want == 0) return false;  // AF_UNSPEC: any line answers it
    entry = hosts_file_entry(kHostsPath, name);
    return entry.families != 0 && (entry.families & want) == 0;
}

// getaddrinfo for such a name: the file's IPv4 address mapped when AI_V4MAPPED asks
// for it, else no address (EAI_NONAME), never DNS.
int hosts_only_getaddrinfo(const char* node, const char* service, const addrinfo* hints,
                           const HostsEntry& entry, addrinfo** res) {
    int flags = hints->ai_flags;
    if (hints->ai_family != AF_INET6 || !(flags & AI_V4MAPPED) || !(entry.families & kHostsHasV4))
        return EAI_NONAME;
    char text[INET6_ADDRSTRLEN] = "::ffff:";
    if (inet_ntop(AF_INET, entry.v4, text + 7, sizeof text - 7) == nullptr) return EAI_NONAME;
    addrinfo shape = *hints;
    shape.ai_flags =
        (flags & ~(AI_CANONNAME | AI_V4MAPPED | AI_ALL | AI_ADDRCONFIG)) | AI_NUMERICHOST;
    addrinfo* list = nullptr;
    int rc = real::getaddrinfo(text, service, &shape, &list);
    if (rc != 0) return rc;
    if (flags & AI_CANONNAME) {
        char* canon = strdup(node);  // glibc's freeaddrinfo frees it with free()
        if (canon == nullptr) {
            real::freeaddrinfo(list);
            return EAI_MEMORY;
        }
        list->ai_canonname = canon;
    }
    *res = list;
    return 0;
}

}  // namespace

int fake_getaddrinfo(const char* node, const char* service, const addrinfo* hints, addrinfo** res,
                     bool& handled) {
    handled = false;
    const Config& cfg = ready_config();
    // glibc's defaults when hints is null.
    int flags = hints != nullptr ? hints->ai_flags : (AI_V4MAPPED | AI_ADDRCONFIG);
    HostText host;
    NameRoute route = route_name(cfg, node, (flags & AI_IDN) != 0, host);
    if (route == NameRoute::kLocal) {
        HostsEntry entry{};
        if (hints == nullptr || !hosts_lacks_family(cfg, node, hints->ai_family, entry)) return 0;
        handled = true;
        return hosts_only_getaddrinfo(node, service, hints, entry, res);
    }
    handled = true;
    if (route == NameRoute::kLiteral || route == NameRoute::kNotFound)
        return answer_without_lookup(node, host, service, hints, res);
    if (route == NameRoute::kRefuse) {
        log_line(cfg.valid ? LogLevel::kVerbose : LogLevel::kError, "lookup of %s refused (%s)",
                 node, cfg.valid ? "--dns off" : cfg.error);
        audit_lookup(cfg, node, nullptr, cfg.valid ? "dns-off" : "config");
        return cfg.valid ? EAI_NONAME : EAI_FAIL;
    }
    if (!police_lookup(cfg, node)) return EAI_FAIL;
    int family = hints != nullptr ? hints->ai_family : AF_UNSPEC;
    if (flags & AI_NUMERICHOST) return EAI_NONAME;
    if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6) return EAI_FAMILY;
    int fam = answer_family(family, flags);
    // The real getaddrinfo on a numeric wildcard builds the list (socket types,
    // protocols, service ports) exactly as glibc would; only the address changes.
    addrinfo shape = hints != nullptr ? *hints : addrinfo{};
    shape.ai_family = fam;
    shape.ai_flags =
        (flags & ~(AI_CANONNAME | AI_V4MAPPED | AI_ALL | AI_ADDRCONFIG)) | AI_NUMERICHOST;
    shape.ai_addr = nullptr;
    shape.ai_canonname = nullptr;
    shape.ai_next = nullptr;
    addrinfo* list = nullptr;
    int rc = real::getaddrinfo(fam == AF_INET ? "0.0.0.0" : "::", service, &shape, &list);
    if (rc != 0) return rc;
    sockaddr_storage fake;
    socklen_t len = 0;
    // The name as a query would carry it (escapes undone).
    if ((rc = fake_lookup(cfg, host.name, fam, fake, len)) != 0) {
        real::freeaddrinfo(list);
        audit_lookup(cfg, node, nullptr, rc == EAI_AGAIN ? "EAI_AGAIN" : "EAI_NONAME");
        return rc;
    }
    for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) copy_address(ai, fake);
    audit_lookup(cfg, node, &fake, nullptr);
    if ((flags & AI_CANONNAME) && (rc = set_canonical_name(list, node)) != 0) return rc;
    *res = list;
    return 0;
}

bool dns_is_remote() {
    const Config& cfg = ready_config();
    return !cfg.valid || cfg.dns_mode != DnsMode::kLocal;
}

bool is_direct_name(const char* name) {
    const Config& cfg = ready_config();
    HostText host;
    return cfg.valid && cfg.suffix_count > 0 && cfg.dns_mode != DnsMode::kLocal &&
           route_name(cfg, name, false, host) == NameRoute::kLocal && name != nullptr;
}

int fake_gethostbyname(const char* name, int af, hostent* out, char* buf, size_t buflen,
                       hostent** result, int* h_errnop, bool& handled) {
    handled = false;
    const Config& cfg = ready_config();
    HostText host;
    NameRoute route = route_name(cfg, name, false, host);
    if (route == NameRoute::kLocal) {
        HostsEntry entry{};
        if (!hosts_lacks_family(cfg, name, af, entry)) return 0;
        handled = true;  // in the hosts file, not in this family: no DNS for the rest
        *result = nullptr;
        *h_errnop = HOST_NOT_FOUND;
        return 0;
    }
    if (route == NameRoute::kLiteral && libc_reads_literal(name, host)) return 0;
    handled = true;
    *result = nullptr;
    if (route == NameRoute::kLiteral || route == NameRoute::kNotFound)
        return hostent_without_lookup(name, af, host, out, buf, buflen, result, h_errnop);
    if (route == NameRoute::kRefuse) {
        audit_lookup(cfg, name, nullptr, cfg.valid ? "dns-off" : "config");
        *h_errnop = HOST_NOT_FOUND;
        return 0;
    }
    if (!police_lookup(cfg, name)) {
        *h_errnop = NO_RECOVERY;
        return EACCES;
    }
    if (af != AF_INET && af != AF_INET6) {
        *h_errnop = NO_DATA;  // as glibc (measured)
        return EAFNOSUPPORT;
    }
    sockaddr_storage fake;
    socklen_t len = 0;
    if (int rc = fake_lookup(cfg, host.name, af, fake, len); rc != 0) {
        if (rc == EAI_FAIL) {  // supervised: the supervisor's policy refused it
            *h_errnop = NO_RECOVERY;
            return EACCES;
        }
        audit_lookup(cfg, name, nullptr, rc == EAI_AGAIN ? "EAI_AGAIN" : "EAI_NONAME");
        if (rc == EAI_AGAIN) {  // the table is full: another time, perhaps
            *h_errnop = TRY_AGAIN;
            return EAGAIN;
        }
        *h_errnop = HOST_NOT_FOUND;  // a name that can never be carried (too long)
        return 0;
    }
    audit_lookup(cfg, name, &fake, nullptr);
    return fill_hostent(name, af, sockaddr_bytes(fake), out, buf, buflen, result, h_errnop);
}

int fake_gethostbyaddr(const void* addr, socklen_t len, int type, hostent* out, char* buf,
                       size_t buflen, hostent** result, int* h_errnop, bool& handled) {
    handled = false;
    if (addr == nullptr || !((type == AF_INET && len == 4) || (type == AF_INET6 && len == 16)))
        return 0;
    const Config& cfg = ready_config();
    uint32_t index = 0;
    if (!fake_index_of_bytes(cfg, type, addr, index)) {
        if (reverse_stays_local(cfg, type, addr)) return 0;
        handled = true;
        *result = nullptr;
        *h_errnop = HOST_NOT_FOUND;
        return 0;
    }
    handled = true;
    sockaddr_storage sa{};
    socklen_t salen = 0;
    fake_address(cfg, index, type, sa, salen);
    std::string_view name = fake_name_of(cfg, reinterpret_cast<sockaddr*>(&sa));
    char text[kMaxName + 1];
    if (name.empty()) {
        *result = nullptr;
        *h_errnop = HOST_NOT_FOUND;
        return 0;
    }
    memcpy(text, name.data(), name.size());
    text[name.size()] = '\0';
    return fill_hostent(text, type, addr, out, buf, buflen, result, h_errnop);
}

int fake_getnameinfo(const sockaddr* sa, socklen_t salen, char* host, socklen_t hostlen, char* serv,
                     socklen_t servlen, int flags, bool& handled) {
    handled = false;
    if (sa == nullptr || host == nullptr || hostlen == 0 || (flags & NI_NUMERICHOST)) return 0;
    if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) return 0;
    const Config& cfg = ready_config();
    uint32_t index = 0;
    const void* bytes =
        sa->sa_family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(sa)->sin_addr)
            : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr);
    bool fake = fake_index_of(cfg, sa, index);
    if (!fake && reverse_stays_local(cfg, sa->sa_family, bytes)) return 0;
    handled = true;
    std::string_view name = fake ? fake_name_of(cfg, sa) : std::string_view{};
    if (name.empty()) {
        if (flags & NI_NAMEREQD) return EAI_NONAME;
        return real::getnameinfo(sa, salen, host, hostlen, serv, servlen, flags | NI_NUMERICHOST);
    }
    if (name.size() + 1 > hostlen) return EAI_OVERFLOW;
    if (serv != nullptr && servlen > 0) {
        int rc = real::getnameinfo(sa, salen, nullptr, 0, serv, servlen, flags | NI_NUMERICHOST);
        if (rc != 0) return rc;
    }
    memcpy(host, name.data(), name.size());
    host[name.size()] = '\0';
    return 0;
}

int res_common(const char* name, const char* domain, int klass, int type, const unsigned char* msg,
               int msglen, unsigned char* answer, int anslen, int* h_errnop) {
    const Config& cfg = ready_config();
    if (!cfg.valid || !cfg.dns_tcp) {
        log_line(LogLevel::kError, "refusing res_* query for %s: it would bypass the proxy%s",
                 name != nullptr ? name : "(raw message)",
                 cfg.valid ? " (use --dns-tcp to carry it)" : "");
        audit_denied(cfg, audit_event(AuditKind::kRefusal, nullptr, name != nullptr ? name : ""),
                     cfg.valid ? "res-query" : "config");
        *h_errnop = NO_RECOVERY;
        errno = EACCES;
        return -1;
    }
    unsigned char query[NS_PACKETSZ + NS_MAXDNAME];
    if (msg == nullptr) {
        char full[NS_MAXDNAME];
        int n = domain != nullptr ? snprintf(full, sizeof full, "%s.%s", name, domain)
                                  : snprintf(full, sizeof full, "%s", name);
        if (n < 0 || static_cast<size_t>(n) >= sizeof full) {
            *h_errnop = NO_RECOVERY;
            errno = EMSGSIZE;
            return -1;
        }
        msglen =
            res_mkquery(ns_o_query, full, klass, type, nullptr, 0, nullptr, query, sizeof query);
        if (msglen < 0) {
            *h_errnop = NO_RECOVERY;
            return -1;
        }
        msg = query;
    }
    // The policy judges the name asked about, as for getaddrinfo; a message whose
    // question cannot be read is judged as no name (only "*" or the default allow it).
    char asked[NS_MAXDNAME] = "";
    if (msglen >= NS_HFIXEDSZ && ((msg[4] << 8) | msg[5]) != 0 &&
        dn_expand(msg, msg + msglen, msg + NS_HFIXEDSZ, asked, sizeof asked) < 0) {
        asked[0] = '\0';
    }
    if (!police_lookup(cfg, asked)) {
        *h_errnop = NO_RECOVERY;
        errno = EACCES;
        return -1;
    }
    int err = 0;
    int64_t start = monotonic_ns();
    int n = dns_query_over_proxy(cfg, msg, msglen, answer, anslen, err);
    // A carried query's record names the nameserver as its address, and the proxy.
    AuditEvent e = audit_event(AuditKind::kLookup, nullptr, asked);
    e.address = reinterpret_cast<const sockaddr*>(&cfg.dns_server);
    e.start_ns = start;
    audit_result(cfg, e, n < 0 ? err : 0);
    if (n < 0) {
        log_line(LogLevel::kError, "DNS over TCP through the proxy failed: %s", strerror(err));
        *h_errnop = TRY_AGAIN;
        errno = err;
        return -1;
    }
    if (name != nullptr && n >= NS_HFIXEDSZ) {
        // res_query reports the answer's RCODE through h_errno, as glibc does.
        int rcode = answer[3] & 0x0f;
        int ancount = (answer[6] << 8) | answer[7];
        if (rcode == ns_r_nxdomain) {
            *h_errnop = HOST_NOT_FOUND;
            return -1;
        }
        if (rcode == ns_r_servfail) {
            *h_errnop = TRY_AGAIN;
            return -1;
        }
        if (rcode != ns_r_noerror) {
            *h_errnop = NO_RECOVERY;
            return -1;
        }
        if (ancount == 0) {
            *h_errnop = NO_DATA;
            return -1;
        }
    }
    *h_errnop = 0;
    return n;
}

}  // namespace socksify::shim
