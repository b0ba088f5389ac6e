// How the launcher refuses: one line on stderr ("socksify: …", naming the config
// file's line while one is applied), then an exit status a shell would use.
#pragma once

#include <string>
#include <string_view>

namespace socksify::launcher {

constexpr int kExitUsage = 2;        // bad option or value, nothing was run
constexpr int kExitCannotRun = 126;  // as a shell: found but not executable
constexpr int kExitNotFound = 127;   // as a shell: command not found

// "FILE:LINE" while a config file's line is applied: errors name it ("" otherwise).
extern std::string g_where;

[[noreturn]] void die(const std::string& msg, int code = kExitUsage);
// "bad WHAT value 'VALUE': REASON"; in a file WHAT is the key ("udp"), not "--udp".
[[noreturn]] void die_bad_value(const char* what, std::string_view value, const char* reason);
// One line on stderr that does not stop the run: "socksify: warning: …".
void warn(const std::string& msg);

// An argument shown in a one-line message without letting it break the line.
std::string printable(std::string_view s);
// A URL with its password replaced by "***".
std::string redacted(std::string_view url);

}  // namespace socksify::launcher
