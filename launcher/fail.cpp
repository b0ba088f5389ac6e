#include "launcher/fail.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "shim/settings/config.hpp"

namespace socksify::launcher {

std::string g_where;

void die(const std::string& msg, int code) {
    std::string line = "socksify: " + (g_where.empty() ? "" : g_where + ": ") + msg + "\n";
    ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
    (void)ignored;
    std::exit(code);
}

void die_bad_value(const char* what, std::string_view value, const char* reason) {
    char line[512];
    if (!g_where.empty() && std::strncmp(what, "--", 2) == 0) what += 2;
    shim::format_bad_value(line, sizeof line, what, value, reason);
    die(line);
}

void warn(const std::string& msg) {
    std::string line = "socksify: warning: " + msg + "\n";
    ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
    (void)ignored;
}

std::string printable(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 200)) {
        auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7F) ? '?' : c;
    }
    return out;
}

std::string redacted(std::string_view url) {
    char buf[512];
    shim::redact_url(url, buf, sizeof buf);
    return buf;
}

}  // namespace socksify::launcher
