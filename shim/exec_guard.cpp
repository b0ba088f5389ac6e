// The launcher's SOCKSIFY_* variables, copied once when the library is loaded (init.cpp's
// constructor: by the first hooked call the program may have changed or cleared its
// environment already), and strict mode across exec. The configuration is read from
// this copy only, so a program cannot switch a setting off by editing its own
// environment. The exec checks run in the exec hooks, which may be in a vfork() child,
// so nothing here allocates, locks or needs the lazily started configuration.
#include "shim/exec_guard.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "shim/audit_file.hpp"
#include "shim/program_check.hpp"
#include "shim/settings/audit_format.hpp"
#include "shim/settings/config.hpp"

namespace socksify::shim {
namespace {

constexpr std::string_view kPrefix = "SOCKSIFY_";
constexpr std::string_view kPreload = "LD_PRELOAD=";
constexpr size_t kMaxVars = 64;

struct Captured {
    bool strict = false;
    bool overflow = false;  // more variables than fit: the configuration is refused
    bool broken = false;    // strict, but the variables could not be kept: refuse every exec
    bool quiet = false;
    const char* audit = nullptr;          // into buf
    bool tree = false;                    // kEnvSupervisor: the whole tree is under the filter
    const char* join_socket = nullptr;    // kEnvSupervisor's SOCKET, into join_buf
    const char* join_launcher = nullptr;  // and LAUNCHER, into buf
    char join_buf[128] = {};
    size_t count = 0;
    const char* vars[kMaxVars] = {};  // "SOCKSIFY_X=value", into buf
    char lib[PATH_MAX] = {};
    char buf[1 << 16] = {};  // the policy alone may take 17 KiB
};
constinit Captured g_env{};

bool starts_with(const char* s, std::string_view prefix) {
    return std::strncmp(s, prefix.data(), prefix.size()) == 0;
}

// Whether the ':'- or ' '-separated list names lib.
bool list_names(std::string_view list, std::string_view lib) {
    while (!list.empty()) {
        size_t cut = list.find_first_of(": ");
        if (list.substr(0, cut) == lib) return true;
        if (cut == std::string_view::npos) break;
        list.remove_prefix(cut + 1);
    }
    return false;
}

enum : uint8_t { kNotTaken, kTaking, kTaken };
constinit std::atomic<uint8_t> g_taken{kNotTaken};

// kEnvSupervisor's value: "tree", or "join:SOCKET:LAUNCHER" (SOCKET has no ':').
void take_supervisor(const char* value) {
    if (std::strcmp(value, "tree") == 0) {
        g_env.tree = true;
        return;
    }
    if (!starts_with(value, "join:")) return;
    const char* socket = value + 5;
    const char* colon = std::strchr(socket, ':');
    if (colon == nullptr || colon == socket || colon[1] != '/' ||
        static_cast<size_t>(colon - socket) >= sizeof g_env.join_buf)
        return;
    std::memcpy(g_env.join_buf, socket, static_cast<size_t>(colon - socket));
    g_env.join_socket = g_env.join_buf;
    g_env.join_launcher = colon + 1;
}

// Keeps the entry at g_env.buf + used, len bytes with its NUL.
void keep(size_t& used, size_t len) {
    if (g_env.count == kMaxVars) {
        g_env.overflow = true;
        return;
    }
    char* copy = g_env.buf + used;
    used += len;
    g_env.vars[g_env.count++] = copy;
    LogLevel level = LogLevel::kError;
    if (starts_with(copy, "SOCKSIFY_LOG=") && parse_log_level(copy + 13, level) == nullptr)
        g_env.quiet = level == LogLevel::kQuiet;
    if (starts_with(copy, "SOCKSIFY_AUDIT=")) g_env.audit = copy + 15;
    if (starts_with(copy, kEnvSupervisor) && copy[std::strlen(kEnvSupervisor)] == '=')
        take_supervisor(copy + std::strlen(kEnvSupervisor) + 1);
}

// The environment exec gave this process: /proc/self/environ reads its original
// strings, which setenv, putenv, unsetenv and clearenv leave alone — also when they ran
// before this copy, in the constructor of a library initialised before ours. False
// when it cannot be read (no /proc).
bool take_from_exec() {
    int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    size_t used = 0;
    size_t pos = 0;    // bytes of the current entry so far
    bool ours = true;  // the current entry may still be a SOCKSIFY_* one
    bool ok = true;
    char chunk[4096];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) ok = false;
        if (n <= 0) break;
        for (ssize_t i = 0; i < n; ++i) {
            char c = chunk[i];
            if (ours && pos < kPrefix.size() && c != kPrefix[pos]) ours = false;
            if (ours && used + pos >= sizeof g_env.buf) {
                g_env.overflow = true;
                ours = false;
            }
            if (ours) g_env.buf[used + pos] = c;
            ++pos;
            if (c != '\0') continue;
            if (ours) keep(used, pos);
            pos = 0;
            ours = true;
        }
    }
    close(fd);
    if (!ok) g_env = Captured{};
    return ok;
}

