// The resolver hooks' logic: getaddrinfo/gethostbyname*/gethostbyaddr*/getnameinfo
// answered from the fake-DNS table, and the res_* family refused or carried over
// TCP through the proxy. Functions return what the libc call would.
#pragma once

#include <netdb.h>
#include <resolv.h>
#include <sys/socket.h>

namespace socksify::shim {

// getaddrinfo for a name route_name() sends to the fake table; *handled false means
// "call the real getaddrinfo".
int fake_getaddrinfo(const char* node, const char* service, const addrinfo* hints, addrinfo** res,
                     bool& handled);

// gethostbyname2_r semantics (the other three forms wrap it); handled as above.
int fake_gethostbyname(const char* name, int af, hostent* out, char* buf, size_t buflen,
                       hostent** result, int* h_errnop, bool& handled);

// gethostbyaddr_r semantics for a fake address; handled false when addr is not one.
int fake_gethostbyaddr(const void* addr, socklen_t len, int type, hostent* out, char* buf,
                       size_t buflen, hostent** result, int* h_errnop, bool& handled);

// getnameinfo for a fake address; handled false when sa is not one.
int fake_getnameinfo(const sockaddr* sa, socklen_t salen, char* host, socklen_t hostlen, char* serv,
                     socklen_t servlen, int flags, bool& handled);

// One entry for the res_* family. msg/msglen set: res_send; else a query for
// name[.domain] is built. Returns the answer length or -1 (h_errno set in *h_errnop).
int res_common(const char* name, const char* domain, int klass, int type, const unsigned char* msg,
               int msglen, unsigned char* answer, int anslen, int* h_errnop);

// True once configured for remote DNS (the res_* family must not go direct).
bool dns_is_remote();

// Called for a name lookup the real resolver answers: true when the name is a
// direct suffix (its addresses must then be remembered).
bool is_direct_name(const char* name);

}  // namespace socksify::shim
