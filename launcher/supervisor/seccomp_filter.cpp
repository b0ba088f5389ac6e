// Hand-assembled classic BPF: check the architecture, then the system call number.
#include "launcher/supervisor/seccomp_filter.hpp"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
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
// x32: connect, sendto, sendmsg, sendmmsg with the x32 bit.
constexpr uint32_t kX32Calls[] = {42 | kX32Bit, 44 | kX32Bit, 518 | kX32Bit, 538 | kX32Bit};

constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;
constexpr uint32_t kNotify = SECCOMP_RET_USER_NOTIF;
constexpr uint32_t kRefuse = SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA);

constexpr uint32_t kNr = offsetof(seccomp_data, nr);
constexpr uint32_t kArch = offsetof(seccomp_data, arch);
constexpr uint32_t arg_lo(int i) { return offsetof(seccomp_data, args) + 8 * i; }
constexpr uint32_t arg_hi(int i) { return arg_lo(i) + 4; }

struct Asm {
    Filter f;
    void op(uint16_t code, uint32_t k, uint8_t jt = 0, uint8_t jf = 0) {
        f.code[f.len++] = sock_filter{code, jt, jf, k};
    }
    void load(uint32_t off) { op(BPF_LD | BPF_W | BPF_ABS, off); }
    void ret(uint32_t v) { op(BPF_RET | BPF_K, v); }
    // if A == k: skip nothing, else skip the next instruction.
    void skip_unless(uint32_t k) { op(BPF_JMP | BPF_JEQ | BPF_K, k, 0, 1); }
};

}  // namespace

Filter build_filter() {
    Asm a;
    a.load(kArch);
    a.op(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 2 + 2 * std::size(kI386Calls), 0);
    // Not x86_64: the i386 network calls are refused, the rest allowed.
    a.load(kNr);
    for (uint32_t nr : kI386Calls) {
        a.skip_unless(nr);
        a.ret(kRefuse);
    }
    a.ret(kAllow);
    // x86_64 (the jump lands here).
    a.load(kNr);
    for (uint32_t nr : kX32Calls) {
        a.skip_unless(nr);
        a.ret(kRefuse);
    }
    a.skip_unless(SYS_connect);
    a.ret(kNotify);
    a.skip_unless(SYS_sendmsg);
    a.ret(kNotify);
    a.skip_unless(SYS_sendmmsg);
    a.ret(kNotify);
    a.op(BPF_JMP | BPF_JEQ | BPF_K, SYS_sendto, 1, 0);
    a.ret(kAllow);
    // sendto: a NULL address (both halves zero) is a plain send.
    a.load(arg_lo(4));
    a.op(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0);
    a.ret(kNotify);
    a.load(arg_hi(4));
    a.op(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0);
    a.ret(kNotify);
    a.ret(kAllow);
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
