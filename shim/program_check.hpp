// Why a program would run without the preloaded library: statically linked, setuid
// or setgid, or with file capabilities (the dynamic loader drops LD_PRELOAD then).
// Shared by the launcher (the program it is asked to run) and the library's exec
// hooks (what the program runs in turn). No allocation: an exec hook may run in a
// vfork() child.
#pragma once

#include <cstddef>

namespace socksify::shim {

// The file execvp would run for name: name itself when it has a '/', else the first
// regular executable file named name in the ':'-separated dirs (an empty entry is the
// current directory; null dirs is glibc's default, /bin:/usr/bin). False when none
// is found or the path does not fit in cap.
bool find_program(const char* name, const char* dirs, char* out, size_t cap);

// nullptr when the preload will take effect in path; else a short reason
// ("statically linked", "setuid", "setgid", "has file capabilities"; for a script,
// judged by its interpreter as many levels down as the kernel follows, "run by a
// statically linked interpreter" and so on). What is not a
// regular file, or cannot be read, is left to exec to report.
const char* preload_blocker(const char* path);

}  // namespace socksify::shim
