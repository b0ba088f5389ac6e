// The exec family, posix_spawn, system and popen: a program the preload cannot act in
// is refused with EACCES under --strict (warned about otherwise), and under --strict
// every other one runs with LD_PRELOAD and the SOCKSIFY_* variables even when the
// caller cleared them. The check looks where the kernel will: in the directory a
// posix_spawn child changes to, relative to execveat's dirfd, at an fd's file. glibc's
// execvp, execl* and posix_spawn reach the kernel without calling execve through the
// PLT, so each one needs a hook of its own; system and popen run /bin/sh, which takes
// environ. In a run with a supervisor that the run's program is not under (auto mode,
// a libc program at the top), a program the preload cannot serve is exec'd through the
// launcher, which puts it under a filter served by the run (exec_guard.hpp).
#include <alloca.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "shim/exec_guard.hpp"
#include "shim/hooks/export.hpp"
#include "shim/program_check.hpp"
#include "shim/real.hpp"
#include "shim/spawn_dir.hpp"

using namespace socksify::shim;

namespace {

// A program that goes to the run's supervisor (exec_guard.hpp, kEnvSupervisor): the
// path it was found at, for the launcher to exec in the same directory.
struct Join {
    bool join = false;
    char path[PATH_MAX];
};

// 0, or EACCES (after the log line and audit record) when file may not run. A name
// without '/' is looked up in PATH first, as execvp does, from where.dir. errno is
// kept: a posix_spawn that succeeds leaves it alone, as libc's does. With j non-null
// (the caller can run the launcher where the program would have run), j->join says
// the program is to run under the launcher instead (exec_check's join).
int refusal(const char* file, bool search, ExecSite where = {}, Join* j = nullptr) {
    int saved = errno;
    char found[PATH_MAX];
    const char* path = nullptr;
    if (!search)
        path = file;
    else if (find_program_at(where.dir, file, getenv("PATH"), found, sizeof found))
        path = found;
    bool* join = nullptr;
    if (j != nullptr && path != nullptr && std::strlen(path) < sizeof j->path) {
        std::strcpy(j->path, path);
        join = &j->join;
    }
    int err = path != nullptr ? exec_check(path, where, join) : 0;
    errno = saved;
    return err;
}

// posix_spawn and posix_spawnp: the program is looked for where the child will be
// after its file actions, which is where the launcher runs in its place.
int spawn_refusal(const char* file, bool search, const posix_spawn_file_actions_t* actions,
                  Join* j) {
    int saved = errno;
    SpawnDir dir;
    int err = dir.follow(actions) ? refusal(file, search, ExecSite{dir.fd(), dir.fd(), 0}, j)
                                  : exec_check_unfollowable(file);
    errno = saved;
    return err;
}

// Calls run(launcher, argv) with the command line that runs path with argv under the
// run's supervisor (exec_guard.hpp), built on this frame (no allocation).
template <typename Run>
int with_join(const char* path, char* const* argv, Run run) {
    size_t n = 0;
    while (argv != nullptr && argv[n] != nullptr) ++n;
    const char* prefix[kJoinPrefix];
    join_prefix(prefix);
    size_t cap = 1 + kJoinPrefix + 2 + n + 1;
    auto** out = static_cast<char**>(alloca(cap * sizeof(char*)));
    size_t k = 0;
    out[k++] = const_cast<char*>(join_launcher());
    for (const char* p : prefix) out[k++] = const_cast<char*>(p);
    out[k++] = const_cast<char*>(path);
    out[k++] = const_cast<char*>("--");
    for (size_t i = 0; i < n; ++i) out[k++] = argv[i];
    out[k] = nullptr;
    return run(join_launcher(), out);
}

// A program named by fd: the path the fd was opened by in the messages and the audit
// record (/proc/self/fd/N when /proc cannot say). With join non-null: as refusal's.
int refusal_by_fd(int fd, bool* join = nullptr) {
    int saved = errno;
    char link[64];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    char shown[PATH_MAX];
    ssize_t n = readlink(link, shown, sizeof shown - 1);
    if (n > 0 && shown[0] == '/')
        shown[n] = '\0';
    else
        std::snprintf(shown, sizeof shown, "%s", link);
    int err = exec_check_fd(fd, shown, AT_FDCWD, join);
    errno = saved;
    return err;
}

// Calls run(env) with the strict-mode environment for envp, built on this stack
// frame (no allocation: this may be a vfork() child); failed(E2BIG) when it does not
// fit the arrays.
template <typename Run, typename Failed>
auto with_env(char* const* envp, Run run, Failed failed) {
    size_t count = 0;
    size_t preload = 0;
    for (char* const* e = envp; e != nullptr && *e != nullptr; ++e, ++count)
        if (std::strncmp(*e, "LD_PRELOAD=", 11) == 0 && std::strlen(*e) > preload)
            preload = std::strlen(*e);
    size_t cap = count + exec_env_extra() + 1;
    auto** out = static_cast<char**>(alloca(cap * sizeof(char*)));
    size_t buf_cap = preload + PATH_MAX + 16;
    auto* buf = static_cast<char*>(alloca(buf_cap));
    if (!exec_env(envp, out, cap, buf, buf_cap)) return failed(E2BIG);
    return run(out);
}

int fail_errno(int err) {
    errno = err;
    return -1;
}

// The arguments of execl, execle and execlp: how many follow arg0 up to the null
// pointer, then those arguments as an argv (sized by the count, as glibc does: no
// limit of our own); envp (execle) gets the pointer after the null.
size_t count_args(const char* arg0, va_list ap) {
    size_t n = arg0 != nullptr ? 1 : 0;
    while (arg0 != nullptr && va_arg(ap, const char*) != nullptr) ++n;
    return n;
}

void collect_args(const char* arg0, va_list ap, char** argv, size_t n, char* const** envp) {
    if (n > 0) argv[0] = const_cast<char*>(arg0);
    for (size_t i = 1; i < n; ++i) argv[i] = va_arg(ap, char*);
    if (n > 0) (void)va_arg(ap, char*);  // the terminating null
    argv[n] = nullptr;
    if (envp != nullptr) *envp = va_arg(ap, char* const*);
}

}  // namespace

