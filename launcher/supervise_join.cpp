// The join: a program started later in the run goes under a filter of its own (one
// listener per joined program, so nothing of the run's other processes is filtered),
// served by the run's launcher.
//
// Hand-over: the program's process (now the launcher, exec'd by the library's hook)
// connects to the run's launcher on an abstract unix socket, allows it to take its fds
// (PR_SET_PTRACER: under Yama's default scope only an ancestor could, and a daemonised
// process is nobody's descendant), installs the filter and writes the listener's fd
// number; the run's launcher takes it with pidfd_getfd, starts serving it and says go.
// As for the run's own program, the fd cannot go by SCM_RIGHTS: that sendmsg would trap.
#include "launcher/supervise_join.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "launcher/supervisor/seccomp_filter.hpp"
#include "shim/audit_file.hpp"
#include "shim/exec_guard.hpp"
#include "shim/io.hpp"

extern char** environ;

namespace socksify::launcher {
namespace {

constexpr int kExitCannotRun = 126;
constexpr int kExitNotFound = 127;
constexpr int kHandOverSeconds = 10;  // a joining process that stalls is dropped

void say(const std::string& line) {
    std::string s = "socksify[" + std::to_string(getpid()) + "]: " + line + "\n";
    ssize_t ignored = write(STDERR_FILENO, s.data(), s.size());
    (void)ignored;
}

// The abstract socket address of name (no leading NUL in name).
socklen_t abstract_address(const std::string& name, sockaddr_un& out) {
    out = sockaddr_un{};
    out.sun_family = AF_UNIX;
    size_t n = std::min(name.size(), sizeof out.sun_path - 1);
    std::memcpy(out.sun_path + 1, name.data(), n);
    return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n);
}

// One joining process: its listener is taken and served, then it is told to go ('g');
// anything else ('n', or the connection closed) tells it nobody serves its filter.
void take_join(int c, shim::EnvLookup env) {
    ucred peer{};
    socklen_t len = sizeof peer;
    timeval limit{kHandOverSeconds, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    int32_t n = -1;
    // Only this user's processes (root's too: it could take our fds anyway).
    if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &peer, &len) == 0 &&
        (peer.uid == getuid() || peer.uid == 0) && shim::read_full(c, &n, sizeof n) && n >= 0) {
        int listener = take_listener(peer.pid, n);
        char reply = 'n';
        if (listener >= 0) {
            serve_listener(listener, env);
            reply = 'g';
        }
        (void)!write(c, &reply, 1);
    }
    close(c);
}

void serve_joins(int server, shim::EnvLookup env) {
    for (;;) {
        int c = accept4(server, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                usleep(10000);  // the joining process waits, then hears nothing: refused
                continue;
            }
            return;
        }
        std::thread(take_join, c, env).detach();
    }
}

// Starts the join server; its abstract name, or "" when it cannot listen.
std::string start_join_server(shim::EnvLookup env) {
    uint8_t rnd[8] = {};
    if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) return "";
    char name[64];
    int len = std::snprintf(name, sizeof name, "socksify-join-%d-", static_cast<int>(getpid()));
    for (uint8_t b : rnd) len += std::snprintf(name + len, sizeof name - len, "%02x", b);
    int server = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (server < 0) return "";
    sockaddr_un addr{};
    socklen_t alen = abstract_address(name, addr);
    if (bind(server, reinterpret_cast<sockaddr*>(&addr), alen) != 0 || listen(server, 128) != 0) {
        close(server);
        return "";
    }
    // The launcher's main thread takes the signals it forwards; ours take none.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    std::thread(serve_joins, server, env).detach();
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return name;
}

// The joining side cannot be supervised: under --strict one line and exit 126 (the
// program does not run); otherwise one warning and the program runs unsupervised.
void cannot_join(bool strict, const char* path, const std::string& why) {
    std::string shown = path;
    if (strict) {
        say("cannot supervise '" + shown + "': " + why + " (refused in --strict mode)");
        shim::append_refusal(std::getenv(shim::kEnvAudit), path, "not-supervisable");
        _exit(kExitCannotRun);
    }
    say("warning: cannot supervise '" + shown + "': " + why + "; its traffic is not proxied");
}

// execve by the instruction itself: the library, preloaded here too, hooks execve and
// syscall(), and its hook would send the program back here.
long raw_execve(const char* path, char** argv, char** envp) {
#if defined(__x86_64__)
    long ret = SYS_execve;
    asm volatile("syscall" : "+a"(ret) : "D"(path), "S"(argv), "d"(envp) : "rcx", "r11", "memory");
    return ret;
#else
#error "the supervisor serves x86_64 only"
#endif
}

