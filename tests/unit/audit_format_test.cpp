// Unit tests for shim/settings/audit_format: JSON escaping, the time stamp, whole records
// (bounded, one line, valid JSON read back by our own parser) and the parser itself.
#include "shim/settings/audit_format.hpp"

#include <gtest/gtest.h>

#include <string>

namespace socksify::shim {
namespace {

std::string escaped(std::string_view in, size_t cap = 4096) {
    std::string out(cap, '\0');
    out.resize(json_escape(in, out.data(), cap));
    return out;
}

std::string record(const AuditRecord& r) {
    char buf[kAuditRecordMax];
    size_t n = format_audit_record(r, buf, sizeof buf);
    return std::string(buf, n);
}

AuditRecord sample() {
    AuditRecord r;
    r.time_ms = 1795744961278;
    r.pid = 4242;
    r.program = "curl";
    r.kind = "connect";
    r.name = "web.socks.test";
    r.port = 80;
    r.proxy = "198.51.100.1:1080";
    r.verdict = "allow";
    r.reason = "ok";
    r.ms = 3;
    return r;
}

// --- json_escape -----------------------------------------------------------------------

TEST(JsonEscapeTest, PlainTextUnchanged) { EXPECT_EQ(escaped("web.socks.test"), "web.socks.test"); }

TEST(JsonEscapeTest, QuotesBackslashesAndControls) {
    EXPECT_EQ(escaped("a\"b\\c"), "a\\\"b\\\\c");
    EXPECT_EQ(escaped("l1\nl2\r\t"), "l1\\nl2\\r\\t");
    EXPECT_EQ(escaped(std::string_view("\0\x01\x1f\x7f", 4)), "\\u0000\\u0001\\u001f\\u007f");
}

TEST(JsonEscapeTest, ValidUtf8CopiedInvalidBytesEscaped) {
    EXPECT_EQ(escaped("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
              "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    EXPECT_EQ(escaped("\xff"), "\\u00ff");
    EXPECT_EQ(escaped("\xc3"), "\\u00c3");                                   // truncated sequence
    EXPECT_EQ(escaped("\xc0\xaf"), "\\u00c0\\u00af");                        // overlong
    EXPECT_EQ(escaped("\xed\xa0\x80"), "\\u00ed\\u00a0\\u0080");             // surrogate
    EXPECT_EQ(escaped("\xf4\x90\x80\x80"), "\\u00f4\\u0090\\u0080\\u0080");  // > U+10FFFF
}

TEST(JsonEscapeTest, NeverSplitsAnEscapeOrASequence) {
    EXPECT_EQ(escaped("ab\"", 3), "ab");
    EXPECT_EQ(escaped("a\x01", 6), "a");
    EXPECT_EQ(escaped("a\xc3\xa9", 2), "a");
    EXPECT_EQ(escaped("abc", 0), "");
}

TEST(JsonEscapeTest, C1ControlsEscaped) {
    // U+0080-U+009F as UTF-8: CSI (U+009B) drives some terminals like ESC [.
    EXPECT_EQ(escaped("a\xc2\x9b"
                      "31m\xc2\x80\xc2\x9f\xc2\xa0"),
              "a\\u009b31m\\u0080\\u009f\xc2\xa0");
}

// text_escape: the log's escaping is json_escape's, with '"' left alone.
TEST(TextEscapeTest, EveryControlByteEscapedQuotesKept) {
    auto text = [](std::string_view in) {
        std::string out(4096, '\0');
        out.resize(text_escape(in, out.data(), out.size()));
        return out;
    };
    EXPECT_EQ(text("say \"hi\"\\"), "say \"hi\"\\\\");
    for (int c = 0; c < 0x80; ++c) {
        char in = static_cast<char>(c);
        std::string got = text(std::string_view(&in, 1));
        bool control = c < 0x20 || c == 0x7f;
        if (control) {
            EXPECT_EQ(got, escaped(std::string_view(&in, 1))) << c;
        } else if (c != '\\') {
            EXPECT_EQ(got, std::string(1, in)) << c;
        }
        for (char g : got) EXPECT_FALSE(g < 0x20 || g == 0x7f) << c;
    }
    EXPECT_EQ(text("\x1b[31m\x1b]0;t\x07"), "\\u001b[31m\\u001b]0;t\\u0007");
}

// --- time stamps -----------------------------------------------------------------------

TEST(AuditTimeTest, Utc) {
    char t[25];
    format_utc_ms(0, t);
    EXPECT_STREQ(t, "1970-01-01T00:00:00.000Z");
    format_utc_ms(951782400123, t);  // a leap day
    EXPECT_STREQ(t, "2000-02-29T00:00:00.123Z");
    format_utc_ms(1795744961278, t);
    EXPECT_STREQ(t, "2026-11-27T02:02:41.278Z");
    format_utc_ms(4102444799999, t);
    EXPECT_STREQ(t, "2099-12-31T23:59:59.999Z");
}

// --- records ---------------------------------------------------------------------------

TEST(AuditRecordTest, ExactLayout) {
    EXPECT_EQ(
        record(sample()),
        "{\"time\":\"2026-11-27T02:02:41.278Z\",\"pid\":4242,\"program\":\"curl\","
        "\"kind\":\"connect\",\"name\":\"web.socks.test\",\"address\":null,\"port\":80,"
        "\"proxy\":\"198.51.100.1:1080\",\"verdict\":\"allow\",\"reason\":\"ok\",\"ms\":3}\n");
}

TEST(AuditRecordTest, NullsForMissingFields) {
    AuditRecord r = sample();
    r.name = {};
    r.address = "203.0.113.10";
    r.port = -1;
    r.proxy = {};
    std::string s = record(r);
    EXPECT_NE(s.find("\"name\":null,\"address\":\"203.0.113.10\",\"port\":null,\"proxy\":null"),
              std::string::npos)
        << s;
}

TEST(AuditRecordTest, HostileStringsStayOneBoundedLine) {
    std::string nasty;
    for (int i = 0; i < 3000; ++i) nasty += static_cast<char>(i % 256);
    AuditRecord r = sample();
    r.name = nasty;
    r.program = nasty;
    r.reason = nasty;
    r.address = nasty;
    r.proxy = nasty;
    std::string s = record(r);
    EXPECT_LE(s.size(), kAuditRecordMax);
    ASSERT_FALSE(s.empty());
    EXPECT_EQ(s.back(), '\n');
    EXPECT_EQ(s.find('\n'), s.size() - 1);
    AuditFields f;
    ASSERT_TRUE(parse_audit_line(std::string_view(s.data(), s.size() - 1), f)) << s;
    EXPECT_STREQ(f.kind, "connect");
    EXPECT_STREQ(f.verdict, "allow");
    EXPECT_EQ(f.port, 80);
}

TEST(AuditRecordTest, ReadBackByTheParser) {
    AuditRecord r = sample();
    r.name = "we\"ird\\name\n";
    std::string s = record(r);
    AuditFields f;
    ASSERT_TRUE(parse_audit_line(s, f)) << s;  // a trailing newline is blank space
    EXPECT_TRUE(f.has_name);
    EXPECT_STREQ(f.name, "we\"ird\\name\n");
    EXPECT_FALSE(f.has_address);
    EXPECT_EQ(f.port, 80);
}

// --- parse_audit_line ------------------------------------------------------------------

TEST(AuditParseTest, MinimalAndUnicode) {
    AuditFields f;
    ASSERT_TRUE(parse_audit_line(
        R"({"kind":"lookup","verdict":"deny","name":"caf\u00e9\ud83d\ude00"})", f));
    EXPECT_STREQ(f.kind, "lookup");
    EXPECT_STREQ(f.name, "caf\xc3\xa9\xf0\x9f\x98\x80");
    EXPECT_EQ(f.port, -1);
    ASSERT_TRUE(
        parse_audit_line(R"( { "verdict" : "allow" , "kind" : "udp", "port": 7, "x": [1] } )", f) ==
        false);  // arrays are not ours
    ASSERT_TRUE(parse_audit_line(
        R"( { "verdict" : "allow" , "kind" : "udp", "port": 7, "ok": true, "n": -1.5e3 } )", f));
    EXPECT_EQ(f.port, 7);
}

TEST(AuditParseTest, KeysAreComparedWhole) {
    // A NUL inside a key does not make it another key.
    AuditFields f;
    EXPECT_FALSE(parse_audit_line(R"({"kind\u0000zzz":"connect","verdict\u0000":"deny"})", f));
    EXPECT_TRUE(parse_audit_line(R"({"kind":"connect","verdict":"deny"})", f));
}

TEST(AuditParseTest, Malformed) {
    AuditFields f;
    for (const char* bad : {"", "{", "}", "{}", "[]", "garbage",
                            R"({"kind":"connect"})",                      // no verdict
                            R"({"kind":"connect","verdict":"allow"} x)",  // trailing text
                            R"({"kind":"connect","verdict":"allow",})",   // trailing comma
                            R"({"kind":"connect" "verdict":"allow"})",    // missing comma
                            R"({"kind":"connect","verdict":"allow","port":70000})",
                            R"({"kind":"connect","verdict":"allow","port":8.5})",
                            R"({"kind":"conn)",                           // cut off
                            "{\"kind\":\"a\tb\",\"verdict\":\"allow\"}",  // raw control byte
                            R"({"kind":"\x","verdict":"allow"})",         // bad escape
                            R"({"kind":"\ud800","verdict":"allow"})",     // lone surrogate
                            R"({"kind":1,"verdict":"allow"})",            // kind not a string
                            R"({"kind":"connect","verdict":nul})"}) {
        EXPECT_FALSE(parse_audit_line(bad, f)) << "accepted " << bad;
    }
}

}  // namespace
}  // namespace socksify::shim