// Copies every SOCKSIFY_* variable; under strict mode also our own path. Costs one
// read of /proc/self/environ (or a scan of environ) per process start.
// Strict mode that cannot keep its variables (too many, or our own path unknown) does
// not quietly stop at the next exec: every exec is refused instead.
void take() {
    if (!take_from_exec()) {
        size_t used = 0;
        for (char** e = environ; e != nullptr && *e != nullptr && !g_env.overflow; ++e) {
            if (!starts_with(*e, kPrefix)) continue;
            size_t len = std::strlen(*e) + 1;
            if (used + len > sizeof g_env.buf) {
                g_env.overflow = true;
                break;
            }
            std::memcpy(g_env.buf + used, *e, len);
            keep(used, len);
        }
    }
    // A copy cut short may lack it: then environ says.
    const char* strict = g_env.overflow ? getenv(kEnvStrict) : launch_env(kEnvStrict);
    bool on = false;
    if (strict == nullptr || parse_bool(strict, on) != nullptr || !on) return;
    g_env.strict = true;
    Dl_info self{};
    if (g_env.overflow || dladdr(reinterpret_cast<void*>(&take), &self) == 0 ||
        self.dli_fname == nullptr || std::strlen(self.dli_fname) >= sizeof g_env.lib) {
        g_env.broken = true;
        return;
    }
    std::strcpy(g_env.lib, self.dli_fname);
}

// One line on stderr (unless quiet), written by number: this may be a vfork() child.
// The path is shown as the log shows names: escaped, cut to fit.
void say(const char* format, const char* path, const char* why, const char* tail) {
    if (g_env.quiet) return;
    char shown[PATH_MAX];
    size_t shown_len = text_escape(path, shown, sizeof shown - 1);
    shown[shown_len] = '\0';
    char line[PATH_MAX + 512];
    int n = std::snprintf(line, sizeof line, format, static_cast<int>(getpid()), shown, why, tail);
    if (n <= 0) return;
    size_t len = static_cast<size_t>(n) < sizeof line ? static_cast<size_t>(n) : sizeof line - 1;
    (void)syscall(SYS_write, 2, line, len);
}

// One log line and one audit record for a refused exec of path.
int refuse(const char* path, const char* why) {
    say("socksify[%d]: refusing to run '%s': %s%s (--strict)\n", path, why, "");
    append_refusal(g_env.audit, path, "not-preloadable");
    return EACCES;
}

// Whether a program the supervisor can serve goes to it (join): as the launcher
// decides for the run's own program, under --strict only one the preload loads into
// (a Go program) — a static one stays refused, as at the top.
bool joins(Blocker b) { return g_env.join_socket != nullptr && !(b && g_env.strict); }

// Under --strict: EACCES after refuse() for a blocked program. Otherwise one warning
// line, and the exec goes on. A program the run's supervisor covers or takes (join
// non-null and set) is neither. fd >= 0: the program is the file open as fd.
int judge(const char* path, Blocker b, bool* join, ExecSite where = {}, int fd = -1) {
    if (g_env.broken) return refuse(path, "strict mode could not be carried into it");
    if (join != nullptr && joins(b) &&
        (b         ? b.supervisable
         : fd >= 0 ? is_go_program_fd(fd)
                   : is_go_program(path, where))) {
        *join = true;
        return 0;
    }
    if (!b) return 0;
    // Under the run's filter already (checked: the variable alone could be inherited
    // by a process outside the tree).
    // Under --strict a program of another class is refused all the same (the filter
    // would refuse its every network call): an early, clear error, as at the top.
    if (b.supervisable && g_env.tree && !(g_env.strict && b.foreign_class) &&
        prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 2)
        return 0;
    char why[256];
    std::snprintf(why, sizeof why, "it is %s, so %s", b.why, blocker_effect(b));
    if (g_env.strict) return refuse(path, why);
    // no_new_privs (the supervisor's filter sets it) makes exec ignore setuid, setgid
    // and file capabilities: the program runs, without them; say so.
    bool stripped = !b.supervisable && !b.unchecked && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1;
    say("socksify[%d]: warning: running '%s': %s; %s\n", path, why,
        stripped      ? "and no_new_privs is set in this process (socksify's supervisor filter "
                        "covers it), so it runs without those privileges"
        : b.unchecked ? "its traffic may not be proxied"
                      : "its traffic is not proxied");
    return 0;
}

}  // namespace

