// Lazy, constructor-free start of the shim: a three-state atomic (not started /
// starting / ready). The configuration is written once before "ready" and read
// without locks afterwards (docs/ARCHITECTURE.md, Start-up and state).
#pragma once

#include "shim/settings/config.hpp"

namespace socksify::shim {

// Makes sure the configuration is loaded; cheap after the first call. Must be
// called outside a ShimScope of the same thread's start-up (hooks check that).
void ensure_ready();

// Loads the configuration from env instead of the process environment, once (the
// launcher's supervisor: the program's environment is a list, not its own).
void start_from(EnvLookup env);

// The configuration; only meaningful after ensure_ready().
const Config& config();

}  // namespace socksify::shim
