// Exported resolver entry points. Each family shares one internal function
// (resolver.cpp); these only route between it and the real libc call.
#include <netdb.h>
#include <resolv.h>

#include <cerrno>

#include "shim/export.hpp"
#include "shim/guard.hpp"
#include "shim/real.hpp"
#include "shim/resolver.hpp"

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
    // Under local DNS (socks5://) the real resolver is what the user asked for.
    return inside_shim() || !dns_is_remote();
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
