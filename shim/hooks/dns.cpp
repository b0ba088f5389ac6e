// Exported resolver entry points. Each family shares one internal function
// (resolver.cpp); these only route between it and the real libc call.
#include <netdb.h>
#include <pthread.h>
#include <resolv.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "shim/audit.hpp"
#include "shim/direct_memory.hpp"
#include "shim/dns/resolver.hpp"
#include "shim/guard.hpp"
#include "shim/hooks/export.hpp"
#include "shim/init.hpp"
#include "shim/log.hpp"
#include "shim/real.hpp"

using namespace socksify::shim;

namespace {

// Per-thread storage for the non-reentrant forms (glibc uses one static buffer).
thread_local hostent t_hostent;
thread_local char t_hostbuf[512] __attribute__((aligned(16)));

void remember_all(const addrinfo* list) {
    for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next)
        if (ai->ai_addr != nullptr) remember_direct(ai->ai_addr);
}

}  // namespace

SOCKSIFY_EXPORT int getaddrinfo(const char* node, const char* service, const addrinfo* hints,
                                addrinfo** res) {
    if (inside_shim() || node == nullptr) return real::getaddrinfo(node, service, hints, res);
    bool handled = false;
    bool direct_name = false;
    int rc;
    {
        ShimScope scope;
        rc = fake_getaddrinfo(node, service, hints, res, handled);
        direct_name = !handled && is_direct_name(node);
    }
    if (handled) return rc;
    rc = real::getaddrinfo(node, service, hints, res);
    if (rc == 0 && direct_name) remember_all(*res);
    return rc;
}

// We never allocate an addrinfo (fake answers reuse glibc's own list), so every
// list is glibc's to free.
SOCKSIFY_EXPORT void freeaddrinfo(addrinfo* res) { real::freeaddrinfo(res); }

namespace {

int hostbyname_r(const char* name, int af, hostent* ret, char* buf, size_t buflen, hostent** result,
                 int* h_errnop, bool& handled) {
    handled = false;
    if (inside_shim() || name == nullptr) return 0;
    ShimScope scope;
    return fake_gethostbyname(name, af, ret, buf, buflen, result, h_errnop, handled);
}

hostent* hostbyname_static(const char* name, int af, bool& handled) {
    hostent* result = nullptr;
    int err = 0;
    int rc =
        hostbyname_r(name, af, &t_hostent, t_hostbuf, sizeof t_hostbuf, &result, &err, handled);
    if (handled) {
        h_errno = err;
        if (rc != 0) errno = rc;
    }
    return result;
}

}  // namespace

SOCKSIFY_EXPORT hostent* gethostbyname(const char* name) {
    bool handled = false;
    hostent* h = hostbyname_static(name, AF_INET, handled);
    return handled ? h : real::gethostbyname(name);
}

SOCKSIFY_EXPORT hostent* gethostbyname2(const char* name, int af) {
    bool handled = false;
    hostent* h = hostbyname_static(name, af, handled);
    return handled ? h : real::gethostbyname2(name, af);
}

SOCKSIFY_EXPORT int gethostbyname_r(const char* name, hostent* ret, char* buf, size_t buflen,
                                    hostent** result, int* h_errnop) {
    bool handled = false;
    int rc = hostbyname_r(name, AF_INET, ret, buf, buflen, result, h_errnop, handled);
    return handled ? rc : real::gethostbyname_r(name, ret, buf, buflen, result, h_errnop);
}

SOCKSIFY_EXPORT int gethostbyname2_r(const char* name, int af, hostent* ret, char* buf,
                                     size_t buflen, hostent** result, int* h_errnop) {
    bool handled = false;
    int rc = hostbyname_r(name, af, ret, buf, buflen, result, h_errnop, handled);
    return handled ? rc : real::gethostbyname2_r(name, af, ret, buf, buflen, result, h_errnop);
}

