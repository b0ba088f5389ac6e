// Why a program would run without the preloaded library: statically linked, setuid
// or setgid, or with file capabilities (the dynamic loader drops LD_PRELOAD then).
#pragma once

#include <string>

namespace socksify::shim {

// The path posix_spawnp would run for name (PATH search when it has no '/'), or ""
// when none is found.
std::string find_program(const std::string& name);

// nullptr when the preload will take effect in path; else a short reason
// ("statically linked", "setuid", "has file capabilities"). A script is judged by
// its interpreter.
const char* preload_blocker(const std::string& path);

}  // namespace socksify::shim
