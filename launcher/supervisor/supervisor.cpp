// The stage, the hand-over of the listener, and the notification loop: one thread
// receives; connects (which may wait for a proxy) go to a pool of workers that grows
// on demand, so a slow proxy for one connection never stalls the others.
#include "launcher/supervisor/supervisor.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "launcher/supervisor/notif.hpp"
#include "launcher/supervisor/peer_names.hpp"
#include "launcher/supervisor/seccomp_filter.hpp"
#include "shim/audit.hpp"
#include "shim/dns/names.hpp"
#include "shim/init.hpp"
#include "shim/io.hpp"
#include "shim/program_check.hpp"
#include "shim/shared_state.hpp"

extern char** environ;

namespace socksify::launcher {
namespace {

constexpr int kExitCannotRun = 126;
constexpr int kExitNotFound = 127;
constexpr int kMaxWorkers = 512;  // connects waiting for the proxy at once

void say(const std::string& line) {
    std::string s = "socksify: " + line + "\n";
    ssize_t ignored = write(STDERR_FILENO, s.data(), s.size());
    (void)ignored;
}

// execve without libc's syscall(), which a preloaded library may hook.
long raw_execve(const char* path, char* const* argv, char* const* envp) {
#if defined(__x86_64__)
    long ret = SYS_execve;
    asm volatile("syscall" : "+a"(ret) : "D"(path), "S"(argv), "d"(envp) : "rcx", "r11", "memory");
    if (ret < 0) {
        errno = static_cast<int>(-ret);
        return -1;
    }
    return ret;
#else
    return syscall(SYS_execve, path, argv, envp);
#endif
}

// --strict, for a job run as root: capabilities that would reach around the
// supervisor — tracing the launcher (CAP_SYS_PTRACE), a tun device or the routing
// table (CAP_NET_ADMIN), raw packets (CAP_NET_RAW), a kernel module (CAP_SYS_MODULE)
// — leave the bounding, ambient, inheritable, permitted and effective sets. Without
// privilege (the usual CI user) there is nothing to drop.
void drop_escape_capabilities() {
    constexpr int kDrop[] = {CAP_SYS_PTRACE, CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_MODULE};
    __user_cap_header_struct head{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (syscall(SYS_capget, &head, data) != 0) return;
    for (int cap : kDrop) {
        (void)prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
        (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, cap, 0, 0);
        uint32_t bit = 1u << (cap % 32);
        data[cap / 32].effective &= ~bit;
        data[cap / 32].permitted &= ~bit;
        data[cap / 32].inheritable &= ~bit;
    }
    (void)syscall(SYS_capset, &head, data);
}

class Supervisor {
  public:
    Supervisor(int listener, const shim::Config& cfg) : listener_(listener), cfg_(cfg) {
        if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes_) != 0) {
            sizes_.seccomp_notif = sizeof(seccomp_notif);
            sizes_.seccomp_notif_resp = sizeof(seccomp_notif_resp);
        }
    }

    void receive_loop() {
        std::vector<uint8_t> buf(std::max<size_t>(sizes_.seccomp_notif, sizeof(seccomp_notif)));
        for (;;) {
            pollfd p{listener_, POLLIN, 0};
            if (poll(&p, 1, -1) < 0) {
                if (errno == EINTR) continue;
                break;
            }
            if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) break;  // no task left
            std::memset(buf.data(), 0, buf.size());
            auto* n = reinterpret_cast<seccomp_notif*>(buf.data());
            if (ioctl(listener_, SECCOMP_IOCTL_NOTIF_RECV, n) != 0) {
                if (errno == EINTR || errno == ENOENT) continue;  // cancelled on the way
                break;
            }
            Call c;
            c.id = n->id;
            c.pid = static_cast<pid_t>(n->pid);
            c.nr = n->data.nr;
            for (int i = 0; i < 6; ++i) c.args[i] = n->data.args[i];
            if (c.nr == SYS_getpeername) {
                respond(c, on_getpeername(listener_, c));  // never waits
            } else if (c.nr == SYS_socket || c.nr == SYS_socketpair) {
                respond(c, on_refused_socket(c, cfg_));  // the filter refused it
            } else if (c.nr == SYS_connect || cfg_.strict) {
                enqueue(c);  // may wait (a proxy; under --strict a blocking send)
            } else {
                respond(c, serve(c));
            }
        }
        // A run serves one listener per supervised tree (shells and make start many):
        // the last of the receiver and its idle workers closes it.
        std::unique_lock lock(mu_);
        done_ = true;
        cv_.notify_all();
        if (workers_ == 0) close(listener_);
    }

