// program_blocker and find_program against files made here: an ELF file must be of
// this machine's class, byte order and machine and name the system's dynamic loader in
// its PT_INTERP (none: static); a setuid or setgid file is refused, an unreadable one
// unchecked; a script is judged by its interpreter; the PATH search follows execvp.
#include "shim/program_check.hpp"

#include <elf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <link.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

namespace socksify::shim {
namespace {

// The interpreter /bin/sh names: the system's dynamic loader, by its usual path.
std::string system_loader() {
    int fd = open("/bin/sh", O_RDONLY | O_CLOEXEC);
    ElfW(Ehdr) eh{};
    std::string found;
    if (fd >= 0 && pread(fd, &eh, sizeof eh, 0) == sizeof eh) {
        for (unsigned i = 0; i < eh.e_phnum; ++i) {
            ElfW(Phdr) ph{};
            if (pread(fd, &ph, sizeof ph, static_cast<off_t>(eh.e_phoff + i * sizeof ph)) !=
                sizeof ph)
                break;
            if (ph.p_type != PT_INTERP) continue;
            std::vector<char> text(ph.p_filesz);
            if (pread(fd, text.data(), text.size(), static_cast<off_t>(ph.p_offset)) > 0)
                found = text.data();
        }
    }
    if (fd >= 0) close(fd);
    return found;
}

// The fields of a test ELF file; the defaults make a program of this machine.
struct ElfSpec {
    unsigned char cls = sizeof(void*) == 8 ? ELFCLASS64 : ELFCLASS32;
    unsigned char data = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;
    uint16_t machine = 0;  // 0: this machine's (taken from /bin/sh)
    uint16_t type = ET_EXEC;
    const char* interp = nullptr;  // PT_INTERP's text; none when null
};

uint16_t native_machine() {
    ElfW(Ehdr) eh{};
    int fd = open("/bin/sh", O_RDONLY | O_CLOEXEC);
    EXPECT_EQ(pread(fd, &eh, sizeof eh, 0), static_cast<ssize_t>(sizeof eh));
    close(fd);
    return eh.e_machine;
}

class ProgramCheckTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/socksify-program-check-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);  // another user's check must reach it
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

    // An ELF file as spec says: a header, one program header (PT_INTERP with the text
    // after it, or PT_LOAD), in the 64- or 32-bit layout.
    std::string elf(const std::string& name, const ElfSpec& spec) {
        std::vector<unsigned char> out;
        auto put = [&out](const auto& v) {
            const auto* p = reinterpret_cast<const unsigned char*>(&v);
            out.insert(out.end(), p, p + sizeof v);
        };
        uint16_t machine = spec.machine != 0 ? spec.machine : native_machine();
        size_t text_len = spec.interp != nullptr ? std::strlen(spec.interp) + 1 : 0;
        uint32_t type = spec.interp != nullptr ? PT_INTERP : PT_LOAD;
        if (spec.cls == ELFCLASS64) {
            Elf64_Ehdr eh{};
            Elf64_Phdr ph{};
            eh.e_type = spec.type;
            eh.e_machine = machine;
            eh.e_phoff = sizeof eh;
            eh.e_phentsize = sizeof ph;
            eh.e_phnum = 1;
            ph.p_type = type;
            ph.p_offset = sizeof eh + sizeof ph;
            ph.p_filesz = text_len;
            std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
            eh.e_ident[EI_CLASS] = spec.cls;
            eh.e_ident[EI_DATA] = spec.data;
            put(eh);
            put(ph);
        } else {
            Elf32_Ehdr eh{};
            Elf32_Phdr ph{};
            eh.e_type = spec.type;
            eh.e_machine = machine;
            eh.e_phoff = sizeof eh;
            eh.e_phentsize = sizeof ph;
            eh.e_phnum = 1;
            ph.p_type = type;
            ph.p_offset = sizeof eh + sizeof ph;
            ph.p_filesz = static_cast<uint32_t>(text_len);
            std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
            eh.e_ident[EI_CLASS] = spec.cls;
            eh.e_ident[EI_DATA] = spec.data;
            put(eh);
            put(ph);
        }
        if (spec.interp != nullptr) out.insert(out.end(), spec.interp, spec.interp + text_len);
        return write_file(name, out.data(), out.size());
    }

    std::string static_elf(const std::string& name) { return elf(name, ElfSpec{}); }
    std::string dynamic_elf(const std::string& name) {
        ElfSpec spec;
        spec.interp = loader_.c_str();
        return elf(name, spec);
    }

