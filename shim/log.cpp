// Logging without stdio: format into a stack buffer, one write to stderr
// (rofl0r/microsocks avoids stdio for the same reason).
#include "shim/log.hpp"

#include <arpa/inet.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <iterator>
#include <string_view>

#include "shim/init.hpp"
#include "shim/real.hpp"
#include "shim/settings/audit_format.hpp"

namespace socksify::shim {

void log_line(LogLevel level, const char* fmt, ...) {
    if (level == LogLevel::kQuiet || static_cast<int>(level) > static_cast<int>(config().log_level))
        return;
    int saved = errno;
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    size_t mlen = m < 0                                     ? 0
                  : static_cast<size_t>(m) < sizeof message ? static_cast<size_t>(m)
                                                            : sizeof message - 1;
    char line[1024];
    int n = snprintf(line, sizeof line, "socksify[%d]: ", static_cast<int>(getpid()));
    // Names, paths and errors come from the program and the network: a newline or an
    // escape sequence in them must not make a line of its own or drive the terminal.
    size_t len = static_cast<size_t>(n) +
                 text_escape(std::string_view(message, mlen), line + n, sizeof line - n - 1);
    line[len++] = '\n';
    (void)real::write(2, line, len);
    errno = saved;
}

void format_domain(int domain, char* out, size_t cap) {
    // <bits/socket.h> order, 0 to AF_MCTP (45).
    static constexpr const char* kNames[] = {
        "AF_UNSPEC",     "AF_UNIX",      "AF_INET",     "AF_AX25",  "AF_IPX",     "AF_APPLETALK",
        "AF_NETROM",     "AF_BRIDGE",    "AF_ATMPVC",   "AF_X25",   "AF_INET6",   "AF_ROSE",
        "AF_DECnet",     "AF_NETBEUI",   "AF_SECURITY", "AF_KEY",   "AF_NETLINK", "AF_PACKET",
        "AF_ASH",        "AF_ECONET",    "AF_ATMSVC",   "AF_RDS",   "AF_SNA",     "AF_IRDA",
        "AF_PPPOX",      "AF_WANPIPE",   "AF_LLC",      "AF_IB",    "AF_MPLS",    "AF_CAN",
        "AF_TIPC",       "AF_BLUETOOTH", "AF_IUCV",     "AF_RXRPC", "AF_ISDN",    "AF_PHONET",
        "AF_IEEE802154", "AF_CAIF",      "AF_ALG",      "AF_NFC",   "AF_VSOCK",   "AF_KCM",
        "AF_QIPCRTR",    "AF_SMC",       "AF_XDP",      "AF_MCTP"};
    if (domain >= 0 && static_cast<size_t>(domain) < std::size(kNames))
        snprintf(out, cap, "%s", kNames[domain]);
    else
        snprintf(out, cap, "domain %d", domain);
}

void format_socket_type(int type, char* out, size_t cap) {
    const char* base = nullptr;
    switch (type & 0xf) {
        case SOCK_STREAM: base = "SOCK_STREAM"; break;
        case SOCK_DGRAM: base = "SOCK_DGRAM"; break;
        case SOCK_RAW: base = "SOCK_RAW"; break;
        case SOCK_RDM: base = "SOCK_RDM"; break;
        case SOCK_SEQPACKET: base = "SOCK_SEQPACKET"; break;
        case SOCK_DCCP: base = "SOCK_DCCP"; break;
        case SOCK_PACKET: base = "SOCK_PACKET"; break;
        default: break;
    }
    int rest = type & ~(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (base == nullptr || rest != 0) {
        snprintf(out, cap, "type %d", type);
        return;
    }
    snprintf(out, cap, "%s%s%s", base, (type & SOCK_NONBLOCK) ? "|SOCK_NONBLOCK" : "",
             (type & SOCK_CLOEXEC) ? "|SOCK_CLOEXEC" : "");
}

const char* format_sockaddr(const sockaddr* a, char* out, size_t cap) {
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (a->sa_family == AF_INET) {
        auto* in = reinterpret_cast<const sockaddr_in*>(a);
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
        snprintf(out, cap, "%s:%u", host, port);
    } else if (a->sa_family == AF_INET6) {
        auto* in6 = reinterpret_cast<const sockaddr_in6*>(a);
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
        snprintf(out, cap, "[%s]:%u", host, port);
    } else {
        snprintf(out, cap, "(family %d)", a->sa_family);
    }
    return out;
}

}  // namespace socksify::shim
