// sockaddr ↔ SOCKS address field.
#include "shim/proxy/socks_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace socksify::shim {
namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

proto::Address socks_address(const sockaddr* dest, std::string_view name) {
    proto::Address a;
    if (dest->sa_family == AF_INET) {
        auto* in = reinterpret_cast<const sockaddr_in*>(dest);
        a.type = proto::AddrType::kIpv4;
        memcpy(a.ip.data(), &in->sin_addr, 4);
        a.port = ntohs(in->sin_port);
    } else {
        auto* in6 = reinterpret_cast<const sockaddr_in6*>(dest);
        if (memcmp(in6->sin6_addr.s6_addr, kMappedPrefix, 12) == 0) {
            a.type = proto::AddrType::kIpv4;
            memcpy(a.ip.data(), in6->sin6_addr.s6_addr + 12, 4);
        } else {
            a.type = proto::AddrType::kIpv6;
            memcpy(a.ip.data(), &in6->sin6_addr, 16);
        }
        a.port = ntohs(in6->sin6_port);
    }
    if (!name.empty()) {
        a.type = proto::AddrType::kDomain;
        a.domain = name;
    }
    return a;
}

bool sockaddr_of(const proto::Address& a, int family, sockaddr_storage& out, socklen_t& len) {
    memset(&out, 0, sizeof out);
    if (a.type == proto::AddrType::kIpv4 && family == AF_INET) {
        auto& in = reinterpret_cast<sockaddr_in&>(out);
        in.sin_family = AF_INET;
        memcpy(&in.sin_addr, a.ip.data(), 4);
        in.sin_port = htons(a.port);
        len = sizeof in;
        return true;
    }
    if (family != AF_INET6) return false;
    auto& in6 = reinterpret_cast<sockaddr_in6&>(out);
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(a.port);
    len = sizeof in6;
    if (a.type == proto::AddrType::kIpv4) {
        memcpy(in6.sin6_addr.s6_addr, kMappedPrefix, 12);
        memcpy(in6.sin6_addr.s6_addr + 12, a.ip.data(), 4);
        return true;
    }
    if (a.type == proto::AddrType::kIpv6) {
        memcpy(&in6.sin6_addr, a.ip.data(), 16);
        return true;
    }
    return false;
}

bool is_unspecified(const proto::Address& a) {
    size_t n = a.type == proto::AddrType::kIpv4 ? 4 : a.type == proto::AddrType::kIpv6 ? 16 : 0;
    if (n == 0) return false;
    for (size_t i = 0; i < n; ++i)
        if (a.ip[i] != 0) return false;
    return true;
}

}  // namespace socksify::shim
