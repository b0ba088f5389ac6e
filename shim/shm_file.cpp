// The run's shared state as an inherited, sealed memfd (see shm_file.hpp).
#include "shim/shm_file.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "shim/dns/names.hpp"
#include "shim/shared_state.hpp"

namespace socksify::shim {
namespace {

// Descendants find the fd by number; programs number their own from 3 upwards.
constexpr int kStateFdFloor = 100;

bool stat_matches(const struct stat& st, const StateRef& ref) {
    return S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600 && st.st_uid == ref.uid &&
           static_cast<uint64_t>(st.st_dev) == ref.dev &&
           static_cast<uint64_t>(st.st_ino) == ref.ino &&
           st.st_size >= static_cast<off_t>(shared_size(0)) &&
           st.st_size <= static_cast<off_t>(shared_size(kFakeDnsMaxCapacity));
}

void put_range(SharedRange& out, const Cidr& c) {
    out = {};
    out.family = c.family;
    out.prefix = c.prefix;
    std::memcpy(out.addr, c.addr.data(), sizeof out.addr);
}

bool same_range(const SharedRange& r, const Cidr& c) {
    if (r.family != c.family) return false;
    if (c.family == AF_UNSPEC) return true;
    return r.prefix == c.prefix && std::memcmp(r.addr, c.addr.data(), sizeof r.addr) == 0;
}

bool range_sane(const SharedRange& r, sa_family_t family) {
    if (r.family == AF_UNSPEC) return true;
    return r.family == family && r.prefix <= (family == AF_INET ? 32 : 128);
}

// Strict decimal: digits only, whole string, at most max.
bool parse_u64(const char*& p, char end, uint64_t max, uint64_t& out) {
    if (*p < '0' || *p > '9') return false;
    uint64_t v = 0;
    for (; *p >= '0' && *p <= '9'; ++p) {
        uint64_t d = static_cast<uint64_t>(*p - '0');
        if (v > (max - d) / 10) return false;
        v = v * 10 + d;
    }
    if (*p != end) return false;
    if (end != '\0') ++p;
    out = v;
    return true;
}

void format_range(const SharedRange& r, char* out, size_t cap) {
    char addr[INET6_ADDRSTRLEN] = "none";
    if (r.family == AF_INET || r.family == AF_INET6) inet_ntop(r.family, r.addr, addr, sizeof addr);
    std::snprintf(out, cap, "%s/%u", addr, r.prefix);
}

}  // namespace

bool parse_state_ref(const char* text, StateRef& out) {
    if (text == nullptr) return false;
    const char* p = text;
    uint64_t pid = 0, fd = 0, dev = 0, ino = 0, uid = 0;
    if (!parse_u64(p, ':', INT32_MAX, pid) || !parse_u64(p, ':', INT32_MAX, fd) ||
        !parse_u64(p, ':', UINT64_MAX, dev) || !parse_u64(p, ':', UINT64_MAX, ino) ||
        !parse_u64(p, '\0', UINT32_MAX, uid) || pid == 0)
        return false;
    out.pid = static_cast<pid_t>(pid);
    out.fd = static_cast<int>(fd);
    out.dev = dev;
    out.ino = ino;
    out.uid = static_cast<uint32_t>(uid);
    return true;
}

void format_state_ref(const StateRef& ref, char* out, size_t cap) {
    std::snprintf(out, cap, "%d:%d:%" PRIu64 ":%" PRIu64 ":%" PRIu32, static_cast<int>(ref.pid),
                  ref.fd, ref.dev, ref.ino, ref.uid);
}

int create_state(const Config& cfg, const char* pass, size_t pass_len, StateRef& ref) {
    int fd = memfd_create("socksify-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return -1;
    auto fail = [&fd] {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    };
    // A new memfd is mode 0777 (0666 with MFD_NOEXEC_SEAL): the run's user alone.
    // Sized for the whole table, sparse: pages cost memory only once a name touches them.
    size_t size = shared_size(fake_capacity(cfg));
    if (fchmod(fd, 0600) != 0 || ftruncate(fd, static_cast<off_t>(size)) != 0) return fail();
    void* p = mmap(nullptr, kSharedTableOffset, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return fail();
    stamp_shared_state(p, cfg, pass, pass_len);
    munmap(p, kSharedTableOffset);
    // Its size is fixed for good: nobody can shrink it under another process's
    // mapping (SIGBUS there).
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) return fail();
    if (int high = fcntl(fd, F_DUPFD, kStateFdFloor); high >= 0) {
        close(fd);
        fd = high;  // F_DUPFD leaves FD_CLOEXEC clear
    } else if (fcntl(fd, F_SETFD, 0) != 0) {
        return fail();
    }
    struct stat st {};
    if (fstat(fd, &st) != 0) return fail();
    ref.pid = getpid();
    ref.fd = fd;
    ref.dev = static_cast<uint64_t>(st.st_dev);
    ref.ino = static_cast<uint64_t>(st.st_ino);
    ref.uid = st.st_uid;
    return fd;
}

bool state_fd_matches(int fd, const StateRef& ref) {
    struct stat st {};
    return fd >= 0 && fstat(fd, &st) == 0 && stat_matches(st, ref);
}

int open_state(const StateRef& ref, bool& owned, const char*& why) {
    owned = false;
    if (state_fd_matches(ref.fd, ref)) return ref.fd;
    // Only the run's user re-opens: a process that changed its uid keeps what it has.
    if (ref.uid != geteuid()) {
        why = "its descriptor is gone and this process runs as another user";
        return -1;
    }
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/fd/%d", static_cast<int>(ref.pid), ref.fd);
    // The link is checked before the open as well, so that nothing else (a FIFO, a
    // device another process holds at that number) is ever opened.
    struct stat st {};
    if (stat(path, &st) != 0 || !stat_matches(st, ref)) {
        why = "its descriptor is gone and the process that created it has exited";
        return -1;
    }
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        why = "its descriptor is gone and its creator's cannot be opened";
        return -1;
    }
    if (!state_fd_matches(fd, ref)) {
        close(fd);
        why = "its descriptor is gone and its creator's changed while opening";
        return -1;
    }
    owned = true;
    return fd;
}

void stamp_shared_state(void* mem, const Config& cfg, const char* pass, size_t pass_len) {
    auto* h = static_cast<SharedHeader*>(mem);
    put_range(h->fake_net4, cfg.fake_net4);
    put_range(h->fake_net6, cfg.fake_net6);
    if (pass == nullptr || pass_len > kMaxCred) pass_len = 0;
    if (pass_len > 0) std::memcpy(h->pass, pass, pass_len);
    h->pass_len = static_cast<uint32_t>(pass_len);
    h->table_capacity = fake_capacity(cfg);
    h->version.store(kSharedVersion, std::memory_order_relaxed);
    h->magic.store(kSharedMagic, std::memory_order_release);
}

const char* check_shared_header(const void* mem) {
    const auto* h = static_cast<const SharedHeader*>(mem);
    if (h->magic.load(std::memory_order_acquire) != kSharedMagic) return "bad magic";
    if (h->version.load(std::memory_order_relaxed) != kSharedVersion)
        return "another layout version";
    if (h->pass_len > kMaxCred) return "password length out of bounds";
    if (h->table_capacity > kFakeDnsMaxCapacity) return "table capacity out of bounds";
    if (!range_sane(h->fake_net4, AF_INET) || !range_sane(h->fake_net6, AF_INET6))
        return "fake range out of bounds";
    return nullptr;
}

const char* check_shared_ranges(const void* mem, const Config& cfg, char* why, size_t cap) {
    const auto* h = static_cast<const SharedHeader*>(mem);
    const SharedRange* theirs = nullptr;
    const Cidr* mine = nullptr;
    const char* var = nullptr;
    if (!same_range(h->fake_net4, cfg.fake_net4)) {
        theirs = &h->fake_net4, mine = &cfg.fake_net4, var = kEnvFakeNet;
    } else if (!same_range(h->fake_net6, cfg.fake_net6)) {
        theirs = &h->fake_net6, mine = &cfg.fake_net6, var = kEnvFakeNet6;
    } else {
        return nullptr;
    }
    SharedRange own{};
    put_range(own, *mine);
    char a[80], b[80];
    format_range(own, a, sizeof a);
    format_range(*theirs, b, sizeof b);
    std::snprintf(why, cap, "%s is %s here but %s in the process that made the table", var, a, b);
    return why;
}

}  // namespace socksify::shim
