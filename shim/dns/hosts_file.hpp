// Looks a name up in /etc/hosts (names there resolve as they always did, locally).
#pragma once

#include <string_view>

namespace socksify::shim {

// True when name (case-insensitive, otherwise exact, as glibc's files backend: a
// trailing dot is part of the name) appears as a host name or alias on any line of
// the hosts file at path.
bool hosts_file_has(const char* path, std::string_view name);

// Which address families the lines naming `name` have, and their first IPv4 address:
// what glibc's files backend can answer. A family it lacks would make glibc go on to
// DNS (nsswitch "files dns"), which remote DNS must never do.
inline constexpr unsigned kHostsHasV4 = 1;
inline constexpr unsigned kHostsHasV6 = 2;
struct HostsEntry {
    unsigned families;  // kHostsHasV4 | kHostsHasV6; 0: not in the file
    unsigned char v4[4];
};
HostsEntry hosts_file_entry(const char* path, std::string_view name);

// True when the address (4 or 16 bytes of family) starts a line of the hosts file:
// a reverse lookup the real resolver answers from the file, without DNS.
bool hosts_file_has_address(const char* path, int family, const void* addr);

// The same over the text of a hosts file (for tests and for chunked reading).
bool hosts_text_has(std::string_view text, std::string_view name);
bool hosts_text_has_address(std::string_view text, int family, const void* addr);

}  // namespace socksify::shim
