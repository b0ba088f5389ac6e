// The exec family, posix_spawn, system and popen: under --strict, a program the
// preload cannot act in is refused with EACCES, and every other one runs with
// LD_PRELOAD and the SOCKSIFY_* variables even when the caller cleared them. Outside
// strict mode each hook is one load and a tail call. glibc's execvp, execl* and
// posix_spawn reach the kernel without calling execve through the PLT, so each one
// needs a hook of its own; system and popen run /bin/sh, which takes environ.
#include <alloca.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "shim/exec_guard.hpp"
#include "shim/export.hpp"
#include "shim/program_check.hpp"
#include "shim/real.hpp"

using namespace socksify::shim;

namespace {

// EACCES (after the log line and audit record) when path may not run; 0 otherwise.
// A name without '/' is looked up in PATH first, as execvp does.
int refusal(const char* file, bool search) {
    char found[PATH_MAX];
    if (search && !find_program(file, getenv("PATH"), found, sizeof found)) return 0;
    return exec_refusal(search ? found : file);
}

// Calls run(env) with the strict-mode environment for envp, built on this stack
// frame (no allocation: this may be a vfork() child); failed(E2BIG) when it does not
// fit the arrays.
template <typename Run, typename Failed>
auto with_env(char* const* envp, Run run, Failed failed) {
    size_t count = 0;
    size_t preload = 0;
    for (char* const* e = envp; e != nullptr && *e != nullptr; ++e, ++count)
        if (std::strncmp(*e, "LD_PRELOAD=", 11) == 0 && preload == 0) preload = std::strlen(*e);
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

// The arguments of execl, execle and execlp as an argv: arg0, then ap up to its null
// pointer; with envp set, the pointer after that null too (execle). False (E2BIG)
// beyond cap - 1 arguments.
constexpr size_t kMaxListArgs = 4096;
bool collect_args(const char* arg0, va_list ap, char** argv, size_t cap, char* const** envp) {
    size_t n = 0;
    for (const char* a = arg0; a != nullptr; a = va_arg(ap, const char*)) {
        if (n + 1 == cap) return false;
        argv[n++] = const_cast<char*>(a);
    }
    argv[n] = nullptr;
    if (envp != nullptr) *envp = va_arg(ap, char* const*);
    return true;
}

}  // namespace

SOCKSIFY_EXPORT int execve(const char* path, char* const argv[], char* const envp[]) {
    if (!exec_guard_on()) return real::execve(path, argv, envp);
    if (int err = refusal(path, false)) return fail_errno(err);
    return with_env(
        envp, [&](char* const* env) { return real::execve(path, argv, env); }, fail_errno);
}

SOCKSIFY_EXPORT int execv(const char* path, char* const argv[]) {
    if (!exec_guard_on()) return real::execv(path, argv);
    return execve(path, argv, environ);
}

SOCKSIFY_EXPORT int execvpe(const char* file, char* const argv[], char* const envp[]) {
    if (!exec_guard_on()) return real::execvpe(file, argv, envp);
    if (int err = refusal(file, true)) return fail_errno(err);
    return with_env(
        envp, [&](char* const* env) { return real::execvpe(file, argv, env); }, fail_errno);
}

SOCKSIFY_EXPORT int execvp(const char* file, char* const argv[]) {
    if (!exec_guard_on()) return real::execvp(file, argv);
    return execvpe(file, argv, environ);
}

SOCKSIFY_EXPORT int execl(const char* path, const char* arg0, ...) {
    char* argv[kMaxListArgs];
    va_list ap;
    va_start(ap, arg0);
    bool ok = collect_args(arg0, ap, argv, kMaxListArgs, nullptr);
    va_end(ap);
    return ok ? execv(path, argv) : fail_errno(E2BIG);
}

SOCKSIFY_EXPORT int execle(const char* path, const char* arg0, ...) {
    char* argv[kMaxListArgs];
    char* const* envp = nullptr;
    va_list ap;
    va_start(ap, arg0);
    bool ok = collect_args(arg0, ap, argv, kMaxListArgs, &envp);
    va_end(ap);
    return ok ? execve(path, argv, envp) : fail_errno(E2BIG);
}

SOCKSIFY_EXPORT int execlp(const char* file, const char* arg0, ...) {
    char* argv[kMaxListArgs];
    va_list ap;
    va_start(ap, arg0);
    bool ok = collect_args(arg0, ap, argv, kMaxListArgs, nullptr);
    va_end(ap);
    return ok ? execvp(file, argv) : fail_errno(E2BIG);
}

SOCKSIFY_EXPORT int fexecve(int fd, char* const argv[], char* const envp[]) {
    if (!exec_guard_on()) return real::fexecve(fd, argv, envp);
    char path[64];
    std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    if (int err = refusal(path, false)) return fail_errno(err);
    return with_env(
        envp, [&](char* const* env) { return real::fexecve(fd, argv, env); }, fail_errno);
}

SOCKSIFY_EXPORT int execveat(int dirfd, const char* pathname, char* const argv[],
                             char* const envp[], int flags) {
    if (!exec_guard_on()) return real::execveat(dirfd, pathname, argv, envp, flags);
    // The file the kernel will run, as a path the checks can open.
    char path[PATH_MAX];
    if (pathname[0] == '/' || dirfd == AT_FDCWD)
        std::snprintf(path, sizeof path, "%s", pathname);
    else if (pathname[0] == '\0')
        std::snprintf(path, sizeof path, "/proc/self/fd/%d", dirfd);
    else
        std::snprintf(path, sizeof path, "/proc/self/fd/%d/%s", dirfd, pathname);
    if (int err = refusal(path, false)) return fail_errno(err);
    return with_env(
        envp, [&](char* const* env) { return real::execveat(dirfd, pathname, argv, env, flags); },
        fail_errno);
}

SOCKSIFY_EXPORT int posix_spawn(pid_t* pid, const char* path,
                                const posix_spawn_file_actions_t* actions,
                                const posix_spawnattr_t* attr, char* const argv[],
                                char* const envp[]) {
    if (!exec_guard_on()) return real::posix_spawn(pid, path, actions, attr, argv, envp);
    if (int err = refusal(path, false)) return err;  // posix_spawn returns the error
    return with_env(
        envp,
        [&](char* const* env) { return real::posix_spawn(pid, path, actions, attr, argv, env); },
        [](int err) { return err; });
}

SOCKSIFY_EXPORT int posix_spawnp(pid_t* pid, const char* file,
                                 const posix_spawn_file_actions_t* actions,
                                 const posix_spawnattr_t* attr, char* const argv[],
                                 char* const envp[]) {
    if (!exec_guard_on()) return real::posix_spawnp(pid, file, actions, attr, argv, envp);
    if (int err = refusal(file, true)) return err;
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