SOCKSIFY_EXPORT int gethostbyaddr_r(const void* addr, socklen_t len, int type, hostent* ret,
                                    char* buf, size_t buflen, hostent** result, int* h_errnop) {
    if (inside_shim())
        return real::gethostbyaddr_r(addr, len, type, ret, buf, buflen, result, h_errnop);
    bool handled = false;
    int rc;
    {
        ShimScope scope;
        rc = fake_gethostbyaddr(addr, len, type, ret, buf, buflen, result, h_errnop, handled);
    }
    return handled ? rc
                   : real::gethostbyaddr_r(addr, len, type, ret, buf, buflen, result, h_errnop);
}

SOCKSIFY_EXPORT hostent* gethostbyaddr(const void* addr, socklen_t len, int type) {
    if (inside_shim()) return real::gethostbyaddr(addr, len, type);
    bool handled = false;
    hostent* result = nullptr;
    int err = 0;
    int rc;
    {
        ShimScope scope;
        rc = fake_gethostbyaddr(addr, len, type, &t_hostent, t_hostbuf, sizeof t_hostbuf, &result,
                                &err, handled);
    }
    if (!handled) return real::gethostbyaddr(addr, len, type);
    h_errno = err;
    if (rc != 0) errno = rc;
    return result;
}

SOCKSIFY_EXPORT int getnameinfo(const sockaddr* sa, socklen_t salen, char* host, socklen_t hostlen,
                                char* serv, socklen_t servlen, int flags) {
    if (inside_shim()) return real::getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
    bool handled = false;
    int rc;
    {
        ShimScope scope;
        rc = fake_getnameinfo(sa, salen, host, hostlen, serv, servlen, flags, handled);
    }
    return handled ? rc : real::getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
}

// The res_* family: under remote DNS these would ask a nameserver directly, so they
// are refused or carried over TCP through the proxy (resolver.cpp res_common).
namespace {

bool res_passes_through() {
    // Under local DNS (socks5://) the real resolver is what the user asked for;
    // supervised without --dns-tcp, its queries reach the supervisor's responder
    // whatever nameserver they name (with it, res_common asks the supervisor's carrier).
    return inside_shim() || !dns_is_remote() || (config().supervised && !config().dns_tcp);
}

int res_entry(res_state statp, const char* name, const char* domain, int klass, int type,
              const unsigned char* msg, int msglen, unsigned char* answer, int anslen) {
    int herr = 0;
    int rc;
    {
        ShimScope scope;
        rc = res_common(name, domain, klass, type, msg, msglen, answer, anslen, &herr);
    }
    h_errno = herr;
    if (statp != nullptr) statp->res_h_errno = herr;
    return rc;
}

}  // namespace

SOCKSIFY_EXPORT int res_query(const char* d, int c, int t, unsigned char* a, int n) {
    if (res_passes_through()) return real::res_query(d, c, t, a, n);
    return res_entry(nullptr, d, nullptr, c, t, nullptr, 0, a, n);
}

SOCKSIFY_EXPORT int res_search(const char* d, int c, int t, unsigned char* a, int n) {
    if (res_passes_through()) return real::res_search(d, c, t, a, n);
    return res_entry(nullptr, d, nullptr, c, t, nullptr, 0, a, n);
}

SOCKSIFY_EXPORT int res_querydomain(const char* d, const char* dom, int c, int t, unsigned char* a,
                                    int n) {
    if (res_passes_through()) return real::res_querydomain(d, dom, c, t, a, n);
    return res_entry(nullptr, d, dom, c, t, nullptr, 0, a, n);
}

SOCKSIFY_EXPORT int res_send(const unsigned char* m, int ml, unsigned char* a, int n) {
    if (res_passes_through()) return real::res_send(m, ml, a, n);
    return res_entry(nullptr, nullptr, nullptr, 0, 0, m, ml, a, n);
}

SOCKSIFY_EXPORT int res_nquery(res_state s, const char* d, int c, int t, unsigned char* a, int n) {
    if (res_passes_through()) return real::res_nquery(s, d, c, t, a, n);
    return res_entry(s, d, nullptr, c, t, nullptr, 0, a, n);
}

SOCKSIFY_EXPORT int res_nsearch(res_state s, const char* d, int c, int t, unsigned char* a, int n) {
    if (res_passes_through()) return real::res_nsearch(s, d, c, t, a, n);
    return res_entry(s, d, nullptr, c, t, nullptr, 0, a, n);
}

