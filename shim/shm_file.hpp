// Creating, naming and verifying the run's shared state (shared_state.hpp): used by the
// launcher and by a library preloaded without it. Plain libc calls only (the launcher
// links this file too).
//
// The state is a memfd: it has no path in any file system, so no other user can
// pre-create, swap or read it, and nothing is left behind by any exit. Its creator
// keeps it open without FD_CLOEXEC, so every descendant inherits it; SOCKSIFY_SHM
// tells them the fd number and the identity to check it against (fstat: inode, owner,
// mode, size). A descendant whose fd was closed (a program that closes every fd before
// exec) re-opens it through /proc/<creator>/fd/<n> while the creator lives, after
// checking that link names the same inode; otherwise it has no table.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "shim/settings/config.hpp"

namespace socksify::shim {

// What SOCKSIFY_SHM says: "<pid>:<fd>:<dev>:<ino>:<uid>".
struct StateRef {
    pid_t pid = 0;  // the creator, for /proc/<pid>/fd/<fd>
    int fd = -1;
    uint64_t dev = 0;
    uint64_t ino = 0;
    uint32_t uid = 0;  // the run's user, the state's owner
};

bool parse_state_ref(const char* text, StateRef& out);
void format_state_ref(const StateRef& ref, char* out, size_t cap);

// Creates the state: a sealed memfd of shared_size(fake_capacity(cfg)) bytes (mode 0600, size
// fixed), its header stamped with cfg's fake ranges and the password, inherited across exec, at fd
// 100 or above where the program's own descriptors rarely reach. Returns the fd and fills ref, or
// -1 with errno set.
int create_state(const Config& cfg, const char* pass, size_t pass_len, StateRef& ref);

// True when fd is the state ref names: same inode, a regular file of a possible state
// size owned by ref.uid with mode 0600 (the exact size is checked against the header).
bool state_fd_matches(int fd, const StateRef& ref);

// The state ref names, as an fd this process may map: the inherited one, else (for a
// process of the run's user) a fresh O_CLOEXEC one from /proc/<pid>/fd/<fd>, both
// verified. -1 when neither is; why says which check failed. owned: the caller closes.
int open_state(const StateRef& ref, bool& owned, const char*& why);

// Writes a creator's header into the zeroed first page of a state.
void stamp_shared_state(void* mem, const Config& cfg, const char* pass, size_t pass_len);

// Why mem (the first page of a state another process wrote) cannot be used, or nullptr: a
// wrong magic or version, a password length out of bounds.
const char* check_shared_header(const void* mem);
// Why mem's fake ranges differ from cfg's (its addresses would fall outside this
// process's ranges, or mean other names), written into why; or nullptr.
const char* check_shared_ranges(const void* mem, const Config& cfg, char* why, size_t cap);

}  // namespace socksify::shim
