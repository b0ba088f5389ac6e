// The shared state's checks: what SOCKSIFY_SHM may say, which headers another process
// wrote are refused, that the memfd is the run user's alone, and that a crafted table
// (capacity, next index, slots) never leads outside the mapping.
#include "shim/shared_state.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "shim/dns/fake_dns.hpp"
#include "shim/settings/config.hpp"
#include "shim/shm_file.hpp"

namespace socksify::shim {
namespace {

Config ranges(const char* v4, const char* v6) {
    Config cfg;
    EXPECT_EQ(parse_fake_net4(v4, cfg.fake_net4), nullptr);
    EXPECT_EQ(parse_fake_net6(v6, cfg.fake_net6), nullptr);
    return cfg;
}

// The first page of a state: zeroed shared memory, as a new state's.
struct Mem {
    Mem() {
        p = mmap(nullptr, kSharedTableOffset, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                 -1, 0);
        EXPECT_NE(p, MAP_FAILED);
    }
    ~Mem() { munmap(p, kSharedTableOffset); }
    SharedHeader& h() { return *static_cast<SharedHeader*>(p); }
    void* p;
};

TEST(StateRef, RoundTrip) {
    StateRef in{1234, 101, 5, 987654321012ull, 1000};
    char text[96];
    format_state_ref(in, text, sizeof text);
    EXPECT_STREQ(text, "1234:101:5:987654321012:1000");
    StateRef out;
    ASSERT_TRUE(parse_state_ref(text, out));
    EXPECT_EQ(out.pid, 1234);
    EXPECT_EQ(out.fd, 101);
    EXPECT_EQ(out.dev, 5u);
    EXPECT_EQ(out.ino, 987654321012ull);
    EXPECT_EQ(out.uid, 1000u);
}

TEST(StateRef, RefusesEverythingElse) {
    StateRef out;
    for (const char* bad : {"", "/dev/shm/socksify-1-0123456789abcdef", "1:2:3:4", "1:2:3:4:5:6",
                            "0:2:3:4:5", "1:-2:3:4:5", "1:2:3:4:5 ", " 1:2:3:4:5", "1:2::4:5",
                            "1:2:3:4:x", "2147483648:2:3:4:5", "1:2147483648:3:4:5",
                            "1:2:3:4:4294967296", "1:2:18446744073709551616:4:5", "+1:2:3:4:5"}) {
        EXPECT_FALSE(parse_state_ref(bad, out)) << bad;
    }
    EXPECT_FALSE(parse_state_ref(nullptr, out));
}

TEST(SharedHeader, StampedHeaderPasses) {
    Mem m;
    Config cfg = ranges("240.0.0.0/12", "fd53:4f43:4b53::/96");
    stamp_shared_state(m.p, cfg, "pw", 2);
    EXPECT_EQ(check_shared_header(m.p), nullptr);
    char why[200];
    EXPECT_EQ(check_shared_ranges(m.p, cfg, why, sizeof why), nullptr);
    EXPECT_EQ(m.h().pass_len, 2u);
    EXPECT_EQ(std::string(m.h().pass, 2), "pw");
}

TEST(SharedHeader, CraftedHeadersRefused) {
    Config cfg = ranges("240.0.0.0/12", "fd53:4f43:4b53::/96");
    struct Case {
        const char* name;
        void (*craft)(SharedHeader&);
    };
    const Case cases[] = {
        {"zero magic", [](SharedHeader& h) { h.magic = 0; }},
        {"other magic", [](SharedHeader& h) { h.magic = 0xdeadbeef; }},
        {"old version", [](SharedHeader& h) { h.version = 2; }},
        {"future version", [](SharedHeader& h) { h.version = 0xffffffff; }},
        {"password too long", [](SharedHeader& h) { h.pass_len = kMaxCred + 1; }},
        {"password length huge", [](SharedHeader& h) { h.pass_len = 0xffffffff; }},
        {"v4 range family", [](SharedHeader& h) { h.fake_net4.family = AF_INET6; }},
        {"v4 range prefix", [](SharedHeader& h) { h.fake_net4.prefix = 33; }},
        {"v6 range family", [](SharedHeader& h) { h.fake_net6.family = 0xffff; }},
        {"v6 range prefix", [](SharedHeader& h) { h.fake_net6.prefix = 255; }},
    };
    for (const Case& c : cases) {
        Mem m;
        stamp_shared_state(m.p, cfg, "pw", 2);
        c.craft(m.h());
        EXPECT_NE(check_shared_header(m.p), nullptr) << c.name;
    }
    Mem zero;  // never stamped
    EXPECT_NE(check_shared_header(zero.p), nullptr);
}

TEST(SharedHeader, OverlongPasswordNotStamped) {
    Mem m;
    std::string pw(kMaxCred + 1, 'x');
    stamp_shared_state(m.p, ranges("240.0.0.0/12", "fd53:4f43:4b53::/96"), pw.data(), pw.size());
    EXPECT_EQ(m.h().pass_len, 0u);
}

TEST(SharedHeader, OtherFakeRangesRefused) {
    Mem m;
    stamp_shared_state(m.p, ranges("240.0.0.0/12", "fd53:4f43:4b53::/96"), nullptr, 0);
    char why[200];
    const char* r =
        check_shared_ranges(m.p, ranges("240.0.0.0/30", "fd53:4f43:4b53::/96"), why, sizeof why);
    ASSERT_NE(r, nullptr);
    EXPECT_NE(std::string(r).find("SOCKSIFY_FAKE_NET is 240.0.0.0/30 here but 240.0.0.0/12"),
              std::string::npos)
        << r;
    r = check_shared_ranges(m.p, ranges("240.0.0.0/12", "fd53:4f43:4b53::/112"), why, sizeof why);
    ASSERT_NE(r, nullptr);
    EXPECT_NE(std::string(r).find("SOCKSIFY_FAKE_NET6"), std::string::npos) << r;
    r = check_shared_ranges(m.p, ranges("203.0.113.0/24", "fd53:4f43:4b53::/96"), why, sizeof why);
    EXPECT_NE(r, nullptr);
}

// A header whose table capacity is out of bounds is refused before the table is mapped
// (the table's own bounds: fake_dns_test.cpp, ScribbledTableStaysInBounds).
TEST(SharedHeaderBounds, CraftedCapacity) {
    Mem m;
    stamp_shared_state(m.p, ranges("240.0.0.0/12", "fd53:4f43:4b53::/96"), nullptr, 0);
    EXPECT_EQ(m.h().table_capacity, 1048574u);
    EXPECT_EQ(check_shared_header(m.p), nullptr);
    m.h().table_capacity = kFakeDnsMaxCapacity + 1;
    EXPECT_NE(check_shared_header(m.p), nullptr);
}

TEST(CreateState, SealedPrivateInherited) {
    Config cfg = ranges("240.0.0.0/12", "fd53:4f43:4b53::/96");
    StateRef ref;
    int fd = create_state(cfg, "secret", 6, ref);
    ASSERT_GE(fd, 100);
    EXPECT_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);  // programs it execs inherit it
    struct stat st {};
    ASSERT_EQ(fstat(fd, &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(st.st_uid, geteuid());
    EXPECT_EQ(st.st_size, static_cast<off_t>(shared_size(1048574)));
    EXPECT_EQ(ftruncate(fd, 4096), -1);  // sealed: nobody shrinks it under a mapping
    EXPECT_EQ(errno, EPERM);
    EXPECT_TRUE(state_fd_matches(fd, ref));
    void* p = mmap(nullptr, kSharedTableOffset, PROT_READ, MAP_SHARED, fd, 0);
    ASSERT_NE(p, MAP_FAILED);
    EXPECT_EQ(check_shared_header(p), nullptr);
    EXPECT_EQ(std::string(static_cast<SharedHeader*>(p)->pass, 6), "secret");
    munmap(p, kSharedTableOffset);

    StateRef other = ref;
    other.ino += 1;
    EXPECT_FALSE(state_fd_matches(fd, other));
    other = ref;
    other.uid += 1;
    EXPECT_FALSE(state_fd_matches(fd, other));
    EXPECT_FALSE(state_fd_matches(0, ref));

    // The inherited fd is used as it is; a child that closed it finds the state again
    // through its creator's /proc entry, and only as the run's user.
    bool owned = true;
    const char* why = nullptr;
    EXPECT_EQ(open_state(ref, owned, why), fd);
    EXPECT_FALSE(owned);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        close(fd);
        int code = 0;
        int again = open_state(ref, owned, why);
        if (again < 0 || again == fd || !owned || !state_fd_matches(again, ref)) code |= 1;
        StateRef foreign = ref;
        foreign.uid += 1;
        if (open_state(foreign, owned, why) != -1) code |= 2;
        StateRef gone = ref;
        gone.fd = 99999;
        if (open_state(gone, owned, why) != -1) code |= 4;
        _exit(code);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    close(fd);
}

}  // namespace
}  // namespace socksify::shim
