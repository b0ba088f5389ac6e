#include "shim/proxy/proxy_host.hpp"

#include <netdb.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>

#include "shim/real.hpp"

namespace socksify::shim {

// real::getaddrinfo: in the library the hooks would answer from the fake-DNS table,
// which must never apply to the proxy itself.
const char* resolve_proxy_host(const char* host, uint16_t port, sockaddr_storage& out,
                               socklen_t& len) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int rc = real::getaddrinfo(host, nullptr, &hints, &res);
    if (rc == EAI_SYSTEM) return std::strerror(errno);
    if (rc != 0) return gai_strerror(rc);
    if (res == nullptr) return "no address";
    out = sockaddr_storage{};
    std::memcpy(&out, res->ai_addr, res->ai_addrlen);
    len = res->ai_addrlen;
    real::freeaddrinfo(res);
    auto* sa = reinterpret_cast<sockaddr*>(&out);
    if (sa->sa_family == AF_INET)
        reinterpret_cast<sockaddr_in*>(sa)->sin_port = htons(port);
    else
        reinterpret_cast<sockaddr_in6*>(sa)->sin6_port = htons(port);
    return nullptr;
}

}  // namespace socksify::shim
