// The directory a posix_spawn child will exec in. File actions can change it
// (posix_spawn_file_actions_addchdir_np, addfchdir_np), and a relative program path,
// a PATH entry such as "." and a relative interpreter are then taken from there, not
// from the parent's directory. glibc keeps the actions in a private array; this reads
// it, and refuses to guess about anything it does not know. No allocation: the exec
// hooks must not allocate.
#pragma once

#include <fcntl.h>
#include <spawn.h>

namespace socksify::shim {

class SpawnDir {
  public:
    SpawnDir() = default;
    SpawnDir(const SpawnDir&) = delete;
    SpawnDir& operator=(const SpawnDir&) = delete;
    ~SpawnDir();  // closes the directories it opened

    // Follows actions (null: none) up to the exec. False when they cannot be
    // followed: an action or layout this code does not know, more descriptors than it
    // keeps track of, or a directory that cannot be opened or is not one (the child's
    // chdir would fail too, but that is not for this code to decide).
    bool follow(const posix_spawn_file_actions_t* actions);

    // The child's directory after follow(): AT_FDCWD when unchanged, else a directory
    // descriptor, valid while this object lives.
    int fd() const { return cwd_; }

  private:
    // What a child descriptor refers to, as far as a later fchdir cares.
    struct Slot {
        int child = -1;
        enum class State { kClosed, kParent, kFile } state = State::kClosed;
        int parent = -1;             // kParent: the parent's descriptor it duplicates
        int dir = AT_FDCWD;          // kFile: opened from this directory
        const char* path = nullptr;  // kFile: this path (owned by the actions)
    };
    static constexpr int kMaxSlots = 32;
    static constexpr int kMaxOwned = 16;

    Slot lookup(int child) const;
    bool set(const Slot& slot);
    bool open_dir(int dir, const char* path);
    bool enter(const Slot& slot);

    int cwd_ = AT_FDCWD;
    int closed_from_ = -1;  // closefrom: every descriptor from here on is closed
    Slot slots_[kMaxSlots];
    int n_slots_ = 0;
    int owned_[kMaxOwned] = {};
    int n_owned_ = 0;
};

}  // namespace socksify::shim
