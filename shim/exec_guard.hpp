// The launcher's variables, copied at load time, and strict mode across exec: what the
// program runs in turn must carry the preload too.
// An exec of a program the preload cannot act in (see program_check.hpp) is refused
// with EACCES; every other exec gets LD_PRELOAD and the SOCKSIFY_* variables back, even
// when the program cleared or replaced them (subprocess with env={}, env -i). Outside
// strict mode the same programs get one warning line each, and nothing else changes.
#pragma once

#include <cstddef>

#include "shim/program_check.hpp"

namespace socksify::shim {

// How the run's seccomp supervisor reaches programs started later in the tree, as the
// launcher tells the library: "tree" when the run's program was started under the
// filter (every process of the run is covered already); "join:SOCKET:LAUNCHER" when
// it was not: a program the preload cannot serve (program_check.hpp: supervision_reason)
// is then exec'd as
//   LAUNCHER kJoinFlag SOCKET strict|warn PATH -- ARGV...
// which puts itself under a filter served by the run's launcher (listening on the
// abstract unix socket SOCKET) and execs PATH with ARGV. Read from the copy made at
// load time, like every SOCKSIFY_* variable: a program that edits its environment
// changes nothing.
inline constexpr const char* kEnvSupervisor = "SOCKSIFY_SUPERVISOR";
inline constexpr const char* kJoinFlag = "--supervised-join";

// The environment under --strict: envp without its SOCKSIFY_* entries, then ours
// (the SOCKSIFY_* entries the launcher set, as "NAME=value"), and one LD_PRELOAD
// carrying lib: envp's own (the last one, which is what ld.so reads) when it names lib
// already, else lib in front of it. The
// pointers go to out (cap entries, null-terminated); a rewritten LD_PRELOAD is built
// in buf. False when out or buf is too small. Pure: no allocation.
bool strict_env(char* const* envp, const char* const* ours, size_t n_ours, const char* lib,
                char** out, size_t cap, char* buf, size_t buf_cap);

// Copies the SOCKSIFY_* variables of environ, once per process image (the library's
// constructor calls it; so does a hook that runs before it). Cheap after the first call.
void capture_environment();

// In the child of fork(): a copy another thread was making is made again.
void capture_after_fork_child();

// The value name (a SOCKSIFY_* variable) had when the library was loaded, or nullptr.
// The configuration reads this, never the live environment: a program that sets,
// unsets or edits its variables later changes nothing.
const char* launch_env(const char* name);

// False when there were more SOCKSIFY_* variables than the copy holds.
bool launch_env_complete();

// True when the process runs under --strict (read once, when the library is loaded).
bool exec_guard_on();

// For an exec of path (already searched for in PATH), as where says the kernel will
// look for it: 0 when the preload will act in the program. When it will not (or it
// cannot be examined): under --strict EACCES after one log line and one audit record,
// and also when strict mode could not be carried across exec at all (see capture in
// exec_guard.cpp); outside strict mode one warning line and 0.
//
// With join non-null (the caller can exec the launcher in the program's place): for a
// program the run's supervisor can serve, *join is set and 0 returned, without a
// warning; the caller then execs join_argv's command instead.
int exec_check(const char* path, ExecSite where = {}, bool* join = nullptr);

// When the launcher could not be exec'd in the program's place (gone, or not there
// after a chroot): exec_check's verdict without the join — under --strict EACCES after
// the log line and audit record, otherwise the warning and 0.
int exec_check_unjoined(const char* path, ExecSite where = {});

// For exec_check's join: the launcher to exec, and the arguments before PATH -- ARGV
// (kJoinFlag SOCKET strict|warn).
const char* join_launcher();
inline constexpr size_t kJoinPrefix = 3;
void join_prefix(const char* (&out)[kJoinPrefix]);

// The same for a program open as fd (fexecve, execveat with AT_EMPTY_PATH); shown
// names it in the messages. With join: as exec_check's, the caller then execs the
// launcher with kJoinFdPrefix and the number of a copy of fd that survives exec as PATH.
int exec_check_fd(int fd, const char* shown, int cwd = AT_FDCWD, bool* join = nullptr);

// PATH of a join by descriptor: "/proc/self/fd/N" (what the messages show); the
// launcher runs the program with execveat(N, "", AT_EMPTY_PATH), so neither /proc nor
// the file's name is needed, and closes N on the way.
inline constexpr const char* kJoinFdPrefix = "/proc/self/fd/";

// The same for a posix_spawn whose file actions (the directory the child will be in)
// could not be followed: the program is unchecked.
int exec_check_unfollowable(const char* path);

// Entries strict_env needs beyond envp's own.
size_t exec_env_extra();

// strict_env with this process's own variables; false when the arrays are too small.
bool exec_env(char* const* envp, char** out, size_t cap, char* buf, size_t buf_cap);

// Puts the SOCKSIFY_* variables and LD_PRELOAD back into environ where the program
// removed or changed them (before system() and popen(), whose shell takes environ).
void restore_environ();

}  // namespace socksify::shim
