// Why a program would run without the preloaded library: statically linked, setuid
// or setgid, or with file capabilities (the dynamic loader drops LD_PRELOAD then);
// built for another ELF class or machine, or for a dynamic loader other than the
// system's (that loader cannot, or need not, load this library); or unreadable, so
// none of this can be checked. Shared by the launcher (the program it is asked to run)
// and the library's exec hooks (what the program runs in turn). No allocation: an exec
// hook may run in a vfork() child.
#pragma once

#include <fcntl.h>

#include <cstddef>

namespace socksify::shim {

// The file execvp would run for name: name itself when it has a '/', else the first
// regular executable file named name in the ':'-separated dirs (an empty entry is the
// current directory; null dirs is glibc's default, /bin:/usr/bin). Relative paths are
// taken from dirfd, as a posix_spawn child that changed directory takes them. False
// when none is found or the path does not fit in cap.
bool find_program_at(int dirfd, const char* name, const char* dirs, char* out, size_t cap);
inline bool find_program(const char* name, const char* dirs, char* out, size_t cap) {
    return find_program_at(AT_FDCWD, name, dirs, out, cap);
}

// Why the preload will not act in a program; a null why when nothing stands in the way.
struct Blocker {
    // Fits "program 'x' is <why>": "statically linked", "setuid", "a 32-bit program",
    // "unreadable"; for a script, judged by its interpreter as many levels down as the
    // kernel follows, "run by a statically linked interpreter" and so on.
    const char* why = nullptr;
    bool unchecked = false;  // it could not be examined: the preload may or may not act in it
    // The launcher's supervisor can serve it instead (statically linked, the other ELF
    // class, another dynamic loader; or a script run by such an interpreter). Not
    // setuid and the like: the supervisor's no_new_privs would strip their privileges.
    bool supervisable = false;
    // Another ELF class: the supervisor would refuse every network call it makes, so
    // --strict refuses it at exec, as the launcher does at the top.
    bool foreign_class = false;
    explicit operator bool() const { return why != nullptr; }
};

// What a blocker means, to follow its why: "the preloaded library cannot act in it",
// or for an unchecked one that socksify cannot tell.
const char* blocker_effect(Blocker b);

// Where an exec looks: the program's path is taken from dir (execveat's dirfd), "#!"
// and PT_INTERP interpreters from cwd (the directory the new program starts in), and
// AT_SYMLINK_NOFOLLOW in flags refuses a symbolic link as execveat does.
struct ExecSite {
    int dir = AT_FDCWD;
    int cwd = AT_FDCWD;
    int flags = 0;
};

// The blocker for the program at path. What exec itself will refuse (a missing file,
// not a regular file, no execute permission, no format the kernel knows) is left to
// exec to report: no blocker.
Blocker program_blocker(const char* path, ExecSite where = {});

// The same for a program open as fd (fexecve; execveat with AT_EMPTY_PATH). An fd that
// cannot be read (O_PATH, write-only) is reopened through /proc/self/fd; without /proc
// it is unchecked.
Blocker program_blocker_fd(int fd, int cwd = AT_FDCWD);

// True for an ELF file of this machine's class with a Go build-info or build-id
// section: Go makes its network calls without libc, even when dynamically linked.
bool is_go_program(const char* path, ExecSite where = {});

// The same for a program open as fd (read through /proc/self/fd: false without /proc).
bool is_go_program_fd(int fd);

// Why the program at path needs the supervisor ("a Go program", "statically linked",
// ...), or nullptr when the preload serves it or the supervisor cannot help.
const char* supervision_reason(const char* path, ExecSite where = {});

// program_blocker(path).why, for callers that only print it.
inline const char* preload_blocker(const char* path) { return program_blocker(path).why; }

}  // namespace socksify::shim
