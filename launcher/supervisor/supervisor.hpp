// The seccomp supervisor: runs the program under a filter whose connect and
// addressed sends trap to the launcher, which decides each from its own copy of the
// address (DESIGN: "Supervised programs").
//
// Start-up: the launcher spawns itself as a stage (argv: self, kStageFlag, FD, --,
// program...). The stage sets no_new_privs, installs the filter, writes the listener's
// fd number on FD and waits; the launcher takes the listener with pidfd_getfd and
// says go; the stage execs the program. (The stage cannot send the fd with
// SCM_RIGHTS: its own sendmsg would trap to a listener nobody serves yet.)
#pragma once

#include <sys/types.h>

#include <string_view>

#include "shim/settings/config.hpp"

namespace socksify::launcher {

enum class SuperviseMode : uint8_t { kAuto, kOn, kOff };

// "auto", "on" or "off" (also the parse_bool spellings of on/off); nullptr or a reason.
const char* parse_supervise_mode(std::string_view text, SuperviseMode& out);

inline constexpr const char* kStageFlag = "--supervised-stage";
// Test only: "1" makes the stage act as if the kernel had no user notification, to
// check that --strict then refuses to start (no real kernel needed).
inline constexpr const char* kPretendNoNotifEnv = "SOCKSIFY_TEST_PRETEND_NO_NOTIF";

// The stage's main (argv[1] == kStageFlag): never returns.
[[noreturn]] void stage_main(int argc, char** argv);

// Before spawning: the socket pair's child end (inherited by the stage) and the
// parent's. False with errno on failure.
bool prepare_stage(int& child_end, int& parent_end);

// Takes a stage's listener (fd number n in pid) into this process: the fd or -errno.
int take_listener(pid_t pid, int n);

// Serves listener's notifications (the caller took it) in background threads for the
// rest of the run; the first call loads the configuration from env and starts the
// fake nameserver, so every supervised tree of a run shares them.
bool serve_listener(int listener, shim::EnvLookup env);

// After spawning the stage as pid: takes its listener, loads the configuration from
// env (the program's environment) and starts serving notifications in background
// threads; then lets the stage exec. When the kernel lacks a feature: with required
// (--supervise on, --strict) one line and exit 126; else one warning and the
// program runs unsupervised.
void attach_supervisor(pid_t pid, int child_end, int parent_end, shim::EnvLookup env,
                       bool required);

}  // namespace socksify::launcher