namespace {

// execve after the check: under --strict with the strict-mode environment.
int checked_execve(const char* path, char* const argv[], char* const envp[]) {
    if (!exec_guard_on()) return real::execve(path, argv, envp);
    return with_env(
        envp, [&](char* const* env) { return real::execve(path, argv, env); }, fail_errno);
}

// The launcher in the program's place (with_join), or the program itself: also when
// the launcher cannot be exec'd, after exec_check's verdict without the join.
int execve_or_join(const Join& j, const char* path, char* const argv[], char* const envp[]) {
    if (!j.join) return checked_execve(path, argv, envp);
    with_join(j.path, argv, [&](const char* launcher, char* const* args) {
        return checked_execve(launcher, args, envp);
    });
    if (int err = exec_check_unjoined(j.path)) return fail_errno(err);
    return checked_execve(path, argv, envp);
}

}  // namespace

SOCKSIFY_EXPORT int execve(const char* path, char* const argv[], char* const envp[]) {
    Join j;
    if (int err = refusal(path, false, {}, &j)) return fail_errno(err);
    return execve_or_join(j, path, argv, envp);
}

// glibc's execv and execvp are these calls with environ.
SOCKSIFY_EXPORT int execv(const char* path, char* const argv[]) {
    return execve(path, argv, environ);
}

SOCKSIFY_EXPORT int execvpe(const char* file, char* const argv[], char* const envp[]) {
    Join j;
    if (int err = refusal(file, true, {}, &j)) return fail_errno(err);
    if (j.join) return execve_or_join(j, j.path, argv, envp);
    if (!exec_guard_on()) return real::execvpe(file, argv, envp);
    return with_env(
        envp, [&](char* const* env) { return real::execvpe(file, argv, env); }, fail_errno);
}