    std::string dir_;
    std::string loader_ = system_loader();
};

TEST_F(ProgramCheckTest, AnElfWithoutInterpreterIsStatic) {
    ASSERT_FALSE(loader_.empty());
    EXPECT_STREQ(preload_blocker(static_elf("static").c_str()), "statically linked");
    EXPECT_EQ(preload_blocker(dynamic_elf("dynamic").c_str()), nullptr);
    ElfSpec pie;
    pie.type = ET_DYN;
    EXPECT_STREQ(preload_blocker(elf("static-pie", pie).c_str()), "statically linked");
    pie.interp = loader_.c_str();
    EXPECT_EQ(preload_blocker(elf("pie", pie).c_str()), nullptr);
}

TEST_F(ProgramCheckTest, TheRealShellIsDynamic) { EXPECT_EQ(preload_blocker("/bin/sh"), nullptr); }

TEST_F(ProgramCheckTest, TheLoaderIsKnownByItsFileNotItsPath) {
    // Another path to the same file (merged /usr, a symbolic link) is the system's.
    std::string link = dir_ + "/ld.so";
    ASSERT_EQ(symlink(loader_.c_str(), link.c_str()), 0);
    ElfSpec spec;
    spec.interp = link.c_str();
    EXPECT_EQ(preload_blocker(elf("via-link", spec).c_str()), nullptr);
    // A copy of it is another file: whatever a user put there, not the system's.
    std::string copy = dir_ + "/ld-copy.so";
    ASSERT_EQ(system(("cp '" + loader_ + "' '" + copy + "'").c_str()), 0);
    spec.interp = copy.c_str();
    EXPECT_STREQ(preload_blocker(elf("via-copy", spec).c_str()),
                 "linked to a dynamic loader other than the system's");
}

TEST_F(ProgramCheckTest, AnotherLoaderIsForeign) {
    // A static program as the "loader": the kernel runs it, and it need not honour
    // LD_PRELOAD at all.
    std::string helper = static_elf("helper");
    ElfSpec spec;
    spec.interp = helper.c_str();
    Blocker b = program_blocker(elf("foreign", spec).c_str());
    EXPECT_STREQ(b.why, "linked to a dynamic loader other than the system's");
    EXPECT_FALSE(b.unchecked);
    EXPECT_STREQ(blocker_effect(b), "the preloaded library cannot act in it");
    spec.interp = "/lib/ld-musl-x86_64.so.1";  // missing here: exec fails, nothing runs
    if (access(spec.interp, F_OK) != 0) {
        EXPECT_EQ(preload_blocker(elf("musl", spec).c_str()), nullptr);
    }
}

TEST_F(ProgramCheckTest, OtherClassesAndMachinesAreForeign) {
    bool ours64 = sizeof(void*) == 8;
    ElfSpec other_class;
    other_class.cls = ours64 ? ELFCLASS32 : ELFCLASS64;
    other_class.machine = ours64 ? EM_386 : EM_X86_64;
    EXPECT_STREQ(preload_blocker(elf("class", other_class).c_str()),
                 ours64 ? "a 32-bit program" : "a 64-bit program");
    // Dynamic or not, with the right loader path or not: the library cannot be loaded.
    other_class.interp = loader_.c_str();
    EXPECT_STREQ(preload_blocker(elf("class-dyn", other_class).c_str()),
                 ours64 ? "a 32-bit program" : "a 64-bit program");
    ElfSpec machine;
    machine.machine = native_machine() == EM_S390 ? EM_AARCH64 : EM_S390;
    machine.interp = loader_.c_str();
    EXPECT_STREQ(preload_blocker(elf("machine", machine).c_str()), "built for another machine");
    ElfSpec order;
    order.data = order.data == ELFDATA2LSB ? ELFDATA2MSB : ELFDATA2LSB;
    order.interp = loader_.c_str();
    EXPECT_STREQ(preload_blocker(elf("order", order).c_str()), "built for another machine");
}

TEST_F(ProgramCheckTest, WhatTheKernelWillNotLoadIsLeftToExec) {
    ElfSpec object;
    object.type = ET_REL;
    EXPECT_EQ(preload_blocker(elf("object", object).c_str()), nullptr);
    ElfSpec no_class;
    no_class.cls = ELFCLASSNONE;
    EXPECT_EQ(preload_blocker(elf("no-class", no_class).c_str()), nullptr);
    // Not executable: execve's EACCES, no check of ours.
    std::string data = static_elf("data");
    ASSERT_EQ(chmod(data.c_str(), 0644), 0);
    EXPECT_EQ(preload_blocker(data.c_str()), nullptr);
}

