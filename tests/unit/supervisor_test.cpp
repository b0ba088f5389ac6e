// The supervisor's pure parts: the DNS query reader and answer writer of its fake
// nameserver, the --supervise values, the ELF checks.
#include "launcher/supervisor.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "launcher/dns_answer.hpp"
#include "launcher/elf_kind.hpp"

namespace socksify::launcher {
namespace {

// A query for name (dotted) of type, id 0x1234, RD set, with an EDNS OPT record as Go
// sends one.
std::vector<uint8_t> query(const char* name, uint16_t type) {
    std::vector<uint8_t> m = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1};
    const char* p = name;
    while (*p != '\0') {
        const char* dot = std::strchr(p, '.');
        size_t len = dot != nullptr ? static_cast<size_t>(dot - p) : std::strlen(p);
        m.push_back(static_cast<uint8_t>(len));
        m.insert(m.end(), p, p + len);
        p += len;
        if (*p == '.') ++p;
    }
    m.push_back(0);
    m.push_back(static_cast<uint8_t>(type >> 8));
    m.push_back(static_cast<uint8_t>(type));
    m.push_back(0);
    m.push_back(1);
    std::vector<uint8_t> opt = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};
    m.insert(m.end(), opt.begin(), opt.end());
    return m;
}

TEST(DnsAnswer, ReadsTheQuestion) {
    auto m = query("web.socks.test", kTypeAaaa);
    DnsQuestion q;
    ASSERT_TRUE(parse_query(m, q));
    EXPECT_EQ(q.id, 0x1234);
    EXPECT_STREQ(q.name, "web.socks.test");
    EXPECT_EQ(q.type, kTypeAaaa);
    EXPECT_EQ(q.klass, kClassIn);
    EXPECT_EQ(q.question_end, m.size() - 11);
}

TEST(DnsAnswer, WritesOneAddressRecord) {
    auto m = query("web.socks.test", kTypeA);
    DnsQuestion q;
    ASSERT_TRUE(parse_query(m, q));
    const uint8_t addr[4] = {198, 18, 0, 1};
    uint8_t out[512];
    size_t n = build_answer(m, q, kRcodeOk, addr, out);
    ASSERT_EQ(n, q.question_end + 16);
    EXPECT_EQ(out[0], 0x12);
    EXPECT_EQ(out[1], 0x34);
    EXPECT_EQ(out[2], 0x85);  // QR, AA, RD
    EXPECT_EQ(out[3], 0x80);  // RA, NOERROR
    EXPECT_EQ(out[7], 1);     // one answer
    EXPECT_EQ(out[11], 0);    // the query's OPT record is not echoed
    const uint8_t* r = out + q.question_end;
    EXPECT_EQ(r[0], 0xc0);
    EXPECT_EQ(r[1], 12);
    EXPECT_EQ(r[3], kTypeA);
    EXPECT_EQ(r[11], 4);
    EXPECT_EQ(std::memcmp(r + 12, addr, 4), 0);
}

TEST(DnsAnswer, ErrorHasNoRecord) {
    auto m = query("nosuch.socks.test", kTypeA);
    DnsQuestion q;
    ASSERT_TRUE(parse_query(m, q));
    uint8_t out[512];
    size_t n = build_answer(m, q, kRcodeNxDomain, {}, out);
    ASSERT_EQ(n, q.question_end);
    EXPECT_EQ(out[3] & 0x0f, kRcodeNxDomain);
    EXPECT_EQ(out[7], 0);
    uint8_t small[8];
    EXPECT_EQ(build_answer(m, q, kRcodeOk, {}, small), 0u);
}

TEST(DnsAnswer, RefusesWhatIsNotAPlainQuery) {
    DnsQuestion q;
    auto ok = query("a.test", kTypeA);
    // Every truncation of a valid query is refused, never read past.
    for (size_t len = 0; len < ok.size() - 11; ++len) {
        EXPECT_FALSE(parse_query({ok.data(), len}, q)) << len;
    }
    auto response = ok;
    response[2] |= 0x80;
    EXPECT_FALSE(parse_query(response, q));
    auto opcode = ok;
    opcode[2] |= 0x10;  // IQUERY... any opcode but 0
    EXPECT_FALSE(parse_query(opcode, q));
    auto none = ok;
    none[5] = 0;  // QDCOUNT 0
    EXPECT_FALSE(parse_query(none, q));
    auto pointer = ok;
    pointer[12] = 0xc0;  // a compression pointer in the question
    EXPECT_FALSE(parse_query(pointer, q));
    auto nul = ok;
    nul[13] = '\0';  // "\0" inside a label would cut the name short
    EXPECT_FALSE(parse_query(nul, q));
    auto dot = ok;
    dot[13] = '.';  // a dot inside a label would change the name
    EXPECT_FALSE(parse_query(dot, q));
    auto root = query("", kTypeA);
    EXPECT_FALSE(parse_query(root, q));
}

TEST(DnsAnswer, LongestNameFitsAndLongerIsRefused) {
    std::string name;
    while (name.size() < 253) name += (name.empty() ? "" : ".") + std::string(63, 'a');
    name.resize(253);
    if (name.back() == '.') name.back() = 'a';
    DnsQuestion q;
    EXPECT_TRUE(parse_query(query(name.c_str(), kTypeA), q));
    EXPECT_EQ(std::strlen(q.name), 253u);
    std::string longer = name + ".bb";
    EXPECT_FALSE(parse_query(query(longer.c_str(), kTypeA), q));
}

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
