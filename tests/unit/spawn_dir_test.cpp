// SpawnDir against real glibc file actions: the directory a posix_spawn child will
// exec in follows chdir and fchdir (through the opens, dup2s and closes before them),
// and whatever cannot be followed says so.
#include "shim/spawn_dir.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

namespace socksify::shim {
namespace {

class SpawnDirTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/socksify-spawn-dir-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        ASSERT_EQ(mkdir((dir_ + "/a").c_str(), 0755), 0);
        ASSERT_EQ(mkdir((dir_ + "/a/b").c_str(), 0755), 0);
        ASSERT_EQ(posix_spawn_file_actions_init(&fa_), 0);
    }
    void TearDown() override {
        posix_spawn_file_actions_destroy(&fa_);
        ASSERT_EQ(system(("rm -rf '" + dir_ + "'").c_str()), 0);
    }

    // Whether fd is the directory at path.
    static bool is(int fd, const std::string& path) {
        struct stat a {};
        struct stat b {};
        return fstat(fd, &a) == 0 && stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev &&
               a.st_ino == b.st_ino;
    }

    std::string dir_;
    posix_spawn_file_actions_t fa_;
};

TEST_F(SpawnDirTest, NoActionsKeepTheParentsDirectory) {
    SpawnDir none;
    ASSERT_TRUE(none.follow(nullptr));
    EXPECT_EQ(none.fd(), AT_FDCWD);
    ASSERT_EQ(posix_spawn_file_actions_addclose(&fa_, 60), 0);
    SpawnDir closes;
    ASSERT_TRUE(closes.follow(&fa_));
    EXPECT_EQ(closes.fd(), AT_FDCWD);
}

TEST_F(SpawnDirTest, ChdirsAreTakenInOrder) {
    ASSERT_EQ(posix_spawn_file_actions_addchdir_np(&fa_, dir_.c_str()), 0);
    ASSERT_EQ(posix_spawn_file_actions_addchdir_np(&fa_, "a"), 0);
    ASSERT_EQ(posix_spawn_file_actions_addchdir_np(&fa_, "b"), 0);
    SpawnDir d;
    ASSERT_TRUE(d.follow(&fa_));
    EXPECT_TRUE(is(d.fd(), dir_ + "/a/b"));
}

TEST_F(SpawnDirTest, FchdirToAParentDescriptor) {
    int a = open((dir_ + "/a").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(a, 0);
    ASSERT_EQ(posix_spawn_file_actions_addfchdir_np(&fa_, a), 0);
    SpawnDir d;
    ASSERT_TRUE(d.follow(&fa_));
    EXPECT_TRUE(is(d.fd(), dir_ + "/a"));
    close(a);
}

TEST_F(SpawnDirTest, FchdirToWhatAnOpenActionOpened) {
    // open 50 (relative to the directory then), dup2 to 51, close 50, fchdir 51.
    ASSERT_EQ(posix_spawn_file_actions_addchdir_np(&fa_, dir_.c_str()), 0);
    ASSERT_EQ(posix_spawn_file_actions_addopen(&fa_, 50, "a/b", O_RDONLY | O_DIRECTORY, 0), 0);
    ASSERT_EQ(posix_spawn_file_actions_addchdir_np(&fa_, "/"), 0);
    ASSERT_EQ(posix_spawn_file_actions_adddup2(&fa_, 50, 51), 0);
    ASSERT_EQ(posix_spawn_file_actions_addclose(&fa_, 50), 0);
    ASSERT_EQ(posix_spawn_file_actions_addfchdir_np(&fa_, 51), 0);
    SpawnDir d;
    ASSERT_TRUE(d.follow(&fa_));
    EXPECT_TRUE(is(d.fd(), dir_ + "/a/b"));
}

TEST_F(SpawnDirTest, WhatCannotBeFollowedSaysSo) {
    int a = open((dir_ + "/a").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(a, 0);
    {  // a closed descriptor
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addclose(&fa, a);
        posix_spawn_file_actions_addfchdir_np(&fa, a);
        SpawnDir d;
        EXPECT_FALSE(d.follow(&fa));
        posix_spawn_file_actions_destroy(&fa);
    }
    {  // closefrom below it
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addclosefrom_np(&fa, 3);
        posix_spawn_file_actions_addfchdir_np(&fa, a);
        SpawnDir d;
        EXPECT_FALSE(d.follow(&fa));
        posix_spawn_file_actions_destroy(&fa);
    }
    {  // a missing directory, and a file that is not one
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addchdir_np(&fa, (dir_ + "/missing").c_str());
        SpawnDir d;
        EXPECT_FALSE(d.follow(&fa));
        posix_spawn_file_actions_destroy(&fa);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addfchdir_np(&fa, 0);  // stdin: not a directory here
        SpawnDir e;
        struct stat st {};
        if (fstat(0, &st) == 0 && !S_ISDIR(st.st_mode)) {
            EXPECT_FALSE(e.follow(&fa));
        }
        posix_spawn_file_actions_destroy(&fa);
    }
    {  // more descriptors than are kept track of
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        for (int fd = 100; fd < 200; ++fd) posix_spawn_file_actions_addclose(&fa, fd);
        SpawnDir d;
        EXPECT_FALSE(d.follow(&fa));
        posix_spawn_file_actions_destroy(&fa);
    }
    close(a);
}

TEST_F(SpawnDirTest, DirectoriesItOpenedAreClosed) {
    int before = open("/dev/null", O_RDONLY | O_CLOEXEC);
    close(before);
    {
        ASSERT_EQ(posix_spawn_file_actions_addchdir_np(&fa_, dir_.c_str()), 0);
        SpawnDir d;
        ASSERT_TRUE(d.follow(&fa_));
        EXPECT_NE(d.fd(), AT_FDCWD);
    }
    int after = open("/dev/null", O_RDONLY | O_CLOEXEC);
    EXPECT_EQ(after, before);
    close(after);
}

}  // namespace
}  // namespace socksify::shim
