// The supervisor's pure parts: the DNS query reader and answer writer of its fake
// nameserver, the --supervise values, the ELF checks.
#include "launcher/supervisor/supervisor.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "launcher/supervisor/elf_kind.hpp"

namespace socksify::launcher {
namespace {

TEST(SuperviseMode, Values) {
    SuperviseMode m = SuperviseMode::kOff;
    EXPECT_EQ(parse_supervise_mode("auto", m), nullptr);
    EXPECT_EQ(m, SuperviseMode::kAuto);
    EXPECT_EQ(parse_supervise_mode("on", m), nullptr);
    EXPECT_EQ(m, SuperviseMode::kOn);
    EXPECT_EQ(parse_supervise_mode("no", m), nullptr);
    EXPECT_EQ(m, SuperviseMode::kOff);
    EXPECT_NE(parse_supervise_mode("sometimes", m), nullptr);
    EXPECT_NE(parse_supervise_mode("", m), nullptr);
}

TEST(ElfKind, DynamicCProgramNeedsNoSupervisor) {
    EXPECT_EQ(supervision_reason("/bin/sh"), nullptr);
    EXPECT_FALSE(is_go_program("/bin/sh"));
    EXPECT_FALSE(is_foreign_class("/bin/sh"));
    EXPECT_EQ(supervision_reason("/nonexistent/program"), nullptr);
    EXPECT_EQ(supervision_reason("/etc/passwd"), nullptr);  // not ELF: exec reports it
}

}  // namespace
}  // namespace socksify::launcher