TEST_F(ProgramCheckTest, CraftedOffsetsAreReadSafely) {
    // Offsets near 2^64 must not wrap into the bytes already read; each case is what
    // the kernel would refuse (no blocker) or, without PT_INTERP, static.
    std::string path = dynamic_elf("crafted");
    struct {
        Elf64_Ehdr eh;
        Elf64_Phdr ph;
    } f{};
    int fd = open(path.c_str(), O_RDWR);
    ASSERT_EQ(pread(fd, &f, sizeof f, 0), static_cast<ssize_t>(sizeof f));
    auto rewrite = [&](auto change) {
        auto g = f;
        change(g);
        EXPECT_EQ(pwrite(fd, &g, sizeof g, 0), static_cast<ssize_t>(sizeof g));
        return program_blocker(path.c_str());
    };
    if (sizeof(void*) == 8) {
        EXPECT_EQ(rewrite([](auto& g) { g.ph.p_offset = ~uint64_t{0} - 4; }).why, nullptr);
        EXPECT_EQ(rewrite([](auto& g) { g.eh.e_phoff = ~uint64_t{0} - 8; }).why, nullptr);
        EXPECT_EQ(rewrite([](auto& g) { g.ph.p_filesz = 1 << 20; }).why, nullptr);
        EXPECT_EQ(rewrite([](auto& g) { g.eh.e_phnum = 2000; }).why, nullptr);
        EXPECT_EQ(rewrite([](auto& g) { g.eh.e_phentsize = 32; }).why, nullptr);
        EXPECT_STREQ(rewrite([](auto& g) { g.ph.p_type = PT_NOTE; }).why, "statically linked");
    }
    close(fd);
}

