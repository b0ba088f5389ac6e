// The fake-DNS table under threads and forked processes: every name maps to one
// index and every published index to one name; a full range gives back only names no
// connection holds and nobody looked up within the minimum age.
#include "shim/dns/fake_dns.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace socksify::shim {
namespace {

// A zeroed table in MAP_SHARED memory, as the launcher's memfd would give.
struct SharedTable {
    explicit SharedTable(uint32_t capacity = 131070, uint32_t min_age_s = 300) {
        size = fake_dns_layout(capacity).size;
        mem = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        EXPECT_NE(mem, MAP_FAILED);
        t = fake_dns_view(mem, capacity, min_age_s);
    }
    ~SharedTable() { munmap(mem, size); }
    void* mem;
    size_t size;
    FakeDns t;
};

constexpr uint32_t kNow = 1000;  // an arbitrary clock for the table

std::string name_of(int i) { return "host" + std::to_string(i) + ".example"; }

std::string name_at(FakeDns& t, uint32_t index, uint32_t now = kNow) {
    char buf[kMaxName];
    size_t n = fake_dns_name(t, index, buf, now);
    return std::string(buf, n);
}

InsertResult insert(FakeDns& t, const std::string& name, uint32_t& index, uint32_t now = kNow) {
    return fake_dns_insert(t, name, index, now);
}

TEST(FakeDns, InsertFindAndReverse) {
    SharedTable s;
    uint32_t a = 0, b = 0, c = 0;
    ASSERT_EQ(insert(s.t, "Web.Example.", a), InsertResult::kOk);
    ASSERT_EQ(insert(s.t, "web.example", b), InsertResult::kOk);
    EXPECT_EQ(a, b);  // case and trailing dot do not make a new name
    ASSERT_EQ(insert(s.t, "other.example", c), InsertResult::kOk);
    EXPECT_NE(a, c);
    uint32_t found = 99;
    EXPECT_TRUE(fake_dns_find(s.t, "WEB.example", found, kNow));
    EXPECT_EQ(found, a);
    EXPECT_FALSE(fake_dns_find(s.t, "missing.example", found, kNow));
    EXPECT_EQ(name_at(s.t, a), "web.example");
    EXPECT_EQ(name_at(s.t, 5000), "");
    EXPECT_EQ(name_at(s.t, 131070), "");
    EXPECT_EQ(name_at(s.t, 0xffffffff), "");
}

TEST(FakeDns, RejectsBadNames) {
    SharedTable s;
    uint32_t i = 0;
    EXPECT_EQ(insert(s.t, "", i), InsertResult::kBadName);
    EXPECT_EQ(insert(s.t, ".", i), InsertResult::kBadName);
    EXPECT_EQ(insert(s.t, std::string(256, 'a'), i), InsertResult::kBadName);
    EXPECT_EQ(insert(s.t, std::string("a\0b", 3), i), InsertResult::kBadName);
    ASSERT_EQ(insert(s.t, std::string(255, 'a'), i), InsertResult::kOk);
    EXPECT_EQ(name_at(s.t, i), std::string(255, 'a'));
}

TEST(FakeDns, LayoutFollowsCapacityUpToASlashEight) {
    FakeDnsLayout small = fake_dns_layout(254);
    FakeDnsLayout big = fake_dns_layout(kFakeDnsMaxCapacity);
    EXPECT_EQ(big.capacity, kFakeDnsMaxCapacity);
    EXPECT_EQ(fake_dns_layout(0xffffffff).capacity, kFakeDnsMaxCapacity);
    EXPECT_LT(small.size, 128u * 1024);
    EXPECT_GE(uint64_t{big.buckets} * kBucketSlots, uint64_t{kFakeDnsMaxCapacity});
    // Room for every name at its longest.
    EXPECT_GE(uint64_t{big.arena_units} * kNameUnit, uint64_t{kFakeDnsMaxCapacity} * 256);
}

// Half a million names in one table (the integration test resolves two million under
// socksify): each answer reverse-resolves to its own name. The old fixed table stopped
// at 131,070.
TEST(FakeDns, HalfAMillionNamesInASlashTwelveRange) {
    constexpr uint32_t kNames = 500000;
    SharedTable s(1048574);
    std::vector<uint32_t> idx(kNames);
    for (uint32_t i = 0; i < kNames; ++i)
        ASSERT_EQ(insert(s.t, name_of(static_cast<int>(i)), idx[i]), InsertResult::kOk) << i;
    for (uint32_t i = 0; i < kNames; i += 997) {
        EXPECT_EQ(name_at(s.t, idx[i]), name_of(static_cast<int>(i)));
        uint32_t again = 0;
        ASSERT_TRUE(fake_dns_find(s.t, name_of(static_cast<int>(i)), again, kNow));
        EXPECT_EQ(again, idx[i]);
    }
    EXPECT_EQ(s.t.h->recycled.load(), 0u);
}

TEST(FakeDns, FullRangeGivesBackOnlyNamesIdleForTheMinimumAge) {
    SharedTable s(4, 60);
    uint32_t idx[4];
    for (int i = 0; i < 4; ++i) ASSERT_EQ(insert(s.t, name_of(i), idx[i], 0), InsertResult::kOk);
    uint32_t extra = 0;
    // All four were used under a minute ago: nothing may go.
    EXPECT_EQ(insert(s.t, "one.too.many", extra, 30), InsertResult::kFull);
    uint32_t again = 0;
    ASSERT_EQ(insert(s.t, name_of(1), again, 100), InsertResult::kOk);
    EXPECT_EQ(again, idx[1]);  // known names still resolve; and name 1 is fresh again
    Recycled r;
    ASSERT_EQ(fake_dns_insert(s.t, "new.example", extra, 100, &r), InsertResult::kOk);
    EXPECT_NE(extra, idx[1]);  // the name looked up at 100 stays
    ASSERT_TRUE(r.happened);
    std::string old(r.old_name, r.old_len);
    EXPECT_TRUE(old == name_of(0) || old == name_of(2) || old == name_of(3)) << old;
    EXPECT_EQ(name_at(s.t, extra, 100), "new.example");
    uint32_t gone = 0;
    EXPECT_FALSE(fake_dns_find(s.t, old, gone, 100));  // the old name no longer maps there
    // Asked again, the given-back name gets an address of its own, which works.
    ASSERT_EQ(insert(s.t, old, gone, 200), InsertResult::kOk);
    EXPECT_EQ(name_at(s.t, gone, 200), old);
    EXPECT_EQ(s.t.h->recycled.load(), 2u);
}

TEST(FakeDns, PinnedNamesAreNeverGivenBack) {
    SharedTable s(3, 0);
    uint32_t idx[3];
    for (int i = 0; i < 3; ++i) ASSERT_EQ(insert(s.t, name_of(i), idx[i]), InsertResult::kOk);
    for (uint32_t i : idx) ASSERT_TRUE(fake_dns_pin(s.t, i, kNow));
    uint32_t extra = 0;
    EXPECT_EQ(insert(s.t, "new.example", extra), InsertResult::kFull);
    ASSERT_TRUE(fake_dns_pin(s.t, idx[1], kNow));  // a dup of that connection
    fake_dns_unpin(s.t, idx[1], kNow);
    EXPECT_EQ(fake_dns_pins(s.t, idx[1]), 1u);
    EXPECT_EQ(insert(s.t, "new.example", extra, kNow + 1), InsertResult::kFull);
    fake_dns_unpin(s.t, idx[1], kNow);
    // A failed sweep is not repeated within its second; the next second finds it.
    ASSERT_EQ(insert(s.t, "new.example", extra, kNow + 2), InsertResult::kOk);
    EXPECT_EQ(extra, idx[1]);
    EXPECT_EQ(name_at(s.t, idx[0]), name_of(0));
    EXPECT_EQ(name_at(s.t, idx[2]), name_of(2));
    EXPECT_EQ(fake_dns_pins(s.t, idx[0]), 1u);
}

TEST(FakeDns, ChurnReusesNameBlocks) {
    SharedTable s(64, 0);
    uint32_t seed = 1;
    for (int i = 0; i < 200000; ++i) {
        seed = seed * 1103515245u + 12345u;
        uint32_t idx = 0;
        // Names of mixed lengths (3 to 120 bytes), so blocks move between free lists.
        std::string name = std::string(1 + (seed >> 16) % 110, 'x') + std::to_string(i);
        ASSERT_EQ(insert(s.t, name, idx, kNow + static_cast<uint32_t>(i)), InsertResult::kOk) << i;
        ASSERT_EQ(name_at(s.t, idx, kNow + static_cast<uint32_t>(i)), name);
    }
    EXPECT_LE(s.t.h->arena_next.load(), uint64_t{s.t.arena_units});
    EXPECT_GE(s.t.h->recycled.load(), 200000u - 64u);
}

// Names growing longer and longer strand the shorter blocks: an insert may then fail
// (EAI_AGAIN), but never hands out a wrong name.
TEST(FakeDns, GrowingNamesFailCleanly) {
    SharedTable s(8, 0);
    int failed = 0;
    for (int i = 0; i < 20000; ++i) {
        uint32_t idx = 0;
        std::string name = std::string(1 + i % 240, 'y') + std::to_string(i % 100000);
        uint32_t now = kNow + static_cast<uint32_t>(i);
        InsertResult r = insert(s.t, name, idx, now);
        if (r != InsertResult::kOk) {
            ++failed;
            continue;
        }
        ASSERT_EQ(name_at(s.t, idx, now), name);
    }
    EXPECT_LT(failed, 20000);
}

TEST(FakeDns, EightThreadsTenThousandInsertsEach) {
    SharedTable s;
    constexpr int kThreads = 8;
    constexpr int kPerThread = 10000;
    // Every thread inserts the same 9,000 names (maximal contention) plus 1,000 own.
    std::vector<std::vector<uint32_t>> got(kThreads, std::vector<uint32_t>(kPerThread));
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                int n = (i % 10 == 0) ? 100000 + t * kPerThread + i : i;
                ASSERT_EQ(insert(s.t, name_of(n), got[t][i]), InsertResult::kOk);
            }
        });
    }
    for (auto& th : threads) th.join();
    std::set<uint32_t> indices;
    for (int t = 0; t < kThreads; ++t) {
        for (int i = 0; i < kPerThread; ++i) {
            int n = (i % 10 == 0) ? 100000 + t * kPerThread + i : i;
            if (i % 10 != 0) {
                EXPECT_EQ(got[t][i], got[0][i]) << name_of(n);
            }
            EXPECT_EQ(name_at(s.t, got[t][i]), name_of(n));
            indices.insert(got[t][i]);
        }
    }
    EXPECT_EQ(indices.size(), 9000u + kThreads * 1000u);  // one index per distinct name
}

