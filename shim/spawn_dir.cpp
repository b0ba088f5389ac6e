// Follows glibc's posix_spawn file actions to the directory the child will exec in.
#include "shim/spawn_dir.hpp"

#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace socksify::shim {
namespace {

// glibc's struct __spawn_action (posix/spawn_int.h): the layout has been the same
// since chdir and fchdir were added (2.29); closefrom (2.34) and tcsetpgrp (2.35) came
// after them. A tag past those is one this code cannot follow.
struct GlibcAction {
    int tag;
    union {
        struct {
            int fd;
        } close;
        struct {
            int fd;
            int newfd;
        } dup2;
        struct {
            int fd;
            const char* path;
            int oflag;
            mode_t mode;
        } open;
        struct {
            const char* path;
        } chdir;
        struct {
            int fd;
        } fchdir;
        struct {
            int from;
        } closefrom;
    } action;
};
enum Tag { kClose, kDup2, kOpen, kChdir, kFchdir, kClosefrom, kTcsetpgrp };
static_assert(sizeof(void*) != 8 || sizeof(GlibcAction) == 32, "glibc's action is 32 bytes");

}  // namespace

SpawnDir::~SpawnDir() {
    // By number: the library hooks close().
    for (int i = 0; i < n_owned_; ++i) (void)syscall(SYS_close, owned_[i]);
}

SpawnDir::Slot SpawnDir::lookup(int child) const {
    for (int i = 0; i < n_slots_; ++i)
        if (slots_[i].child == child) return slots_[i];
    Slot s;
    s.child = child;
    bool open = child >= 0 && (closed_from_ < 0 || child < closed_from_);
    s.state = open ? Slot::State::kParent : Slot::State::kClosed;
    s.parent = child;
    return s;
}

bool SpawnDir::set(const Slot& slot) {
    for (int i = 0; i < n_slots_; ++i) {
        if (slots_[i].child == slot.child) {
            slots_[i] = slot;
            return true;
        }
    }
    if (n_slots_ == kMaxSlots) return false;
    slots_[n_slots_++] = slot;
    return true;
}

bool SpawnDir::open_dir(int dir, const char* path) {
    if (n_owned_ == kMaxOwned || path == nullptr) return false;
    int fd = openat(dir, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return false;
    owned_[n_owned_++] = fd;
    cwd_ = fd;
    return true;
}

// fchdir to what slot refers to.
bool SpawnDir::enter(const Slot& slot) {
    switch (slot.state) {
        case Slot::State::kClosed: return false;
        case Slot::State::kFile: return open_dir(slot.dir, slot.path);
        case Slot::State::kParent: {
            struct stat st {};
            if (fstat(slot.parent, &st) != 0 || !S_ISDIR(st.st_mode)) return false;
            cwd_ = slot.parent;  // the parent's own descriptor, open while it spawns
            return true;
        }
    }
    return false;
}

bool SpawnDir::follow(const posix_spawn_file_actions_t* actions) {
    if (actions == nullptr || actions->__used == 0) return true;
    if (actions->__used < 0 || actions->__actions == nullptr) return false;
    const auto* list = reinterpret_cast<const GlibcAction*>(actions->__actions);
    for (int i = 0; i < actions->__used; ++i) {
        const GlibcAction& a = list[i];
        Slot s;
        switch (a.tag) {
            case kClose:
                s.child = a.action.close.fd;
                if (!set(s)) return false;
                break;
            case kDup2:
                if (a.action.dup2.fd == a.action.dup2.newfd) break;  // only clears FD_CLOEXEC
                s = lookup(a.action.dup2.fd);
                s.child = a.action.dup2.newfd;
                if (!set(s)) return false;
                break;
            case kOpen:
                s.child = a.action.open.fd;
                s.state = Slot::State::kFile;
                s.dir = cwd_;
                s.path = a.action.open.path;
                if (!set(s)) return false;
                break;
            case kChdir:
                if (!open_dir(cwd_, a.action.chdir.path)) return false;
                break;
            case kFchdir:
                if (!enter(lookup(a.action.fchdir.fd))) return false;
                break;
            case kClosefrom:
                if (a.action.closefrom.from < 0) return false;
                if (closed_from_ < 0 || a.action.closefrom.from < closed_from_)
                    closed_from_ = a.action.closefrom.from;
                for (int j = 0; j < n_slots_; ++j)
                    if (slots_[j].child >= closed_from_) slots_[j].state = Slot::State::kClosed;
                break;
            case kTcsetpgrp: break;
            default: return false;
        }
    }
    return true;
}

}  // namespace socksify::shim
