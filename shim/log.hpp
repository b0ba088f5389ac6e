// One log line = one write(2) to fd 2 through the real write; errno is preserved.
#pragma once

#include "shim/settings/config.hpp"

namespace socksify::shim {

// Writes "socksify[pid]: <message>\n" when level is enabled by the configuration.
void log_line(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Names a socket's domain and type as socket(2) does ("AF_PACKET", "SOCK_RAW|SOCK_CLOEXEC");
// numbers ("domain 99", "type 9") where there is no name.
void format_domain(int domain, char* out, size_t cap);
void format_socket_type(int type, char* out, size_t cap);

// Formats a sockaddr as "1.2.3.4:80" or "[::1]:80" into out; returns out.
const char* format_sockaddr(const sockaddr* a, char* out, size_t cap);

}  // namespace socksify::shim