bool strict_env(char* const* envp, const char* const* ours, size_t n_ours, const char* lib,
                char** out, size_t cap, char* buf, size_t buf_cap) {
    size_t n = 0;
    auto put = [&](const char* entry) {
        if (n + 1 >= cap) return false;
        out[n++] = const_cast<char*>(entry);
        return true;
    };
    const char* last_preload = nullptr;  // ld.so takes the last LD_PRELOAD entry
    for (char* const* e = envp; e != nullptr && *e != nullptr; ++e) {
        if (starts_with(*e, kPrefix)) continue;  // ours replace them
        if (starts_with(*e, kPreload)) {
            last_preload = *e;
            continue;
        }
        if (!put(*e)) return false;
    }
    std::string_view theirs =
        last_preload != nullptr ? std::string_view(last_preload + kPreload.size()) : "";
    if (last_preload != nullptr && list_names(theirs, lib)) {
        if (!put(last_preload)) return false;
    } else {
        int len = std::snprintf(buf, buf_cap, "LD_PRELOAD=%s%s%.*s", lib, theirs.empty() ? "" : ":",
                                static_cast<int>(theirs.size()), theirs.data());
        if (len < 0 || static_cast<size_t>(len) >= buf_cap || !put(buf)) return false;
    }
    for (size_t i = 0; i < n_ours; ++i) {
        if (!put(ours[i])) return false;
    }
    out[n] = nullptr;
    return true;
}

void capture_environment() {
    if (g_taken.load(std::memory_order_acquire) == kTaken) [[likely]]
        return;
    uint8_t expected = kNotTaken;
    if (g_taken.compare_exchange_strong(expected, kTaking, std::memory_order_acq_rel)) {
        take();
        g_taken.store(kTaken, std::memory_order_release);
        return;
    }
    while (g_taken.load(std::memory_order_acquire) != kTaken) sched_yield();
}

void capture_after_fork_child() {
    // Another thread was copying when this process was forked: it does not exist here,
    // so the copy is made again (from the child's environ, as then).
    if (g_taken.load(std::memory_order_relaxed) != kTaking) return;
    g_env = Captured{};
    g_taken.store(kNotTaken, std::memory_order_relaxed);
}

const char* launch_env(const char* name) {
    size_t len = std::strlen(name);
    for (size_t i = 0; i < g_env.count; ++i) {
        const char* v = g_env.vars[i];
        if (std::strncmp(v, name, len) == 0 && v[len] == '=') return v + len + 1;
    }
    return nullptr;
}

bool launch_env_complete() { return !g_env.overflow; }

bool exec_guard_on() {
    capture_environment();
    return g_env.strict;
}

int exec_check(const char* path, ExecSite where, bool* join) {
    return judge(path, program_blocker(path, where), join, where);
}

int exec_check_fd(int fd, const char* shown, int cwd, bool* join) {
    return judge(shown, program_blocker_fd(fd, cwd), join, {}, fd);
}

int exec_check_unfollowable(const char* path) {
    return judge(path,
                 Blocker{"started with posix_spawn file actions socksify cannot follow", true},
                 nullptr);
}

int exec_check_unjoined(const char* path, ExecSite where) {
    return judge(path, program_blocker(path, where), nullptr, where);
}

const char* join_launcher() { return g_env.join_launcher; }

void join_prefix(const char* (&out)[kJoinPrefix]) {
    out[0] = kJoinFlag;
    out[1] = g_env.join_socket;
    out[2] = g_env.strict ? "strict" : "warn";
}

size_t exec_env_extra() { return g_env.count + 2; }

bool exec_env(char* const* envp, char** out, size_t cap, char* buf, size_t buf_cap) {
    return strict_env(envp, g_env.vars, g_env.count, g_env.lib, out, cap, buf, buf_cap);
}

void restore_environ() {
    for (size_t i = 0; i < g_env.count; ++i) {
        const char* eq = std::strchr(g_env.vars[i], '=');
        char name[64];
        size_t len = static_cast<size_t>(eq - g_env.vars[i]);
        if (len >= sizeof name) continue;
        std::memcpy(name, g_env.vars[i], len);
        name[len] = '\0';
        const char* now = getenv(name);
        if (now == nullptr || std::strcmp(now, eq + 1) != 0) setenv(name, eq + 1, 1);
    }
    const char* preload = getenv("LD_PRELOAD");
    if (preload != nullptr && list_names(preload, g_env.lib)) return;
    char value[PATH_MAX * 2];
    int n = std::snprintf(value, sizeof value, "%s%s%s", g_env.lib,
                          preload != nullptr && preload[0] != '\0' ? ":" : "",
                          preload != nullptr ? preload : "");
    if (n > 0 && static_cast<size_t>(n) < sizeof value) setenv("LD_PRELOAD", value, 1);
}

}  // namespace socksify::shim
