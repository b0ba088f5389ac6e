// Running and supervising the program: the library and program checks, the run's
// shared state, the supervisor's stage, signals passed on, the exit status passed back.
#pragma once

#include <string>
#include <vector>

#include "launcher/supervisor/supervisor.hpp"
#include "shim/settings/config.hpp"

namespace socksify::launcher {

// The library next to the launcher or at the compiled-in path; dies when none loads.
std::string find_library();
// A library the dynamic loader cannot load would be skipped and the program run
// unproxied: refuse it instead (strict mode also loads it).
void check_library(const std::string& lib, bool strict);
// A program the preload cannot serve: refused under strict, else one warning.
void check_program(const char* name, bool strict, bool supervised);
// Removes /dev/shm state files of earlier versions whose launcher died.
void remove_stale_shm();
// The run's shared state (a memfd the child inherits); its SOCKSIFY_SHM reference.
std::string create_state_for(const shim::Config& cfg);
// Whether the program runs under the supervisor (--supervise; auto: when the preload
// cannot serve it); when it does, the stage's argv.
std::vector<char*> supervised_argv(char** argv, SuperviseMode mode, bool strict, bool& supervised);
// --strict: the job runs as the same user, so nothing of the launcher may be reachable
// through /proc: not dumpable, and its options wiped from /proc/PID/cmdline.
void hide_from_job(char** argv, int program);
// Runs argv with the built environment, passes signals on, returns its exit status
// (or dies by its signal).
int run(char** argv);

}  // namespace socksify::launcher