SOCKSIFY_EXPORT int execvp(const char* file, char* const argv[]) {
    return execvpe(file, argv, environ);
}

// The argv of a list form on the calling frame: alloca must run in the hook itself.
#define SOCKSIFY_LIST_ARGV(arg0, argv, envp)                                \
    va_list ap_;                                                            \
    va_list count_;                                                         \
    va_start(ap_, arg0);                                                    \
    va_copy(count_, ap_);                                                   \
    size_t argc_ = count_args(arg0, count_);                                \
    va_end(count_);                                                         \
    auto** argv = static_cast<char**>(alloca((argc_ + 1) * sizeof(char*))); \
    collect_args(arg0, ap_, argv, argc_, envp);                             \
    va_end(ap_)

SOCKSIFY_EXPORT int execl(const char* path, const char* arg0, ...) {
    SOCKSIFY_LIST_ARGV(arg0, argv, nullptr);
    return execv(path, argv);
}

SOCKSIFY_EXPORT int execle(const char* path, const char* arg0, ...) {
    char* const* envp = nullptr;
    SOCKSIFY_LIST_ARGV(arg0, argv, &envp);
    return execve(path, argv, envp);
}

SOCKSIFY_EXPORT int execlp(const char* file, const char* arg0, ...) {
    SOCKSIFY_LIST_ARGV(arg0, argv, nullptr);
    return execvp(file, argv);
}

namespace {

// The launcher in the place of the program open as fd (exec_check_fd's join): it gets
// a copy of fd that survives exec (fd may be close-on-exec) and runs the program from
// it (kJoinFdPrefix). Returns only when the launcher could not be exec'd, with
// exec_check_fd's verdict without the join: 0 (after the warning) or the errno.
int join_by_fd(int fd, char* const argv[], char* const envp[]) {
    int copy = real::fcntl(fd, F_DUPFD, 3);  // without FD_CLOEXEC
    if (copy >= 0) {
        char path[64];
        std::snprintf(path, sizeof path, "%s%d", kJoinFdPrefix, copy);
        with_join(path, argv, [&](const char* launcher, char* const* args) {
            return checked_execve(launcher, args, envp);
        });
        int saved = errno;
        real::close(copy);
        errno = saved;
    }
    return refusal_by_fd(fd);
}

}  // namespace

SOCKSIFY_EXPORT int fexecve(int fd, char* const argv[], char* const envp[]) {
    bool join = false;
    if (int err = refusal_by_fd(fd, &join)) return fail_errno(err);
    if (join) {
        if (int err = join_by_fd(fd, argv, envp)) return fail_errno(err);
    }
    if (!exec_guard_on()) return real::fexecve(fd, argv, envp);
    return with_env(
        envp, [&](char* const* env) { return real::fexecve(fd, argv, env); }, fail_errno);
}

SOCKSIFY_EXPORT int execveat(int dirfd, const char* pathname, char* const argv[],
                             char* const envp[], int flags) {
    // The file the kernel will run: dirfd itself (AT_EMPTY_PATH), or pathname from dirfd.
    bool by_fd = (flags & AT_EMPTY_PATH) != 0 && pathname != nullptr && pathname[0] == '\0';
    // The launcher finds pathname again from the current directory; else (relative to
    // dirfd, or not to be followed if a link) it gets the file open as a descriptor.
    Join j;
    bool fd_join = false;
    bool by_path = pathname != nullptr && (dirfd == AT_FDCWD || pathname[0] == '/') &&
                   (flags & AT_SYMLINK_NOFOLLOW) == 0;
    int err = by_fd ? refusal_by_fd(dirfd, &fd_join)
              : pathname == nullptr
                  ? 0
                  : refusal(pathname, false, ExecSite{dirfd, AT_FDCWD, flags}, &j);
    if (err != 0) return fail_errno(err);
    if (fd_join) {
        if (int e = join_by_fd(dirfd, argv, envp)) return fail_errno(e);
    } else if (j.join && by_path) {
        return execve_or_join(j, j.path, argv, envp);
    } else if (j.join) {
        int saved = errno;
        int nofollow = (flags & AT_SYMLINK_NOFOLLOW) != 0 ? O_NOFOLLOW : 0;
        int file = openat(dirfd, pathname, O_PATH | O_CLOEXEC | nofollow);
        struct stat st {};
        if (file >= 0 && (fstat(file, &st) != 0 || !S_ISREG(st.st_mode))) {
            real::close(file);  // a link not to be followed: exec's own ELOOP
            file = -1;
        }
        err = file >= 0 ? join_by_fd(file, argv, envp)
                        : refusal(pathname, false, ExecSite{dirfd, AT_FDCWD, flags});
        if (file >= 0) real::close(file);
        errno = saved;
        if (err != 0) return fail_errno(err);
    }
    if (!exec_guard_on()) return real::execveat(dirfd, pathname, argv, envp, flags);
    return with_env(
        envp, [&](char* const* env) { return real::execveat(dirfd, pathname, argv, env, flags); },
        fail_errno);
}

