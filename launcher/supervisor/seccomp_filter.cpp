// Hand-assembled classic BPF: check the architecture, then the system call number
// (and, under --strict, the arguments a register holds: socket's family, type and
// protocol, seccomp's flags).
#include "launcher/supervisor/seccomp_filter.hpp"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iterator>

namespace socksify::launcher {
namespace {

constexpr uint32_t kX32Bit = 0x40000000;
// i386: socketcall, sendmmsg, connect, sendto, sendmsg (arch/x86/entry/syscalls).
constexpr uint32_t kI386Calls[] = {102, 345, 362, 369, 370};
// Under --strict also: seccomp, socket, socketpair, io_uring_setup/enter/register.
constexpr uint32_t kI386StrictCalls[] = {354, 359, 360, 425, 426, 427};
// x32: connect, sendto, sendmsg, sendmmsg with the x32 bit.
constexpr uint32_t kX32Calls[] = {42 | kX32Bit, 44 | kX32Bit, 518 | kX32Bit, 538 | kX32Bit};

constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;
constexpr uint32_t kNotify = SECCOMP_RET_USER_NOTIF;
// Network refusals: EACCES, the errno the library's strict refusals and policy give.
constexpr uint32_t kRefuse = SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA);
// A refused socket()/socketpair(): the supervisor answers EACCES and records it (the
// arguments are registers, nothing it reads can change; no call ever continues).
constexpr uint32_t kRefuseSocket = SECCOMP_RET_USER_NOTIF;
// io_uring: EPERM, what kernel.io_uring_disabled gives; programs fall back to plain calls.
constexpr uint32_t kNoUring = SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA);

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif

constexpr uint32_t kNr = offsetof(seccomp_data, nr);
constexpr uint32_t kArch = offsetof(seccomp_data, arch);
// The low half of an argument: every argument judged here is an int.
constexpr uint32_t arg_lo(int i) { return offsetof(seccomp_data, args) + 8 * i; }
constexpr uint32_t arg_hi(int i) { return arg_lo(i) + 4; }

// Forward jumps to labels, patched when the label is placed.
struct Asm {
    Filter f;
    struct Fixup {
        size_t at;
        int label;
        bool on_true;
    };
    Fixup fixups[kMaxFilter];
    size_t nfix = 0;

    void op(uint16_t code, uint32_t k, uint8_t jt = 0, uint8_t jf = 0) {
        f.code[f.len++] = sock_filter{code, jt, jf, k};
    }
    void load(uint32_t off) { op(BPF_LD | BPF_W | BPF_ABS, off); }
    void ret(uint32_t v) { op(BPF_RET | BPF_K, v); }
    // if A == k: return v.
    void ret_if(uint32_t k, uint32_t v) {
        op(BPF_JMP | BPF_JEQ | BPF_K, k, 0, 1);
        ret(v);
    }
    // if A == k (or, with jset, A & k): go to label.
    void jump_if(uint32_t k, int label, uint16_t test = BPF_JEQ) {
        fixups[nfix++] = {f.len, label, true};
        op(BPF_JMP | test | BPF_K, k);
    }
    void jump_unless(uint32_t k, int label) {
        fixups[nfix++] = {f.len, label, false};
        op(BPF_JMP | BPF_JEQ | BPF_K, k);
    }
    void place(int label) {
        for (size_t i = 0; i < nfix; ++i) {
            if (fixups[i].label != label) continue;
            auto off = static_cast<uint8_t>(f.len - fixups[i].at - 1);
            (fixups[i].on_true ? f.code[fixups[i].at].jt : f.code[fixups[i].at].jf) = off;
            fixups[i].label = -1;
        }
    }
};

enum Label { kX86_64, kSendto, kSocket, kInet, kProto };

}  // namespace

