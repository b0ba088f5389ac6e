// Looks a name up in /etc/hosts (names there resolve as they always did, locally).
#pragma once

#include <string_view>

namespace socksify::shim {

// True when name (case-insensitive, one trailing dot ignored) appears as a host
// name or alias on any line of the hosts file at path.
bool hosts_file_has(const char* path, std::string_view name);

// True when the address (4 or 16 bytes of family) starts a line of the hosts file:
// a reverse lookup the real resolver answers from the file, without DNS.
bool hosts_file_has_address(const char* path, int family, const void* addr);

// The same over the text of a hosts file (for tests and for chunked reading).
bool hosts_text_has(std::string_view text, std::string_view name);
bool hosts_text_has_address(std::string_view text, int family, const void* addr);

}  // namespace socksify::shim