// Heavy churn in a tiny range with no minimum age: a name held by a pin keeps its
// address, and no reader ever sees an address under another name than it had.
TEST(FakeDns, PinnedNameSurvivesChurnFromEightThreads) {
    SharedTable s(16, 0);
    std::atomic<int> wrong{0}, held{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 4000; ++i) {
                std::string mine = name_of(t * 100000 + i);
                uint32_t idx = 0;
                if (insert(s.t, mine, idx) != InsertResult::kOk) continue;
                if (!fake_dns_pin(s.t, idx, kNow)) continue;
                // Pinned: if it still holds my name now, it must hold it until unpinned.
                if (name_at(s.t, idx) == mine) {
                    ++held;
                    for (int k = 0; k < 3; ++k) {
                        uint32_t other = 0;
                        (void)insert(s.t, mine + ".x" + std::to_string(k), other);
                        if (name_at(s.t, idx) != mine) ++wrong;
                    }
                }
                fake_dns_unpin(s.t, idx, kNow);
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_GT(held.load(), 1000);
}

TEST(FakeDns, ForkedChildrenShareOneMapping) {
    SharedTable s;
    constexpr int kChildren = 6;
    constexpr int kNames = 3000;
    std::vector<pid_t> pids;
    for (int c = 0; c < kChildren; ++c) {
        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            for (int i = 0; i < kNames; ++i) {
                uint32_t idx = 0;
                int n = (c % 2 == 0) ? i : kNames - 1 - i;  // opposite orders collide
                if (insert(s.t, name_of(n), idx) != InsertResult::kOk) _exit(1);
                if (name_at(s.t, idx) != name_of(n)) _exit(2);
            }
            _exit(0);
        }
        pids.push_back(pid);
    }
    for (pid_t pid : pids) {
        int status = 0;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    std::set<uint32_t> indices;
    for (int i = 0; i < kNames; ++i) {
        uint32_t idx = 0;
        ASSERT_TRUE(fake_dns_find(s.t, name_of(i), idx, kNow));
        EXPECT_EQ(name_at(s.t, idx), name_of(i));
        indices.insert(idx);
    }
    EXPECT_EQ(indices.size(), static_cast<size_t>(kNames));
}

TEST(FakeDns, ChildKilledMidInsertsLeavesTableConsistent) {
    SharedTable s(2000, 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        for (int i = 0; i < 10000000; ++i) {
            uint32_t idx = 0;
            (void)insert(s.t, name_of(i), idx, kNow + static_cast<uint32_t>(i / 1000));
        }
        _exit(0);
    }
    usleep(50000);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    // Whatever the child published is whole (a bucket lock it held is taken over);
    // the parent can go on inserting and recycling.
    for (int i = 0; i < 5000; ++i) {
        uint32_t idx = 0;
        ASSERT_EQ(insert(s.t, "p" + name_of(i), idx, kNow + 100000), InsertResult::kOk) << i;
        EXPECT_EQ(name_at(s.t, idx, kNow + 100000), "p" + name_of(i));
    }
}

// Memory another process of the run scribbled on: nothing reaches past the mapping
// (the ASan build of the unit tests checks every access), no name comes out garbled.
TEST(FakeDns, ScribbledTableStaysInBounds) {
    SharedTable s(64, 0);
    uint32_t idx = 0;
    ASSERT_EQ(insert(s.t, "a.example", idx), InsertResult::kOk);
    FakeDnsLayout l = fake_dns_layout(64);
    for (uint32_t b = 0; b < l.buckets; ++b) {
        s.t.buckets[b].overflow = 1;
        for (uint32_t k = 0; k < kBucketSlots; ++k) s.t.buckets[b].slot[k] = 0xffffffff - k;
    }
    for (uint32_t i = 1; i < 64; ++i) {
        s.t.entries[i].state = 2 | (uint64_t{kNow} << 32);  // live, name anywhere
        s.t.entries[i].unit = 0xfffffff0 + i;
        s.t.entries[i].len = 0xffff;
    }
    s.t.h->next = 0xfffffff0;
    s.t.h->hand = 0xffffffffffffff00ull;
    for (auto& head : s.t.h->free_head) head = 0xffffffffffffffffull;
    s.t.h->arena_next = 0xfffffffffff0ull;
    EXPECT_EQ(name_at(s.t, 5), "");
    EXPECT_EQ(name_at(s.t, 64), "");
    uint32_t found = 0;
    EXPECT_FALSE(fake_dns_find(s.t, "a.example", found, kNow));  // its slot is gone
    for (int i = 0; i < 200; ++i) {
        uint32_t got = 0;
        if (insert(s.t, name_of(i), got, kNow + 10) == InsertResult::kOk) {
            EXPECT_LT(got, 64u);
            std::string n = name_at(s.t, got, kNow + 10);
            EXPECT_TRUE(n.empty() || n == name_of(i)) << n;
        }
    }
}

// Pages are touched by the names stored, not by the capacity: a /8 table holding a
// thousand names stays small.
TEST(FakeDns, ASlashEightTableCostsWhatItHolds) {
    SharedTable s(kFakeDnsMaxCapacity);
    for (int i = 0; i < 1000; ++i) {
        uint32_t idx = 0;
        ASSERT_EQ(insert(s.t, name_of(i), idx), InsertResult::kOk);
    }
    size_t pages = (s.size + 4095) / 4096;
    std::vector<unsigned char> vec(pages);
    ASSERT_EQ(mincore(s.mem, s.size, vec.data()), 0);
    size_t resident = 0;
    for (unsigned char v : vec) resident += v & 1;
    EXPECT_LT(resident * 4096, 8u << 20) << resident << " pages of " << pages;
}

}  // namespace
}  // namespace socksify::shim
