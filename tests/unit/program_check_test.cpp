// preload_blocker and find_program against files made here: an ELF header without
// PT_INTERP is static, a setuid or setgid file is refused, a script is judged by its
// interpreter, and the PATH search follows execvp.
#include "shim/program_check.hpp"

#include <elf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace socksify::shim {
namespace {

class ProgramCheckTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/socksify-program-check-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        std::string cmd = "rm -rf '" + dir_ + "'";
        ASSERT_EQ(system(cmd.c_str()), 0);
    }

    std::string write_file(const std::string& name, const void* data, size_t n,
                           mode_t mode = 0755) {
        std::string path = dir_ + "/" + name;
        int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        EXPECT_GE(fd, 0);
        EXPECT_EQ(write(fd, data, n), static_cast<ssize_t>(n));
        close(fd);
        EXPECT_EQ(chmod(path.c_str(), mode), 0);
        return path;
    }

    // A 64-bit ELF file with one program header of type type.
    std::string elf(const std::string& name, uint32_t type) {
        struct {
            Elf64_Ehdr eh;
            Elf64_Phdr ph;
        } f{};
        std::memcpy(f.eh.e_ident, ELFMAG, SELFMAG);
        f.eh.e_ident[EI_CLASS] = ELFCLASS64;
        f.eh.e_phoff = sizeof f.eh;
        f.eh.e_phentsize = sizeof f.ph;
        f.eh.e_phnum = 1;
        f.ph.p_type = type;
        return write_file(name, &f, sizeof f);
    }

    std::string dir_;
};

TEST_F(ProgramCheckTest, AnElfWithoutInterpreterIsStatic) {
    EXPECT_STREQ(preload_blocker(elf("static", PT_LOAD).c_str()), "statically linked");
    EXPECT_EQ(preload_blocker(elf("dynamic", PT_INTERP).c_str()), nullptr);
}

TEST_F(ProgramCheckTest, TheRealShellIsDynamic) { EXPECT_EQ(preload_blocker("/bin/sh"), nullptr); }

TEST_F(ProgramCheckTest, SetuidAndSetgidAreRefused) {
    std::string dyn = elf("dynamic", PT_INTERP);
    ASSERT_EQ(chmod(dyn.c_str(), 04755), 0);
    EXPECT_STREQ(preload_blocker(dyn.c_str()), "setuid");
    ASSERT_EQ(chmod(dyn.c_str(), 02755), 0);
    EXPECT_STREQ(preload_blocker(dyn.c_str()), "setgid");
}

TEST_F(ProgramCheckTest, AScriptIsJudgedByItsInterpreter) {
    std::string stat_interp = elf("static-interp", PT_LOAD);
    std::string script = "#!" + stat_interp + " -x\necho hi\n";
    EXPECT_STREQ(preload_blocker(write_file("s1", script.data(), script.size()).c_str()),
                 "run by a statically linked interpreter");
    std::string sh = "#! /bin/sh\necho hi\n";
    EXPECT_EQ(preload_blocker(write_file("s2", sh.data(), sh.size()).c_str()), nullptr);
}

TEST_F(ProgramCheckTest, MissingOrUnreadableFilesAreLeftToExec) {
    EXPECT_EQ(preload_blocker((dir_ + "/missing").c_str()), nullptr);
    const char junk[] = "not a program";
    EXPECT_EQ(preload_blocker(write_file("junk", junk, sizeof junk).c_str()), nullptr);
}

TEST_F(ProgramCheckTest, OnlyRegularFilesAreInspected) {
    // A FIFO would block open(); a directory is exec's EACCES. Neither is judged.
    std::string fifo = dir_ + "/fifo";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0755), 0);
    EXPECT_EQ(preload_blocker(fifo.c_str()), nullptr);
    EXPECT_EQ(preload_blocker(dir_.c_str()), nullptr);
}

TEST_F(ProgramCheckTest, InterpreterChainsAreFollowedAsFarAsTheKernelGoes) {
    std::string target = elf("static", PT_LOAD);
    for (int i = 0; i < 4; ++i) {  // the kernel's BINPRM_MAX_RECURSION
        std::string script = "#!" + target + "\n";
        target = write_file("level" + std::to_string(i), script.data(), script.size());
    }
    EXPECT_STREQ(preload_blocker(target.c_str()), "run by a statically linked interpreter");
}

TEST_F(ProgramCheckTest, FindProgramSkipsWhatExecvpSkips) {
    // A directory of the same name earlier in PATH: execvp goes on to the next entry.
    std::string first = dir_ + "/a";
    std::string second = dir_ + "/b";
    ASSERT_EQ(mkdir(first.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((first + "/tool").c_str(), 0755), 0);
    ASSERT_EQ(mkdir(second.c_str(), 0755), 0);
    elf("b/tool", PT_LOAD);
    std::string dirs = first + ":" + second;
    char out[4096];
    ASSERT_TRUE(find_program("tool", dirs.c_str(), out, sizeof out));
    EXPECT_EQ(std::string(out), second + "/tool");
    // No PATH at all: glibc's default, /bin:/usr/bin.
    ASSERT_TRUE(find_program("sh", nullptr, out, sizeof out));
    EXPECT_STREQ(out, "/bin/sh");
}

TEST_F(ProgramCheckTest, FindProgramSearchesLikeExecvp) {
    elf("tool", PT_INTERP);
    std::string no_exec = elf("data", PT_INTERP);
    ASSERT_EQ(chmod(no_exec.c_str(), 0644), 0);
    char out[4096];
    std::string dirs = "/nonexistent:" + dir_;
    ASSERT_TRUE(find_program("tool", dirs.c_str(), out, sizeof out));
    EXPECT_EQ(std::string(out), dir_ + "/tool");
    EXPECT_FALSE(find_program("data", dirs.c_str(), out, sizeof out));
    EXPECT_FALSE(find_program("nothing-here", dirs.c_str(), out, sizeof out));
    ASSERT_TRUE(find_program("./x/y", dirs.c_str(), out, sizeof out));  // a path as given
    EXPECT_STREQ(out, "./x/y");
    char small[8];
    EXPECT_FALSE(find_program("tool", dirs.c_str(), small, sizeof small));
}

}  // namespace
}  // namespace socksify::shim