Filter build_filter(bool strict) {
    Asm a;
    a.load(kArch);
    a.jump_if(AUDIT_ARCH_X86_64, kX86_64);
    // Not x86_64: the i386 network calls are refused, the rest allowed.
    a.load(kNr);
    for (uint32_t nr : kI386Calls) a.ret_if(nr, kRefuse);
    if (strict)
        for (uint32_t nr : kI386StrictCalls) a.ret_if(nr, kRefuse);
    a.ret(kAllow);

    a.place(kX86_64);
    a.load(kNr);
    if (strict) {
        // No x32 call at all: the x32 entry points of socket, io_uring and seccomp
        // would pass the checks below, which compare exact numbers.
        a.op(BPF_JMP | BPF_JGE | BPF_K, kX32Bit, 0, 1);
        a.ret(kRefuse);
    } else {
        for (uint32_t nr : kX32Calls) a.ret_if(nr, kRefuse);
    }
    a.ret_if(SYS_connect, kNotify);
    a.ret_if(SYS_sendmsg, kNotify);
    a.ret_if(SYS_sendmmsg, kNotify);
    // getpeername: a socket the supervisor connected through the proxy reports the
    // destination (peer_names.hpp); any other continues to the kernel.
    a.ret_if(SYS_getpeername, kNotify);
    a.jump_if(SYS_sendto, kSendto);
    if (strict) {
        a.jump_if(SYS_socket, kSocket);
        a.ret_if(SYS_io_uring_setup, kNoUring);
        a.ret_if(SYS_io_uring_enter, kNoUring);
        a.ret_if(SYS_io_uring_register, kNoUring);
        // socketpair: AF_UNIX is the only family it makes pairs of.
        a.op(BPF_JMP | BPF_JEQ | BPF_K, SYS_socketpair, 0, 4);
        a.load(arg_lo(0));
        a.ret_if(AF_UNIX, kAllow);
        a.ret(kRefuseSocket);
        // A filter of the job's own with a listener would see connect first (the
        // newest filter's notification wins) and could let it continue unseen.
        a.op(BPF_JMP | BPF_JEQ | BPF_K, SYS_seccomp, 0, 3);
        a.load(arg_lo(1));
        a.op(BPF_JMP | BPF_JSET | BPF_K, SECCOMP_FILTER_FLAG_NEW_LISTENER, 0, 1);
        a.ret(kRefuse);
    }
    a.ret(kAllow);

    // sendto: a NULL address (both halves zero) is a plain send.
    a.place(kSendto);
    a.load(arg_lo(4));
    a.op(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0);
    a.ret(kNotify);
    a.load(arg_hi(4));
    a.op(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0);
    a.ret(kNotify);
    a.ret(kAllow);

    if (strict) {
        // socket: AF_UNIX (local IPC: the X server, D-Bus, a docker socket — not the
        // network), AF_NETLINK (the kernel: getaddrinfo's AI_ADDRCONFIG and interface
        // lists need NETLINK_ROUTE) and AF_ALG (the kernel's crypto API: never leaves
        // the host; the library allows it too); AF_INET/AF_INET6 only as TCP, MPTCP (a
        // TCP the supervisor connects like any other) or UDP (no raw or ICMP socket, no
        // SCTP, whose setsockopt connects); every other family (packet, vsock,
        // bluetooth, …) refused. The same set as the library's early check.
        a.place(kSocket);
        a.load(arg_lo(0));
        a.ret_if(AF_UNIX, kAllow);
        a.ret_if(AF_NETLINK, kAllow);
        a.ret_if(AF_ALG, kAllow);
        a.jump_if(AF_INET, kInet);
        a.jump_if(AF_INET6, kInet);
        a.ret(kRefuseSocket);
        a.place(kInet);
        a.load(arg_lo(1));
        a.op(BPF_ALU | BPF_AND | BPF_K, 0xf);  // SOCK_TYPE_MASK: NONBLOCK, CLOEXEC off
        a.jump_if(SOCK_STREAM, kProto);
        a.jump_if(SOCK_DGRAM, kProto);
        a.ret(kRefuseSocket);
        a.place(kProto);
        a.load(arg_lo(2));
        a.ret_if(0, kAllow);
        a.ret_if(IPPROTO_TCP, kAllow);
        a.ret_if(IPPROTO_UDP, kAllow);
        a.ret_if(IPPROTO_MPTCP, kAllow);
        a.ret(kRefuseSocket);
    }
    return a.f;
}

int install_filter(const Filter& filter) {
    // Test-only: behave as a kernel without the flags we need (EINVAL), the one way the
    // tests can show what a run on such a kernel says.
    if (const char* t = std::getenv(kEnvTestOldKernel); t != nullptr && t[0] == '1') return -EINVAL;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -errno;
    sock_fprog prog{static_cast<unsigned short>(filter.len), const_cast<sock_filter*>(filter.code)};
    unsigned flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
#ifdef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
    flags |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
#else
    flags |= 1u << 5;
#endif
    long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    if (fd < 0) return -errno;
    return static_cast<int>(fd);
}

}  // namespace socksify::launcher