// execveat(fd, "", argv, environ, AT_EMPTY_PATH), by the instruction as raw_execve.
long raw_execveat_fd(int fd, char** argv, char** envp) {
    long ret = SYS_execveat;
    register long r10 asm("r10") = reinterpret_cast<long>(envp);
    register long r8 asm("r8") = AT_EMPTY_PATH;
    asm volatile("syscall"
                 : "+a"(ret)
                 : "D"(static_cast<long>(fd)), "S"(""), "d"(argv), "r"(r10), "r"(r8)
                 : "rcx", "r11", "memory");
    return ret;
}

// The descriptor of a join by descriptor (PATH is kJoinFdPrefix N), or -1.
int joined_fd(const char* path) {
    size_t n = std::strlen(shim::kJoinFdPrefix);
    if (std::strncmp(path, shim::kJoinFdPrefix, n) != 0 || path[n] == '\0') return -1;
    char* end = nullptr;
    long fd = std::strtol(path + n, &end, 10);
    return *end == '\0' && fd >= 0 && fd <= INT32_MAX ? static_cast<int>(fd) : -1;
}

[[noreturn]] void exec_program(const char* path, char** argv) {
    // A program open as a descriptor the library kept open for us: run from it, and
    // closed on the way (the program never sees it).
    int fd = joined_fd(path);
    if (fd >= 0) (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    long rc = fd >= 0 ? raw_execveat_fd(fd, argv, environ) : raw_execve(path, argv, environ);
    if (fd >= 0 && rc == -ENOENT) {
        // A script: its interpreter opens it as /dev/fd/N, which needs N open. As
        // fexecve of an fd without FD_CLOEXEC, the script then has it too.
        (void)fcntl(fd, F_SETFD, 0);
        rc = raw_execveat_fd(fd, argv, environ);
    }
    int err = static_cast<int>(-rc);
    say(std::string("cannot run program '") + path + "': " + std::strerror(err));
    _exit(err == ENOENT ? kExitNotFound : kExitCannotRun);
}

long raw(long nr, long a = 0, long b = 0, long c = 0) { return syscall(nr, a, b, c); }

}  // namespace

std::string supervisor_env(SuperviseMode mode, bool supervised, shim::EnvLookup env) {
    if (supervised) return "tree";
    if (mode != SuperviseMode::kAuto) return "";
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 || exe[0] != '/') return "";  // programs started later run as today
    std::string name = start_join_server(env);
    if (name.empty()) return "";
    return "join:" + name + ":" + std::string(exe, static_cast<size_t>(n));
}

void join_main(int argc, char** argv) {
    // argv: self kJoinFlag SOCKET strict|warn PATH -- program args...
    if (argc < 6 || std::strcmp(argv[5], "--") != 0) {
        say("internal error: bad supervised join arguments");
        _exit(kExitCannotRun);
    }
    bool strict = std::strcmp(argv[3], "strict") == 0;
    const char* path = argv[4];
    char** program = argv + 6;
    // Raw calls: the library may be preloaded here too, and these are not its business.
    int sock = static_cast<int>(raw(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    socklen_t alen = abstract_address(argv[2], addr);
    if (sock < 0 || raw(SYS_connect, sock, reinterpret_cast<long>(&addr), alen) != 0) {
        cannot_join(strict, path,
                    std::string("the run's launcher is gone (") + std::strerror(errno) + ")");
        exec_program(path, program);
    }
    ucred server{};
    socklen_t len = sizeof server;
    if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &server, &len) == 0)
        (void)prctl(PR_SET_PTRACER, static_cast<unsigned long>(server.pid), 0, 0,
                    0);  // no Yama: EINVAL
    int32_t listener = install_filter(build_filter(strict));
    if (listener < 0) {
        close(sock);
        cannot_join(strict, path,
                    std::string("the kernel refused a seccomp user-notification filter (") +
                        std::strerror(-listener) + "; Linux 5.19 or later is needed)");
        exec_program(path, program);
    }
    char go = 0;
    if (write(sock, &listener, sizeof listener) != sizeof listener ||
        !shim::read_full(sock, &go, 1) || go != 'g') {
        // The filter is on and nobody serves it: the program's connects would fail.
        say(std::string("cannot supervise '") + path +
            "': the run's launcher could not take the filter's listener");
        _exit(kExitCannotRun);
    }
    (void)prctl(PR_SET_PTRACER, 0, 0, 0, 0);
    close(listener);
    close(sock);
    exec_program(path, program);
}

}  // namespace socksify::launcher