  private:
    // A connect or send. Under --strict with an audit log, a record that cannot be
    // written fails closed: that call is refused (a connection just made is shut
    // down) and so is every later one, after one line saying why.
    Answer serve(const Call& c) {
        bool audited = cfg_.strict && shim::audit_on();
        if (audited && shim::audit_failed()) return closed();
        Answer a =
            c.nr == SYS_connect ? on_connect(listener_, c, cfg_) : on_send(listener_, c, cfg_);
        if (!audited || a.gone || !shim::audit_failed()) return a;
        if (c.nr == SYS_connect && a.err == 0 && !a.proceed) shut_program_socket(listener_, c);
        return closed();
    }

    Answer closed() {
        if (!closed_said_.exchange(true))
            say("the audit log cannot be written: every connection and send of the run is "
                "refused from now on (--strict fails closed)");
        return fail(EACCES);
    }

    void respond(const Call& c, const Answer& a) {
        if (a.gone) return;
        std::vector<uint8_t> buf(
            std::max<size_t>(sizes_.seccomp_notif_resp, sizeof(seccomp_notif_resp)));
        auto* r = reinterpret_cast<seccomp_notif_resp*>(buf.data());
        r->id = c.id;
        if (a.proceed) {
            r->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        } else if (a.err != 0) {
            r->error = -a.err;
        } else {
            r->val = a.val;
        }
        // ENOENT: the task was killed meanwhile; nothing to tell it.
        (void)ioctl(listener_, SECCOMP_IOCTL_NOTIF_SEND, r);
    }

    void enqueue(const Call& c) {
        std::unique_lock lock(mu_);
        queue_.push_back(c);
        if (idle_ == 0 && workers_ < kMaxWorkers) {
            ++workers_;
            std::thread([this] { work(); }).detach();
        } else {
            cv_.notify_one();
        }
    }

    void work() {
        // Its own working directory: --strict resolves a program's relative AF_UNIX
        // path names from the program's (notif_connect.cpp).
        if (cfg_.strict) (void)unshare(CLONE_FS);
        std::unique_lock lock(mu_);
        for (;;) {
            while (queue_.empty()) {
                if (done_) {
                    if (--workers_ == 0) close(listener_);
                    return;
                }
                ++idle_;
                cv_.wait(lock);
                --idle_;
            }
            Call c = queue_.front();
            queue_.pop_front();
            lock.unlock();
            respond(c, serve(c));
            lock.lock();
        }
    }

    int listener_;
    const shim::Config& cfg_;
    seccomp_notif_sizes sizes_{};
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Call> queue_;
    int idle_ = 0;
    int workers_ = 0;
    bool done_ = false;
    std::atomic<bool> closed_said_{false};
};

}  // namespace

int take_listener(pid_t pid, int n) {
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) return -errno;
    int fd = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, n, 0));
    int err = errno;
    close(pidfd);
    return fd < 0 ? -err : fd;
}

const char* parse_supervise_mode(std::string_view text, SuperviseMode& out) {
    if (text == "auto") {
        out = SuperviseMode::kAuto;
        return nullptr;
    }
    bool on = false;
    if (shim::parse_bool(text, on) != nullptr) return "expected auto, on or off";
    out = on ? SuperviseMode::kOn : SuperviseMode::kOff;
    return nullptr;
}

bool prepare_stage(int& child_end, int& parent_end) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return false;
    child_end = sv[0];  // inherited by the stage
    parent_end = sv[1];
    fcntl(parent_end, F_SETFD, FD_CLOEXEC);
    return true;
}