namespace {

// posix_spawn of path with argv, under --strict with the strict-mode environment.
int checked_spawn(pid_t* pid, const char* path, const posix_spawn_file_actions_t* actions,
                  const posix_spawnattr_t* attr, char* const argv[], char* const envp[]) {
    if (!exec_guard_on()) return real::posix_spawn(pid, path, actions, attr, argv, envp);
    return with_env(
        envp,
        [&](char* const* env) { return real::posix_spawn(pid, path, actions, attr, argv, env); },
        [](int err) { return err; });
}

// posix_spawn of the launcher in the program's place (with_join); when the launcher
// cannot be run, the program itself after exec_check's verdict without the join.
// (The child's file actions ran by then; they run again for the program.)
int join_spawn(pid_t* pid, const Join& j, const posix_spawn_file_actions_t* actions,
               const posix_spawnattr_t* attr, char* const argv[], char* const envp[]) {
    int rc = with_join(j.path, argv, [&](const char* launcher, char* const* args) {
        return checked_spawn(pid, launcher, actions, attr, args, envp);
    });
    if (rc != ENOENT && rc != EACCES && rc != ENOEXEC) return rc;
    SpawnDir dir;
    int cwd = dir.follow(actions) ? dir.fd() : AT_FDCWD;
    if (int err = exec_check_unjoined(j.path, ExecSite{cwd, cwd, 0})) return err;
    return checked_spawn(pid, j.path, actions, attr, argv, envp);
}

}  // namespace

SOCKSIFY_EXPORT int posix_spawn(pid_t* pid, const char* path,
                                const posix_spawn_file_actions_t* actions,
                                const posix_spawnattr_t* attr, char* const argv[],
                                char* const envp[]) {
    Join j;
    if (int err = spawn_refusal(path, false, actions, &j)) return err;  // returned, not in errno
    if (j.join) return join_spawn(pid, j, actions, attr, argv, envp);
    return checked_spawn(pid, path, actions, attr, argv, envp);
}

SOCKSIFY_EXPORT int posix_spawnp(pid_t* pid, const char* file,
                                 const posix_spawn_file_actions_t* actions,
                                 const posix_spawnattr_t* attr, char* const argv[],
                                 char* const envp[]) {
    Join j;
    if (int err = spawn_refusal(file, true, actions, &j)) return err;
    if (j.join) return join_spawn(pid, j, actions, attr, argv, envp);
    if (!exec_guard_on()) return real::posix_spawnp(pid, file, actions, attr, argv, envp);
    return with_env(
        envp,
        [&](char* const* env) { return real::posix_spawnp(pid, file, actions, attr, argv, env); },
        [](int err) { return err; });
}

SOCKSIFY_EXPORT int system(const char* command) {
    if (exec_guard_on()) restore_environ();
    return real::system(command);
}

SOCKSIFY_EXPORT FILE* popen(const char* command, const char* mode) {
    if (exec_guard_on()) restore_environ();
    return real::popen(command, mode);
}