SOCKSIFY_EXPORT int res_nquerydomain(res_state s, const char* d, const char* dom, int c, int t,
                                     unsigned char* a, int n) {
    if (res_passes_through()) return real::res_nquerydomain(s, d, dom, c, t, a, n);
    return res_entry(s, d, dom, c, t, nullptr, 0, a, n);
}

SOCKSIFY_EXPORT int res_nsend(res_state s, const unsigned char* m, int ml, unsigned char* a,
                              int n) {
    if (res_passes_through()) return real::res_nsend(s, m, ml, a, n);
    return res_entry(s, nullptr, nullptr, 0, 0, m, ml, a, n);
}

// Programs linked against glibc < 2.34 call the __res_* names (then in libresolv).
#define SOCKSIFY_ALIAS(name) \
    SOCKSIFY_EXPORT decltype(name) __##name __attribute__((alias(#name), nothrow));
SOCKSIFY_ALIAS(res_query)
SOCKSIFY_ALIAS(res_search)
SOCKSIFY_ALIAS(res_querydomain)
SOCKSIFY_ALIAS(res_send)
SOCKSIFY_ALIAS(res_nquery)
SOCKSIFY_ALIAS(res_nsearch)
SOCKSIFY_ALIAS(res_nquerydomain)
SOCKSIFY_ALIAS(res_nsend)
#undef SOCKSIFY_ALIAS

// getaddrinfo_a: glibc's worker threads call its internal getaddrinfo, which no hook
// sees. Each request is answered here by the hook above, at once (GAI_NOWAIT then
// notifies as soon as the call returns); gai_error reads the result as usual.
namespace {

void* notify_thread(void* arg) {
    auto* sev = static_cast<sigevent*>(arg);
    sev->sigev_notify_function(sev->sigev_value);
    return nullptr;
}

}  // namespace

SOCKSIFY_EXPORT int getaddrinfo_a(int mode, gaicb* list[], int nitems, sigevent* sevp) {
    if (mode != GAI_WAIT && mode != GAI_NOWAIT) {
        errno = EINVAL;
        return EAI_SYSTEM;
    }
    for (int i = 0; i < nitems; ++i) {
        gaicb* r = list[i];
        if (r == nullptr) continue;
        r->ar_result = nullptr;
        r->__return = getaddrinfo(r->ar_name, r->ar_service, r->ar_request, &r->ar_result);
    }
    if (mode == GAI_NOWAIT && sevp != nullptr) {
        if (sevp->sigev_notify == SIGEV_SIGNAL) {
            (void)sigqueue(getpid(), sevp->sigev_signo, sevp->sigev_value);
        } else if (sevp->sigev_notify == SIGEV_THREAD) {
            // The caller's sigevent outlives the call (as glibc requires of it).
            pthread_t t;
            pthread_attr_t* attr = static_cast<pthread_attr_t*>(sevp->sigev_notify_attributes);
            if (pthread_create(&t, attr, notify_thread, sevp) == 0) pthread_detach(t);
        }
    }
    return 0;
}

// Functions that resolve and connect inside libc, where no hook can follow: the rcmd
// and rexec family (name lookup and connect), the ruserok family (name lookups of
// .rhosts entries), glibc's own DNS module and resolver internals (GLIBC_PRIVATE but
// reachable by name). Refused with EACCES, a log line and an audit record.
namespace {

int refuse_inside_libc(const char* function, const char* host) {
    int saved = errno;
    {
        ShimScope scope;
        ensure_ready();
        const Config& cfg = config();
        log_line(LogLevel::kError,
                 "refusing %s(%s): it resolves or connects inside libc, around the proxy", function,
                 host != nullptr ? host : "");
        audit_denied(cfg, audit_event(AuditKind::kRefusal, nullptr, host != nullptr ? host : ""),
                     function);
    }
    (void)saved;
    errno = EACCES;
    return -1;
}

constexpr int kNssUnavail = -1;  // enum nss_status NSS_STATUS_UNAVAIL

int refuse_nss(const char* function, const char* name, int* errnop, int* h_errnop) {
    refuse_inside_libc(function, name);
    if (errnop != nullptr) *errnop = EACCES;
    if (h_errnop != nullptr) *h_errnop = NO_RECOVERY;
    return kNssUnavail;
}

}  // namespace