TEST_F(ProgramCheckTest, UnreadableProgramsAreUnchecked) {
    // As root every file is readable: the check runs as nobody in a child.
    std::string prog = static_elf("secret");
    ASSERT_EQ(chmod(prog.c_str(), 0711), 0);
    std::string dyn = dynamic_elf("secret-dyn");
    ASSERT_EQ(chmod(dyn.c_str(), 0711), 0);
    std::string script = "#!" + prog + "\n";
    std::string s = write_file("script", script.data(), script.size());
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(10);
        Blocker b = program_blocker(prog.c_str());
        if (b.why == nullptr || std::strcmp(b.why, "unreadable") != 0 || !b.unchecked) _exit(1);
        if (std::strstr(blocker_effect(b), "cannot check") == nullptr) _exit(2);
        // Dynamic or static cannot be told: unchecked either way.
        if (!program_blocker(dyn.c_str()).unchecked) _exit(3);
        b = program_blocker(s.c_str());
        if (b.why == nullptr || std::strcmp(b.why, "run by an unreadable interpreter") != 0)
            _exit(4);
        _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(ProgramCheckTest, ASetuidProgramIsJudgedWithoutReadingIt) {
    std::string dyn = dynamic_elf("suid");
    ASSERT_EQ(chmod(dyn.c_str(), 04711), 0);
    EXPECT_STREQ(preload_blocker(dyn.c_str()), "setuid");
}

TEST_F(ProgramCheckTest, PathsAreTakenWhereTheExecTakesThem) {
    // The program from dir (execveat's dirfd, a spawn child's directory), its
    // interpreter from cwd.
    ASSERT_EQ(mkdir((dir_ + "/sub").c_str(), 0755), 0);
    static_elf("sub/tool");
    int sub = open((dir_ + "/sub").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(sub, 0);
    EXPECT_STREQ(program_blocker("tool", ExecSite{sub, sub, 0}).why, "statically linked");
    EXPECT_STREQ(program_blocker("./tool", ExecSite{sub, sub, 0}).why, "statically linked");
    EXPECT_EQ(program_blocker("./tool").why, nullptr);  // not in this process's directory
    // A relative PT_INTERP is the kernel's to open from the new program's directory.
    static_elf("sub/helper");
    ElfSpec spec;
    spec.interp = "helper";
    elf("sub/relative", spec);
    EXPECT_STREQ(program_blocker("relative", ExecSite{sub, sub, 0}).why,
                 "linked to a dynamic loader other than the system's");
    // AT_SYMLINK_NOFOLLOW: a link is execveat's ELOOP.
    ASSERT_EQ(symlinkat("tool", sub, "link"), 0);
    EXPECT_STREQ(program_blocker("link", ExecSite{sub, sub, 0}).why, "statically linked");
    EXPECT_EQ(program_blocker("link", ExecSite{sub, sub, AT_SYMLINK_NOFOLLOW}).why, nullptr);
    char out[4096];
    ASSERT_TRUE(find_program_at(sub, "tool", ".", out, sizeof out));
    EXPECT_STREQ(out, "./tool");
    close(sub);
}

TEST_F(ProgramCheckTest, AProgramOpenAsAnFdIsReadThroughIt) {
    std::string prog = static_elf("by-fd");
    int rd = open(prog.c_str(), O_RDONLY | O_CLOEXEC);
    int path_only = open(prog.c_str(), O_PATH | O_CLOEXEC);
    ASSERT_GE(rd, 0);
    ASSERT_GE(path_only, 0);
    EXPECT_STREQ(program_blocker_fd(rd).why, "statically linked");
    EXPECT_STREQ(program_blocker_fd(path_only).why, "statically linked");  // via /proc
    close(rd);
    close(path_only);
    int dyn = open(dynamic_elf("dyn-fd").c_str(), O_PATH | O_CLOEXEC);
    EXPECT_EQ(program_blocker_fd(dyn).why, nullptr);
    close(dyn);
}

TEST_F(ProgramCheckTest, SetuidAndSetgidAreRefused) {
    std::string dyn = dynamic_elf("dynamic");
    ASSERT_EQ(chmod(dyn.c_str(), 04755), 0);
    EXPECT_STREQ(preload_blocker(dyn.c_str()), "setuid");
    ASSERT_EQ(chmod(dyn.c_str(), 02755), 0);
    EXPECT_STREQ(preload_blocker(dyn.c_str()), "setgid");
}

TEST_F(ProgramCheckTest, AScriptIsJudgedByItsInterpreter) {
    std::string stat_interp = static_elf("static-interp");
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
    std::string target = static_elf("static");
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
    static_elf("b/tool");
    std::string dirs = first + ":" + second;
    char out[4096];
    ASSERT_TRUE(find_program("tool", dirs.c_str(), out, sizeof out));
    EXPECT_EQ(std::string(out), second + "/tool");
    // No PATH at all: glibc's default, /bin:/usr/bin.
    ASSERT_TRUE(find_program("sh", nullptr, out, sizeof out));
    EXPECT_STREQ(out, "/bin/sh");
}

TEST_F(ProgramCheckTest, FindProgramSearchesLikeExecvp) {
    dynamic_elf("tool");
    std::string no_exec = dynamic_elf("data");
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

namespace socksify::shim {
namespace {

// A dynamic program with n sections, section go (if < n) named name; the names start
// at pad bytes into the name table (past the 4 KiB the check reads at once, or not).
class GoCheckTest : public ProgramCheckTest {
  protected:
    std::string with_sections(const std::string& file, unsigned n, unsigned go, const char* name,
                              size_t pad) {
        std::string path = dynamic_elf(file);
        std::vector<unsigned char> out;
        {
            int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
            unsigned char buf[4096];
            ssize_t got;
            while ((got = read(fd, buf, sizeof buf)) > 0) out.insert(out.end(), buf, buf + got);
            close(fd);
        }
        std::string names(pad, '\0');
        std::vector<uint32_t> at;
        for (unsigned i = 0; i < n; ++i) {
            at.push_back(static_cast<uint32_t>(names.size()));
            names += i == go ? name : ".text" + std::to_string(i);
            names += '\0';
        }
        size_t names_at = out.size();
        out.insert(out.end(), names.begin(), names.end());
        while (out.size() % 8 != 0) out.push_back(0);
        ElfW(Ehdr) eh{};
        std::memcpy(&eh, out.data(), sizeof eh);
        eh.e_shoff = out.size();
        eh.e_shnum = static_cast<uint16_t>(n);
        eh.e_shentsize = sizeof(ElfW(Shdr));
        eh.e_shstrndx = static_cast<uint16_t>(n - 1);
        std::memcpy(out.data(), &eh, sizeof eh);
        for (unsigned i = 0; i < n; ++i) {
            ElfW(Shdr) sh{};
            sh.sh_name = at[i];
            if (i == n - 1) {
                sh.sh_type = SHT_STRTAB;
                sh.sh_offset = names_at;
                sh.sh_size = names.size();
            }
            const auto* p = reinterpret_cast<const unsigned char*>(&sh);
            out.insert(out.end(), p, p + sizeof sh);
        }
        return write_file(file, out.data(), out.size());
    }
};

TEST_F(GoCheckTest, AGoSectionMakesAGoProgramWhereverItIs) {
    for (const char* name : {".note.go.buildid", ".go.buildinfo"}) {
        for (size_t pad : {size_t{1}, size_t{5000}}) {  // names read at once, or one by one
            for (unsigned go : {0u, 5u, 37u}) {         // in the first 32 sections read, or later
                std::string p = with_sections("go", 40, go, name, pad);
                EXPECT_TRUE(is_go_program(p.c_str())) << name << " " << pad << " " << go;
                EXPECT_STREQ(supervision_reason(p.c_str()), "a Go program");
                EXPECT_EQ(preload_blocker(p.c_str()), nullptr);  // the preload loads; Go ignores it
            }
        }
    }
    // A name that only starts like one, no section of the kind, or no sections at all.
    EXPECT_FALSE(is_go_program(with_sections("near", 40, 37, ".note.go.buildidx", 1).c_str()));
    EXPECT_FALSE(is_go_program(with_sections("none", 40, 99, "", 1).c_str()));
    EXPECT_FALSE(is_go_program(dynamic_elf("plain").c_str()));
    EXPECT_EQ(supervision_reason(dynamic_elf("plain").c_str()), nullptr);
    EXPECT_FALSE(is_go_program("/bin/sh"));
}

// fexecve and execveat(AT_EMPTY_PATH) join a Go program named by an fd: readable,
// O_PATH or write-only alike (read again through /proc), the fd's offset untouched.
TEST_F(GoCheckTest, AGoProgramOpenAsAnFd) {
    std::string go = with_sections("gofd", 40, 5, ".go.buildinfo", 1);
    for (int flags : {O_RDONLY, O_PATH, O_RDWR}) {
        int fd = open(go.c_str(), flags | O_CLOEXEC);
        ASSERT_GE(fd, 0);
        bool seekable = flags != O_PATH;
        if (seekable) {
            ASSERT_EQ(lseek(fd, 7, SEEK_SET), 7);
        }
        EXPECT_TRUE(is_go_program_fd(fd)) << flags;
        if (seekable) {
            EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 7);
        }
        close(fd);
    }
    int plain = open(dynamic_elf("plainfd").c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(plain, 0);
    EXPECT_FALSE(is_go_program_fd(plain));
    close(plain);
    EXPECT_FALSE(is_go_program_fd(-1));
    EXPECT_FALSE(is_go_program_fd(999999));
}

TEST_F(GoCheckTest, WhatTheSupervisorTakes) {
    // Static, the other class and another loader: the supervisor serves them.
    EXPECT_TRUE(program_blocker(static_elf("static").c_str()).supervisable);
    EXPECT_STREQ(supervision_reason(static_elf("static").c_str()), "statically linked");
    ElfSpec other_class;
    other_class.cls = sizeof(void*) == 8 ? ELFCLASS32 : ELFCLASS64;
    other_class.machine = sizeof(void*) == 8 ? EM_386 : EM_X86_64;
    EXPECT_TRUE(program_blocker(elf("class", other_class).c_str()).supervisable);
    std::string helper = static_elf("helper");
    ElfSpec foreign;
    foreign.interp = helper.c_str();
    EXPECT_TRUE(program_blocker(elf("foreign", foreign).c_str()).supervisable);
    // A script run by a static interpreter too.
    std::string script = "#!" + helper + "\n";
    EXPECT_STREQ(supervision_reason(write_file("script", script.data(), script.size()).c_str()),
                 "run by a statically linked interpreter");
    // Setuid: no_new_privs would strip it; an unreadable one cannot be judged.
    std::string suid = dynamic_elf("suid");
    ASSERT_EQ(chmod(suid.c_str(), 04755), 0);
    EXPECT_FALSE(program_blocker(suid.c_str()).supervisable);
    EXPECT_EQ(supervision_reason(suid.c_str()), nullptr);
}

}  // namespace
}  // namespace socksify::shim
