// socksify --audit-summary FILE: a table of the destinations in an audit log.
#pragma once

#include <string>

namespace socksify::launcher {

// Prints the table on stdout; returns the exit status (2 when FILE cannot be read).
// Malformed lines are counted and reported, not fatal.
int audit_summary(const std::string& path);

}  // namespace socksify::launcher
