#include "launcher/run.hpp"

#include <dirent.h>
#include <dlfcn.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "launcher/environment.hpp"
#include "launcher/fail.hpp"
#include "launcher/supervisor/elf_kind.hpp"
#include "launcher/version.hpp"
#include "shim/audit_file.hpp"
#include "shim/program_check.hpp"
#include "shim/shared_state.hpp"
#include "shim/shm_file.hpp"

namespace socksify::launcher {
using namespace shim;

namespace {
constexpr const char* kShmDir = "/dev/shm";
constexpr std::string_view kShmPrefix = "socksify-";
}  // namespace

// Never '.', never a search path (locate_library).
std::string find_library() {
    std::string tried;
    std::string lib = locate_library(tried);
    if (lib.empty()) die("library not found: " + tried);
    return lib;
}

// Removes the /dev/shm state files earlier versions made, when their launcher died
// without cleaning up (the state is a memfd now: nothing of it stays behind).
void remove_stale_shm() {
    DIR* d = opendir(kShmDir);
    if (d == nullptr) return;
    pid_t self = getpid();
    while (dirent* e = readdir(d)) {
        std::string_view name = e->d_name;
        if (name.substr(0, kShmPrefix.size()) != kShmPrefix) continue;
        std::string_view rest = name.substr(kShmPrefix.size());
        size_t dash = rest.find('-');
        if (dash == 0 || dash == std::string_view::npos || dash > 9) continue;
        long pid = 0;
        bool digits = true;
        for (char c : rest.substr(0, dash)) {
            if (c < '0' || c > '9') digits = false;
            pid = pid * 10 + (c - '0');
        }
        if (!digits || pid == self) continue;
        if (kill(static_cast<pid_t>(pid), 0) == -1 && errno == ESRCH) {
            unlinkat(dirfd(d), e->d_name, 0);  // someone else's file: EPERM, left alone
        }
    }
    closedir(d);
}

// The run's shared state (shm_file.hpp): a memfd the child inherits, with no path
// anyone could swap and nothing to remove at any exit. It carries the password.
std::string create_state_for(const Config& cfg) {
    StateRef ref;
    if (create_state(cfg, cfg.pass, cfg.pass_len, ref) < 0)
        die(std::string("cannot create the shared state: ") + std::strerror(errno));
    char text[96];
    format_state_ref(ref, text, sizeof text);
    return text;
}

// A library the dynamic loader cannot load is skipped with a warning, and the program
// would run unproxied: refuse instead. Every run checks that the ELF file is whole;
// strict mode also loads it (RTLD_LOCAL: no symbol of ours reaches the launcher).
void check_library(const std::string& lib, bool strict) {
    if (!complete_elf(lib)) die("library '" + printable(lib) + "' is not a whole shared object");
    if (!strict) return;
    void* h = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) die("library '" + printable(lib) + "' cannot be loaded: " + dlerror());
    dlclose(h);
}

// The preload cannot act in a static, setuid/setgid, capability-carrying, foreign
// (class, machine, loader) program, nor can an unreadable one be checked: strict mode
// refuses to run it, otherwise one warning says it runs unproxied.
void check_program(const char* name, bool strict, bool supervised) {
    char found[4096];
    if (!find_program(name, std::getenv("PATH"), found, sizeof found)) return;  // "not found"
    std::string path = found;
    Blocker b = program_blocker(found);
    if (!b) return;
    // Static and Go programs: the supervisor serves their calls. (32-bit ones stay
    // refused: the supervisor would refuse every network call they make.)
    if (supervised && b.supervisable && !b.foreign_class) return;
    std::string msg = "program '" + printable(path) + "' is " + b.why + ": " + blocker_effect(b);
    if (strict) {
        append_refusal(audit_path(), path.c_str(), "not-preloadable");
        die(msg + " (refused in --strict mode)");
    }
    msg = "socksify: warning: " + msg +
          (b.unchecked ? "; its traffic may not be proxied\n" : "; its traffic is not proxied\n");
    ssize_t ignored = write(STDERR_FILENO, msg.data(), msg.size());
    (void)ignored;
}

namespace {

volatile sig_atomic_t g_child = 0;
// A supervised run: the stage's and the launcher's ends of their socket pair.
int g_stage_fd = -1;
int g_stage_parent = -1;
bool g_supervise_required = false;

}  // namespace

