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

#include "settings/config.hpp"
#include "shim/dns/fake_dns.hpp"
#include "shim/shm_file.hpp"

namespace socksify::shim {
namespace {

Config ranges(const char* v4, const char* v6) {
    Config cfg;
    EXPECT_EQ(parse_fake_net4(v4, cfg.fake_net4), nullptr);
    EXPECT_EQ(parse_fake_net6(v6, cfg.fake_net6), nullptr);
    return cfg;
}

// kSharedSize bytes of zeroed shared memory, as a new state.
struct Mem {
    Mem() {
        p = mmap(nullptr, kSharedSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        EXPECT_NE(p, MAP_FAILED);
    }
    ~Mem() { munmap(p, kSharedSize); }
    SharedHeader& h() { return *static_cast<SharedHeader*>(p); }
    FakeDnsTable& t() {
        return *reinterpret_cast<FakeDnsTable*>(static_cast<char*>(p) + kSharedTableOffset);
    }
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
    Config cfg = ranges("198.18.0.0/15", "fd53:4f43:4b53::/96");
    stamp_shared_state(m.p, cfg, "pw", 2);
    EXPECT_EQ(check_shared_header(m.p), nullptr);
    char why[200];
    EXPECT_EQ(check_shared_ranges(m.p, cfg, why, sizeof why), nullptr);
    EXPECT_EQ(m.h().pass_len, 2u);
    EXPECT_EQ(std::string(m.h().pass, 2), "pw");
}

TEST(SharedHeader, CraftedHeadersRefused) {
    Config cfg = ranges("198.18.0.0/15", "fd53:4f43:4b53::/96");
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
    stamp_shared_state(m.p, ranges("198.18.0.0/15", "fd53:4f43:4b53::/96"), pw.data(), pw.size());
    EXPECT_EQ(m.h().pass_len, 0u);
}

TEST(SharedHeader, OtherFakeRangesRefused) {
    Mem m;
    stamp_shared_state(m.p, ranges("198.18.0.0/15", "fd53:4f43:4b53::/96"), nullptr, 0);
    char why[200];
    const char* r =
        check_shared_ranges(m.p, ranges("198.18.0.0/30", "fd53:4f43:4b53::/96"), why, sizeof why);
    ASSERT_NE(r, nullptr);
    EXPECT_NE(std::string(r).find("SOCKSIFY_FAKE_NET is 198.18.0.0/30 here but 198.18.0.0/15"),
              std::string::npos)
        << r;
    r = check_shared_ranges(m.p, ranges("198.18.0.0/15", "fd53:4f43:4b53::/112"), why, sizeof why);
    ASSERT_NE(r, nullptr);
    EXPECT_NE(std::string(r).find("SOCKSIFY_FAKE_NET6"), std::string::npos) << r;
    r = check_shared_ranges(m.p, ranges("203.0.113.0/24", "fd53:4f43:4b53::/96"), why, sizeof why);
    EXPECT_NE(r, nullptr);
}

// A table another process of the run scribbled on: nothing reaches past the mapping
// (the ASan build of the unit tests checks every access).
TEST(SharedTableBounds, CraftedCapacityAndNextIndex) {
    Mem m;
    FakeDnsTable& t = m.t();
    t.capacity = 0xffffffff;
    t.next = 0xfffffff0;
    uint32_t i = 0;
    EXPECT_EQ(fake_dns_insert(t, "a.example", i), InsertResult::kFull);
    t.next = kFakeDnsCapacity;
    EXPECT_EQ(fake_dns_insert(t, "a.example", i), InsertResult::kFull);
    t.next = kFakeDnsCapacity - 1;
    ASSERT_EQ(fake_dns_insert(t, "a.example", i), InsertResult::kOk);
    EXPECT_EQ(i, kFakeDnsCapacity - 1);
    EXPECT_EQ(fake_dns_insert(t, "b.example", i), InsertResult::kFull);
    EXPECT_EQ(fake_dns_name(t, 0xfffffffe), "");
    EXPECT_EQ(fake_dns_name(t, kFakeDnsCapacity), "");
    EXPECT_EQ(fake_dns_name(t, kFakeDnsCapacity - 1), "a.example");
}

TEST(SharedTableBounds, CraftedSlotsPointNowhere) {
    Mem m;
    FakeDnsTable& t = m.t();
    t.capacity = 0xffffffff;
    for (uint32_t s = 0; s < kFakeDnsSlots; ++s) t.slots[s] = 0xffffffff - (s & 7);
    uint32_t i = 0;
    EXPECT_FALSE(fake_dns_find(t, "a.example", i));
    EXPECT_EQ(fake_dns_insert(t, "a.example", i), InsertResult::kFull);  // no free slot
    // Entries whose length byte is garbage stay inside their 255-byte name.
    t.slots[0] = 1;
    t.entries[0].len = 0xff;
    t.entries[0].ready = 1;
    EXPECT_EQ(fake_dns_name(t, 0).size(), 255u);
}

TEST(CreateState, SealedPrivateInherited) {
    Config cfg = ranges("198.18.0.0/15", "fd53:4f43:4b53::/96");
    StateRef ref;
    int fd = create_state(cfg, "secret", 6, ref);
    ASSERT_GE(fd, 100);
    EXPECT_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);  // programs it execs inherit it
    struct stat st {};
    ASSERT_EQ(fstat(fd, &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(st.st_uid, geteuid());
    EXPECT_EQ(st.st_size, static_cast<off_t>(kSharedSize));
    EXPECT_EQ(ftruncate(fd, 4096), -1);  // sealed: nobody shrinks it under a mapping
    EXPECT_EQ(errno, EPERM);
    EXPECT_TRUE(state_fd_matches(fd, ref));
    void* p = mmap(nullptr, kSharedSize, PROT_READ, MAP_SHARED, fd, 0);
    ASSERT_NE(p, MAP_FAILED);
    EXPECT_EQ(check_shared_header(p), nullptr);
    EXPECT_EQ(std::string(static_cast<SharedHeader*>(p)->pass, 6), "secret");
    munmap(p, kSharedSize);

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
