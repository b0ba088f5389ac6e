// socksify --check: talks to the proxy and prints what it found, one line each, so a
// user sees at once what works (reachable, methods, CONNECT by address and by name,
// UDP ASSOCIATE, pipelining) and which settings a run would use.
#pragma once

#include "shim/settings/config.hpp"

namespace socksify::launcher {

// target: "HOST:PORT" or "[V6]:PORT" to CONNECT to, or null for the defaults (the
// proxy's own address, port 0, and "localhost" port 0: both refused at once by any
// server that processed the request). Returns the exit status: 0 when usable.
int run_check(const shim::Config& cfg, const char* target);

}  // namespace socksify::launcher
