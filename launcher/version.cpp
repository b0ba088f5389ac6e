// socksify --version. The kernel facts are probed, not assumed from the version
// number, so a backport or a seccomp-filtered container reports what really works.
#include "launcher/version.hpp"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "shim/dns/fake_dns.hpp"
#include "shim/dns/names.hpp"

#ifndef SOCKSIFY_VERSION
#define SOCKSIFY_VERSION "unknown"
#endif
#ifndef SOCKSIFY_LIBDIR
#define SOCKSIFY_LIBDIR "/usr/local/lib/socksify"
#endif
// Older kernel headers than the running kernel: the values are fixed by the ABI.
#ifndef SECCOMP_ADDFD_FLAG_SEND
#define SECCOMP_ADDFD_FLAG_SEND (1UL << 1)
#endif

namespace socksify::launcher {
namespace {

// The seccomp user-notification supervisor is another part of socksify; this build
// does not have it yet. The kernel line below still says what it would get.
constexpr bool kSupervisorBuilt = true;

bool readable(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

// Whether the dynamic loader takes the library (whole file, right ELF class and
// machine, only libc needed). Loading it runs no hook: its start is lazy.
std::string load_result(const std::string& lib) {
    if (!complete_elf(lib)) return "does not load: not a whole shared object";
    void* h = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
        const char* e = dlerror();
        return std::string("does not load: ") + (e != nullptr ? e : "unknown error");
    }
    dlclose(h);
    return "loads";
}

// SECCOMP_GET_NOTIF_SIZES answers on kernels with user notification (5.0,
// SECCOMP_FILTER_FLAG_NEW_LISTENER came with it).
std::string probe_user_notification() {
    seccomp_notif_sizes sizes{};
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0) return "yes";
    return std::string("no (SECCOMP_GET_NOTIF_SIZES: ") + std::strerror(errno) + ")";
}

// SECCOMP_ADDFD_FLAG_SEND (5.14) needs a listener to ask: a child installs an
// allow-everything filter with a listener and sends an ADDFD for a notification that
// does not exist. A kernel that knows the flag answers ENOENT (no such id), one that
// does not, EINVAL. The filter dies with the child.
std::string probe_addfd_send() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return std::string("unknown (pipe: ") + std::strerror(errno) + ")";
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        close(fds[0]);
        close(fds[1]);
        return std::string("unknown (fork: ") + std::strerror(err) + ")";
    }
    if (pid == 0) {
        int result[2] = {0, 0};  // {stage reached, errno}
        sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        sock_fprog prog{1, &allow};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
            result[1] = errno;
        } else {
            long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                                    SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
            if (listener < 0) {
                result[1] = errno;
            } else {
                result[0] = 1;
                seccomp_notif_addfd addfd{};
                addfd.id = 0;
                addfd.flags = SECCOMP_ADDFD_FLAG_SEND;
                addfd.srcfd = static_cast<__u32>(fds[1]);
                if (ioctl(static_cast<int>(listener), SECCOMP_IOCTL_NOTIF_ADDFD, &addfd) < 0) {
                    result[1] = errno;
                }
            }
        }
        ssize_t ignored = write(fds[1], result, sizeof result);
        (void)ignored;
        _exit(0);
    }
    close(fds[1]);
    int result[2] = {0, 0};
    ssize_t n;
    do {
        n = read(fds[0], result, sizeof result);
    } while (n < 0 && errno == EINTR);
    close(fds[0]);
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    if (n != static_cast<ssize_t>(sizeof result)) return "unknown (the probe process died)";
    if (result[0] == 0) {
        return std::string("unknown (cannot install a seccomp filter: ") +
               std::strerror(result[1]) + ")";
    }
    if (result[1] == ENOENT) return "yes";
    if (result[1] == EINVAL) return "no (kernel older than 5.14)";
    return std::string("unknown (SECCOMP_IOCTL_NOTIF_ADDFD: ") + std::strerror(result[1]) + ")";
}

std::string kernel_release() {
    utsname u{};
    if (uname(&u) != 0) return "?";
    return u.release;
}

}  // namespace

bool complete_elf(const std::string& lib) {
    int fd = open(lib.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st {};
    Elf64_Ehdr eh{};
    bool ok = fstat(fd, &st) == 0 && pread(fd, &eh, sizeof eh, 0) == sizeof eh &&
              memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
              eh.e_type == ET_DYN;
    auto size = static_cast<uint64_t>(st.st_size);
    ok = ok && eh.e_phoff + uint64_t{eh.e_phnum} * eh.e_phentsize <= size &&
         eh.e_shoff + uint64_t{eh.e_shnum} * eh.e_shentsize <= size;
    for (unsigned i = 0; ok && i < eh.e_phnum; ++i) {
        Elf64_Phdr ph{};
        ok = pread(fd, &ph, sizeof ph, static_cast<off_t>(eh.e_phoff + i * eh.e_phentsize)) ==
                 sizeof ph &&
             ph.p_offset + ph.p_filesz <= size;
    }
    close(fd);
    return ok;
}

std::string locate_library(std::string& tried) {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        std::string_view path(exe, static_cast<size_t>(n));
        size_t slash = path.rfind('/');
        if (slash != std::string_view::npos) {
            std::string_view dir = path.substr(0, slash);
            if (dir.size() >= 4 && dir.substr(dir.size() - 4) == "/bin") {
                std::string lib =
                    std::string(dir.substr(0, dir.size() - 4)) + "/lib/libsocksify.so";
                if (readable(lib)) return lib;
            }
        }
    }
    tried = SOCKSIFY_LIBDIR "/libsocksify.so";
    return readable(tried) ? tried : std::string();
}

void print_version() {
    std::string tried;
    std::string lib = locate_library(tried);
    std::string lib_line =
        lib.empty() ? tried + " (not found)" : lib + " (" + load_result(lib) + ")";
    std::string kernel = "kernel " + kernel_release() + ": seccomp user notification " +
                         probe_user_notification() + ", SECCOMP_ADDFD_FLAG_SEND " +
                         probe_addfd_send();
    std::string supervisor = kSupervisorBuilt ? "yes" : "not built yet";
    std::printf("socksify %s\n", SOCKSIFY_VERSION);
    std::printf("library: %s\n", lib_line.c_str());
    std::printf("supervisor: %s; %s\n", supervisor.c_str(), kernel.c_str());
    std::printf("udp: yes (UDP ASSOCIATE through the proxy)\n");
    std::printf("upstream: socks5, socks5h, socks4, socks4a, http, raw (chains and routes)\n");
    // The defaults; --check shows the configured ranges' figures.
    shim::Config cfg;
    shim::parse_fake_net4(shim::kDefaultFakeNet, cfg.fake_net4);
    shim::parse_fake_net6(shim::kDefaultFakeNet6, cfg.fake_net6);
    char fake[256];
    shim::describe_fake_table(cfg, fake, sizeof fake);
    std::printf("%s (default ranges; up to %u with --fake-net /8)\n", fake,
                shim::kFakeDnsMaxCapacity);
}

}  // namespace socksify::launcher
