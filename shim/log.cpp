// Logging without stdio: format into a stack buffer, one write to stderr
// (rofl0r/microsocks avoids stdio for the same reason).
#include "shim/log.hpp"

#include <arpa/inet.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>

#include "shim/init.hpp"
#include "shim/real.hpp"

namespace socksify::shim {

void log_line(LogLevel level, const char* fmt, ...) {
    if (level == LogLevel::kQuiet || static_cast<int>(level) > static_cast<int>(config().log_level))
        return;
    int saved = errno;
    char line[512];
    int n = snprintf(line, sizeof line, "socksify[%d]: ", static_cast<int>(getpid()));
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - static_cast<size_t>(n) - 1, fmt, ap);
    va_end(ap);
    size_t len = static_cast<size_t>(n) + (m < 0 ? 0 : static_cast<size_t>(m));
    if (len > sizeof line - 2) len = sizeof line - 2;
    line[len++] = '\n';
    (void)real::write(2, line, len);
    errno = saved;
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