void stage_main(int argc, char** argv) {
    // argv: self kStageFlag FD strict|plain -- program args...
    if (argc < 6 || std::strcmp(argv[4], "--") != 0) {
        say("internal error: bad supervised stage arguments");
        _exit(kExitCannotRun);
    }
    int sock = std::atoi(argv[2]);
    bool strict = std::strcmp(argv[3], "strict") == 0;
    if (strict) drop_escape_capabilities();
    int32_t listener = install_filter(build_filter(strict));
    // Tests of the refusal on an older kernel: the launcher's own variable, not the
    // job's (the stage reads it before the program exists).
    if (const char* knob = std::getenv(kPretendNoNotifEnv); knob != nullptr && knob[0] == '1') {
        if (listener >= 0) close(listener);
        listener = -ENOSYS;
    }
    if (write(sock, &listener, sizeof listener) != sizeof listener) _exit(kExitCannotRun);
    char go = 0;
    if (!shim::read_full(sock, &go, 1) || go != 'g')
        _exit(kExitCannotRun);  // the launcher said why
    if (listener >= 0) close(listener);
    close(sock);
    char** program = argv + 5;
    char path[4096];
    if (!shim::find_program(program[0], std::getenv("PATH"), path, sizeof path)) {
        say(std::string("program '") + program[0] + "' not found");
        _exit(kExitNotFound);
    }
    // The raw call: no preloaded exec hook second-guesses the launcher's choice here
    // (the stage runs with the run's LD_PRELOAD, and the library hooks syscall()).
    raw_execve(path, program, environ);
    int err = errno;
    say(std::string("cannot run program '") + program[0] + "': " + std::strerror(err));
    _exit(err == ENOENT ? kExitNotFound : kExitCannotRun);
}

bool serve_listener(int listener, shim::EnvLookup env) {
    fcntl(listener, F_SETFD, FD_CLOEXEC);
    static std::once_flag once;
    static bool ready = true;
    // The launcher's main thread takes the signals it forwards; ours take none.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    std::call_once(once, [env] {
        shim::start_from(env);
        // --strict: names get fake addresses from a table only this process maps (the
        // library asks for them); the shared one is the job's to scribble on.
        if (shim::config().strict &&
            !shim::use_private_fake_dns(shim::fake_capacity(shim::config()),
                                        shim::config().fake_min_age_s)) {
            ready = false;
            return;
        }
        start_dns_server(shim::config());
    });
    if (!ready) {
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        return false;
    }
    auto* sup = new Supervisor(listener, shim::config());  // lives for the run
    std::thread([sup] { sup->receive_loop(); }).detach();
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return true;
}

void attach_supervisor(pid_t pid, int child_end, int parent_end, shim::EnvLookup env,
                       bool required) {
    close(child_end);
    int32_t n = 0;
    if (!shim::read_full(parent_end, &n, sizeof n)) {
        close(parent_end);  // the stage died; waitpid reports how
        return;
    }
    int listener = n >= 0 ? take_listener(pid, n) : n;
    if (listener < 0) {
        std::string why = std::string(
                              "cannot supervise the program: the kernel refused a "
                              "seccomp user-notification filter (") +
                          std::strerror(-listener) + "; Linux 5.19 or later is needed)";
        if (required) {
            say(why);
            close(parent_end);  // the stage exits without running the program
            return;
        }
        say("warning: " + why + "; its traffic is not proxied");
        char go = 'g';
        (void)!write(parent_end, &go, 1);
        close(parent_end);
        return;
    }
    // Past the spawn: a file size limit hit by the audit log makes write() fail (and the
    // supervisor fail closed) instead of killing the launcher.
    if (required) signal(SIGXFSZ, SIG_IGN);
    if (!serve_listener(listener, env)) {
        say("cannot supervise the program: no memory for the fake-DNS table");
        close(parent_end);
        return;
    }
    char go = 'g';
    (void)!write(parent_end, &go, 1);
    close(parent_end);
}

}  // namespace socksify::launcher
