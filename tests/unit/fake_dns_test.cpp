// The fake-DNS table under threads and forked processes: every name maps to one
// index and every published index to one name.
#include "shim/dns/fake_dns.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace socksify::shim {
namespace {

// A zeroed table in MAP_SHARED memory, as the launcher's file would give.
struct SharedTable {
    explicit SharedTable(uint32_t capacity = kFakeDnsCapacity) {
        void* p = mmap(nullptr, sizeof(FakeDnsTable), PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        EXPECT_NE(p, MAP_FAILED);
        table = static_cast<FakeDnsTable*>(p);
        table->capacity = capacity;
    }
    ~SharedTable() { munmap(table, sizeof(FakeDnsTable)); }
    FakeDnsTable* table;
};

std::string name_of(int i) { return "host" + std::to_string(i) + ".example"; }

TEST(FakeDns, InsertFindAndReverse) {
    SharedTable s;
    uint32_t a = 0, b = 0, c = 0;
    ASSERT_EQ(fake_dns_insert(*s.table, "Web.Example.", a), InsertResult::kOk);
    ASSERT_EQ(fake_dns_insert(*s.table, "web.example", b), InsertResult::kOk);
    EXPECT_EQ(a, b);  // case and trailing dot do not make a new name
    ASSERT_EQ(fake_dns_insert(*s.table, "other.example", c), InsertResult::kOk);
    EXPECT_NE(a, c);
    uint32_t found = 99;
    EXPECT_TRUE(fake_dns_find(*s.table, "WEB.example", found));
    EXPECT_EQ(found, a);
    EXPECT_FALSE(fake_dns_find(*s.table, "missing.example", found));
    EXPECT_EQ(fake_dns_name(*s.table, a), "web.example");
    EXPECT_EQ(fake_dns_name(*s.table, 5000), "");
    EXPECT_EQ(fake_dns_name(*s.table, kFakeDnsCapacity + 1), "");
}

TEST(FakeDns, RejectsBadNames) {
    SharedTable s;
    uint32_t i = 0;
    EXPECT_EQ(fake_dns_insert(*s.table, "", i), InsertResult::kBadName);
    EXPECT_EQ(fake_dns_insert(*s.table, ".", i), InsertResult::kBadName);
    EXPECT_EQ(fake_dns_insert(*s.table, std::string(256, 'a'), i), InsertResult::kBadName);
    EXPECT_EQ(fake_dns_insert(*s.table, std::string("a\0b", 3), i), InsertResult::kBadName);
    EXPECT_EQ(fake_dns_insert(*s.table, std::string(255, 'a'), i), InsertResult::kOk);
}

TEST(FakeDns, FullTableRefusesAndNeverRemaps) {
    SharedTable s(3);
    uint32_t idx[3];
    for (int i = 0; i < 3; ++i)
        ASSERT_EQ(fake_dns_insert(*s.table, name_of(i), idx[i]), InsertResult::kOk);
    uint32_t extra = 0;
    EXPECT_EQ(fake_dns_insert(*s.table, "one.too.many", extra), InsertResult::kFull);
    uint32_t again = 0;
    ASSERT_EQ(fake_dns_insert(*s.table, name_of(1), again), InsertResult::kOk);
    EXPECT_EQ(again, idx[1]);  // known names still resolve when full
}

TEST(FakeDns, EightThreadsTenThousandInsertsEach) {
    SharedTable s;
    constexpr int kThreads = 8;
    constexpr int kPerThread = 10000;
    // Every thread inserts the same 10,000 names (maximal contention) plus 1,000 own.
    std::vector<std::vector<uint32_t>> got(kThreads, std::vector<uint32_t>(kPerThread));
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                int n = (i % 10 == 0) ? 100000 + t * kPerThread + i : i;
                ASSERT_EQ(fake_dns_insert(*s.table, name_of(n), got[t][i]), InsertResult::kOk);
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
            EXPECT_EQ(fake_dns_name(*s.table, got[t][i]), name_of(n));
            indices.insert(got[t][i]);
        }
    }
    EXPECT_EQ(indices.size(), 9000u + kThreads * 1000u);  // one index per distinct name
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
                if (fake_dns_insert(*s.table, name_of(n), idx) != InsertResult::kOk) _exit(1);
                if (fake_dns_name(*s.table, idx) != name_of(n)) _exit(2);
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
        ASSERT_TRUE(fake_dns_find(*s.table, name_of(i), idx));
        EXPECT_EQ(fake_dns_name(*s.table, idx), name_of(i));
        indices.insert(idx);
    }
    EXPECT_EQ(indices.size(), static_cast<size_t>(kNames));
}

TEST(FakeDns, ChildKilledMidInsertsLeavesTableConsistent) {
    SharedTable s;
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        for (int i = 0; i < 4 * static_cast<int>(kFakeDnsCapacity); ++i) {
            uint32_t idx = 0;
            (void)fake_dns_insert(*s.table, name_of(i), idx);
        }
        _exit(0);
    }
    usleep(20000);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    // Whatever the child published is whole; the parent can go on inserting.
    for (int i = 0; i < 2000; ++i) {
        uint32_t idx = 0;
        ASSERT_EQ(fake_dns_insert(*s.table, name_of(i), idx), InsertResult::kOk);
        EXPECT_EQ(fake_dns_name(*s.table, idx), name_of(i));
    }
}

}  // namespace
}  // namespace socksify::shim
