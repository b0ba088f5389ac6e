// When the supervisor runs (issue 13): for the run's own program, as --supervise
// says, and — in auto mode, when the run's program itself is not supervised — for every
// program the preload cannot serve that a preloaded shell, make or any other process
// of the run starts later. Those are exec'd as the launcher with shim::kJoinFlag (the
// library's exec hooks do that: shim/exec_guard.hpp); the launcher in the program's
// place installs the filter and hands its listener to the run's launcher, which serves
// it with the run's configuration, fake-DNS table and audit log, then execs the
// program: same pid, same parent, same arguments and environment.
#pragma once

#include <string>

#include "launcher/supervisor/supervisor.hpp"
#include "shim/settings/config.hpp"

namespace socksify::launcher {

// The value of shim::kEnvSupervisor for the run ("" for none): "tree" when the run's
// program is supervised; in auto mode otherwise, "join:SOCKET:LAUNCHER" after starting
// the server that takes the listeners of programs joining later (env: the program's
// environment, for the configuration the supervisor loads on the first join).
std::string supervisor_env(SuperviseMode mode, bool supervised, shim::EnvLookup env);

// The launcher in a program's place (argv[1] == shim::kJoinFlag): never returns.
[[noreturn]] void join_main(int argc, char** argv);

}  // namespace socksify::launcher