SOCKSIFY_EXPORT int rcmd(char** ahost, unsigned short, const char*, const char*, const char*,
                         int*) {
    return refuse_inside_libc("rcmd", ahost != nullptr ? *ahost : nullptr);
}

SOCKSIFY_EXPORT int rcmd_af(char** ahost, unsigned short, const char*, const char*, const char*,
                            int*, sa_family_t) {
    return refuse_inside_libc("rcmd_af", ahost != nullptr ? *ahost : nullptr);
}

SOCKSIFY_EXPORT int rexec(char** ahost, int, const char*, const char*, const char*, int*) {
    return refuse_inside_libc("rexec", ahost != nullptr ? *ahost : nullptr);
}

SOCKSIFY_EXPORT int rexec_af(char** ahost, int, const char*, const char*, const char*, int*,
                             sa_family_t) {
    return refuse_inside_libc("rexec_af", ahost != nullptr ? *ahost : nullptr);
}

SOCKSIFY_EXPORT int ruserok(const char* rhost, int, const char*, const char*) {
    return refuse_inside_libc("ruserok", rhost);
}

SOCKSIFY_EXPORT int ruserok_af(const char* rhost, int, const char*, const char*, sa_family_t) {
    return refuse_inside_libc("ruserok_af", rhost);
}

SOCKSIFY_EXPORT int iruserok(uint32_t, int, const char*, const char*) {
    return refuse_inside_libc("iruserok", nullptr);
}

SOCKSIFY_EXPORT int iruserok_af(const void*, int, const char*, const char*, sa_family_t) {
    return refuse_inside_libc("iruserok_af", nullptr);
}

// glibc's DNS NSS module (nss_dns, inside libc since 2.34; signatures from its
// resolv/nss_dns sources). glibc's own lookups reach it through an internal table,
// never these exported names, so only a program calling them by name meets these.
SOCKSIFY_EXPORT int _nss_dns_gethostbyname_r(const char* name, hostent*, char*, size_t, int* errnop,
                                             int* h_errnop) {
    return refuse_nss("_nss_dns_gethostbyname_r", name, errnop, h_errnop);
}

SOCKSIFY_EXPORT int _nss_dns_gethostbyname2_r(const char* name, int, hostent*, char*, size_t,
                                              int* errnop, int* h_errnop) {
    return refuse_nss("_nss_dns_gethostbyname2_r", name, errnop, h_errnop);
}

SOCKSIFY_EXPORT int _nss_dns_gethostbyname3_r(const char* name, int, hostent*, char*, size_t,
                                              int* errnop, int* h_errnop, int32_t*, char**) {
    return refuse_nss("_nss_dns_gethostbyname3_r", name, errnop, h_errnop);
}

SOCKSIFY_EXPORT int _nss_dns_gethostbyname4_r(const char* name, void*, char*, size_t, int* errnop,
                                              int* h_errnop, int32_t*) {
    return refuse_nss("_nss_dns_gethostbyname4_r", name, errnop, h_errnop);
}

SOCKSIFY_EXPORT int _nss_dns_gethostbyaddr_r(const void*, socklen_t, int, hostent*, char*, size_t,
                                             int* errnop, int* h_errnop) {
    return refuse_nss("_nss_dns_gethostbyaddr_r", nullptr, errnop, h_errnop);
}

SOCKSIFY_EXPORT int _nss_dns_gethostbyaddr2_r(const void*, socklen_t, int, hostent*, char*, size_t,
                                              int* errnop, int* h_errnop, int32_t*) {
    return refuse_nss("_nss_dns_gethostbyaddr2_r", nullptr, errnop, h_errnop);
}

SOCKSIFY_EXPORT int _nss_dns_getcanonname_r(const char* name, char*, size_t, char**, int* errnop,
                                            int* h_errnop) {
    return refuse_nss("_nss_dns_getcanonname_r", name, errnop, h_errnop);
}

