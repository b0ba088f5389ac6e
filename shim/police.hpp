// The policy decision for a destination or a lookup, and its report: a denial is one
// log line and one audit record (audit.hpp), and the caller's errno.
#pragma once

#include <sys/socket.h>

#include <string_view>

#include "shim/audit.hpp"
#include "shim/settings/config.hpp"

namespace socksify::shim {

// The policy for a connection (kConnect) or datagram (kUdp) to dest, by name when
// name is set (dest was a fake address), by address otherwise. Returns 0, or EACCES
// after one log line and one audit record.
int police(const Config& cfg, const sockaddr* dest, std::string_view name, AuditKind kind);

// The policy for a lookup of name: true when allowed; false after one log line and
// one audit record.
bool police_lookup(const Config& cfg, const char* name);

}  // namespace socksify::shim
