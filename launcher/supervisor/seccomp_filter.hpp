// The seccomp filter of a supervised run, built by hand (no libseccomp: a dozen
// instructions do not justify a dependency). Only the calls that can name a
// destination trap to the supervisor; bulk I/O never does.
#pragma once

#include <linux/filter.h>

#include <cstddef>

namespace socksify::launcher {

inline constexpr size_t kMaxFilter = 128;

struct Filter {
    sock_filter code[kMaxFilter];
    size_t len = 0;
};

// x86_64: connect, sendmsg, sendmmsg and getpeername always trap (the filter cannot read
// memory), sendto only with a non-NULL address. The i386 and x32 entry points of
// the same calls (and i386 socketcall) are refused with EACCES: the supervisor
// serves the x86_64 ABI only. Everything else is allowed.
// strict (--strict) adds: socket() of families other than AF_UNIX, AF_NETLINK, AF_ALG,
// AF_INET, AF_INET6 and of inet sockets other than TCP, MPTCP and UDP, and
// socketpair() other than AF_UNIX — the filter decides, the supervisor only answers
// EACCES with a log line and an audit record (all arguments are registers); and
// answered in the filter itself: io_uring (EPERM: programs fall back), seccomp() with a
// listener of the job's own (EACCES), every x32 call and the i386 socket, socketpair,
// io_uring and seccomp calls (EACCES).
Filter build_filter(bool strict);

// Test-only knob: "1" makes install_filter fail as on a kernel that lacks the features.
inline constexpr const char* kEnvTestOldKernel = "SOCKSIFY_TEST_OLD_KERNEL";

// Installs filter on the calling thread with no_new_privs, a notification
// listener and killable waits; the listener fd, or -errno.
int install_filter(const Filter& filter);

}  // namespace socksify::launcher