SOCKSIFY_EXPORT int _nss_dns_getnetbyname_r(const char* name, netent*, char*, size_t, int* errnop,
                                            int* h_errnop) {
    return refuse_nss("_nss_dns_getnetbyname_r", name, errnop, h_errnop);
}

SOCKSIFY_EXPORT int _nss_dns_getnetbyaddr_r(uint32_t, int, netent*, char*, size_t, int* errnop,
                                            int* h_errnop) {
    return refuse_nss("_nss_dns_getnetbyaddr_r", nullptr, errnop, h_errnop);
}

// The resolver's internal query/search/send (GLIBC_PRIVATE, resolv/resolv-internal.h):
// they send to the nameserver with libc's internal socket calls.
SOCKSIFY_EXPORT int __res_context_query(void*, const char* name, int, int, unsigned char*, int,
                                        unsigned char**, unsigned char**, int*, int*, int*) {
    h_errno = NO_RECOVERY;
    return refuse_inside_libc("__res_context_query", name);
}

SOCKSIFY_EXPORT int __res_context_search(void*, const char* name, int, int, unsigned char*, int,
                                         unsigned char**, unsigned char**, int*, int*, int*) {
    h_errno = NO_RECOVERY;
    return refuse_inside_libc("__res_context_search", name);
}

SOCKSIFY_EXPORT int __res_context_send(void*, const unsigned char*, int, const unsigned char*, int,
                                       unsigned char*, int, unsigned char**, unsigned char**, int*,
                                       int*, int*) {
    h_errno = NO_RECOVERY;
    return refuse_inside_libc("__res_context_send", nullptr);
}

// glibc's NSS dispatch (GLIBC_PRIVATE, nss/nsswitch.h): handing out a module's host
// lookup function would let a program call the DNS module directly. Host and network
// lookups are refused; the rest (passwd, group, services, ...) pass through.
namespace {

bool is_host_function(const char* fct_name) {
    if (fct_name == nullptr || !dns_is_remote()) return false;
    for (const char* prefix : {"gethostby", "getcanonname", "getnetby"})
        if (strncmp(fct_name, prefix, strlen(prefix)) == 0) return true;
    return false;
}

}  // namespace

SOCKSIFY_EXPORT int __nss_lookup(void* ni, const char* fct_name, const char* fct2_name,
                                 void** fctp) {
    if (inside_shim() || !is_host_function(fct_name))
        return real::__nss_lookup(ni, fct_name, fct2_name, fctp);
    refuse_inside_libc("__nss_lookup", fct_name);
    return -1;  // no service
}

SOCKSIFY_EXPORT int __nss_hosts_lookup2(void*, const char* fct_name, const char*, void**) {
    refuse_inside_libc("__nss_hosts_lookup2", fct_name);
    return -1;
}

SOCKSIFY_EXPORT int __nss_next2(void* ni, const char* fct_name, const char* fct2_name, void** fctp,
                                int status, int all_values) {
    if (inside_shim() || !is_host_function(fct_name))
        return real::__nss_next2(ni, fct_name, fct2_name, fctp, status, all_values);
    refuse_inside_libc("__nss_next2", fct_name);
    return 1;  // no further service
}

SOCKSIFY_EXPORT void* __nss_lookup_function(void* ni, const char* fct_name) {
    if (inside_shim() || !is_host_function(fct_name))
        return real::__nss_lookup_function(ni, fct_name);
    refuse_inside_libc("__nss_lookup_function", fct_name);
    return nullptr;
}

// Public: reorders the sources of a database. With "dns" before "files" a hosts-file
// name (which the shim leaves to glibc) would be asked of the nameserver first.
SOCKSIFY_EXPORT int __nss_configure_lookup(const char* dbname, const char* service_line) {
    if (inside_shim() || dbname == nullptr ||
        (strcmp(dbname, "hosts") != 0 && strcmp(dbname, "networks") != 0) || !dns_is_remote())
        return real::__nss_configure_lookup(dbname, service_line);
    return refuse_inside_libc("__nss_configure_lookup", dbname);
}