std::vector<char*> supervised_argv(char** argv, launcher::SuperviseMode mode, bool strict,
                                   bool& supervised) {
    supervised = false;
    // Under --strict the kernel enforces what the library cannot: every program of the
    // run is supervised from the first exec.
    if (strict && mode == launcher::SuperviseMode::kOff)
        die("--strict needs the supervisor (--supervise off given)");
    if (strict) mode = launcher::SuperviseMode::kOn;
    if (mode == launcher::SuperviseMode::kOff) return {};
    char found[4096];
    const char* why = nullptr;
    if (find_program(argv[0], std::getenv("PATH"), found, sizeof found))
        why = launcher::supervision_reason(found);
    if (mode == launcher::SuperviseMode::kAuto && why == nullptr) return {};
    if (!launcher::prepare_stage(g_stage_fd, g_stage_parent))
        die(std::string("cannot supervise the program: ") + std::strerror(errno), kExitCannotRun);
    g_supervise_required = mode == launcher::SuperviseMode::kOn || strict;
    static std::string self, fd_text;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) die("cannot supervise the program: /proc/self/exe is unreadable", kExitCannotRun);
    self.assign(exe, static_cast<size_t>(n));
    fd_text = std::to_string(g_stage_fd);
    std::vector<char*> v = {self.data(), const_cast<char*>(launcher::kStageFlag), fd_text.data(),
                            const_cast<char*>(strict ? "strict" : "plain"),
                            const_cast<char*>("--")};
    for (char** a = argv; *a != nullptr; ++a) v.push_back(*a);
    v.push_back(nullptr);
    supervised = true;
    return v;
}

void hide_from_job(char** argv, int program) {
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        die(std::string("--strict cannot protect the launcher from the job: ") +
            std::strerror(errno));
    for (int i = 1; i < program; ++i) explicit_bzero(argv[i], std::strlen(argv[i]));
}

namespace {

void forward_signal(int sig) {
    int saved = errno;
    pid_t child = g_child;
    if (child > 0) kill(child, sig);
    errno = saved;
}

// SIGINT and SIGQUIT typed at the terminal reach the child through its process group
// (si_code SI_KERNEL): passing them on as well would deliver them twice, so only those
// a process sent (kill, sigqueue: si_code <= 0) are passed on — those reached the
// launcher alone — unless the program sent them itself (kill(0, …) or to its parent),
// which would echo them back. A process that signals the whole group still reaches the
// child twice, as with the signals below. The others are never typed at a terminal:
// always passed on.
void forward_unless_from_terminal(int sig, siginfo_t* info, void*) {
    if (info->si_code > 0 || info->si_pid == g_child) return;
    forward_signal(sig);
}
constexpr int kFromTerminalToo[] = {SIGINT, SIGQUIT};
constexpr int kForwarded[] = {SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};

[[noreturn]] void die_like_child(int sig) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, nullptr);
    rlimit no_core{0, 0};  // the child's crash, not ours: no core file from the launcher
    setrlimit(RLIMIT_CORE, &no_core);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    sigprocmask(SIG_UNBLOCK, &one, nullptr);
    raise(sig);
    _exit(128 + sig);
}

}  // namespace

int run(char** argv) {
    sigset_t forwarded, old_mask;
    sigemptyset(&forwarded);
    for (int s : kForwarded) sigaddset(&forwarded, s);
    for (int s : kFromTerminalToo) sigaddset(&forwarded, s);
    sigprocmask(SIG_BLOCK, &forwarded, &old_mask);

    // Signals we catch go back to default in the child; a signal the launcher
    // inherited as ignored (nohup, a background job) stays ignored in the child too.
    sigset_t child_default;
    sigemptyset(&child_default);
    struct sigaction from_process {
    }, fwd{}, old{};
    from_process.sa_sigaction = forward_unless_from_terminal;
    from_process.sa_flags = SA_SIGINFO;
    sigemptyset(&from_process.sa_mask);
    fwd.sa_handler = forward_signal;
    sigemptyset(&fwd.sa_mask);
    for (int s : kFromTerminalToo) {
        sigaction(s, nullptr, &old);
        if (old.sa_handler == SIG_IGN) continue;
        sigaction(s, &from_process, nullptr);
        sigaddset(&child_default, s);
    }
    for (int s : kForwarded) {
        sigaction(s, nullptr, &old);
        if (old.sa_handler == SIG_IGN) continue;
        sigaction(s, &fwd, nullptr);
        sigaddset(&child_default, s);
    }

    std::vector<char*> envp = env_block();

    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &old_mask);
    posix_spawnattr_setsigdefault(&attr, &child_default);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, argv[0], nullptr, &attr, argv, envp.data());
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        if (rc == ENOENT) die("program '" + printable(argv[0]) + "' not found", kExitNotFound);
        die("cannot run program '" + printable(argv[0]) + "': " + std::strerror(rc),
            kExitCannotRun);
    }
    g_child = pid;
    if (g_stage_fd >= 0) {
        launcher::attach_supervisor(pid, g_stage_fd, g_stage_parent, supervisor_lookup,
                                    g_supervise_required);
    }
    sigprocmask(SIG_SETMASK, &old_mask, nullptr);

    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            int err = errno;
            die(std::string("waiting for the program failed: ") + std::strerror(err), 1);
        }
    }
    sigprocmask(SIG_BLOCK, &forwarded, nullptr);  // the pid may be reused from now on
    g_child = 0;
    if (WIFSIGNALED(status)) die_like_child(WTERMSIG(status));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

}  // namespace socksify::launcher
