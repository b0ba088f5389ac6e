// protocol/dns_message: query decoding (bytes from dig and c-ares, every prefix,
// malformed inputs, compression loops) and answer encoding.
#include "protocol/dns_message.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

using namespace socksify::proto;

namespace {

// dig +short web.socks.test (BIND 9.18): id 0x5a3c, RD|AD, EDNS OPT with a cookie.
const std::vector<uint8_t> kDigQuery = {
    0x5a, 0x3c, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,  // header
    0x03, 'w',  'e',  'b',  0x05, 's',  'o',  'c',  'k',  's',  0x04, 't',
    'e',  's',  't',  0x00, 0x00, 0x01, 0x00, 0x01,                          // question
    0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00,  // OPT
    0x0a, 0x00, 0x08, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};

std::vector<uint8_t> query(std::vector<uint8_t> name, uint16_t type = kDnsTypeA) {
    // Built front to back into one sized vector (g++ 12 warns on insert-after-init).
    std::vector<uint8_t> m(12 + name.size() + 4);
    const uint8_t head[12] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    std::memcpy(m.data(), head, 12);
    if (!name.empty()) std::memcpy(m.data() + 12, name.data(), name.size());
    m[12 + name.size()] = static_cast<uint8_t>(type >> 8);
    m[13 + name.size()] = static_cast<uint8_t>(type);
    m[15 + name.size()] = 1;
    return m;
}

Result decode(const std::vector<uint8_t>& m, DnsQuery& q) {
    return decode_dns_query(Bytes(m.data(), m.size()), q);
}

}  // namespace

TEST(DnsMessage, DecodesDigQuery) {
    DnsQuery q;
    Result r = decode(kDigQuery, q);
    ASSERT_EQ(r.status, Status::kDone);
    EXPECT_EQ(r.consumed, 32u);
    EXPECT_EQ(q.id, 0x5a3c);
    EXPECT_EQ(q.flags, 0x0120);
    EXPECT_TRUE(q.has_question);
    EXPECT_STREQ(q.name, "web.socks.test");
    EXPECT_EQ(q.name_len, 14u);
    EXPECT_EQ(q.qtype, kDnsTypeA);
    EXPECT_EQ(q.qclass, kDnsClassIn);
}

TEST(DnsMessage, EveryPrefixOfTheQuestionIsMalformed) {
    // A datagram is whole: a cut anywhere before the question's end is an error, never
    // a read past the given length (ASan would see it).
    for (size_t cut = 0; cut < 32; ++cut) {
        std::vector<uint8_t> part(kDigQuery.begin(), kDigQuery.begin() + cut);
        DnsQuery q;
        Result r = decode(part, q);
        EXPECT_EQ(r.status, Status::kMalformed) << cut;
        EXPECT_EQ(r.consumed, 0u);
        EXPECT_FALSE(q.has_question);
        if (cut >= kDnsHeaderSize) {
            EXPECT_EQ(q.id, 0x5a3c) << cut;
        }
    }
    for (size_t cut = 32; cut <= kDigQuery.size(); ++cut) {
        std::vector<uint8_t> part(kDigQuery.begin(), kDigQuery.begin() + cut);
        DnsQuery q;
        EXPECT_EQ(decode(part, q).status, Status::kDone) << cut;
    }
}

TEST(DnsMessage, KeepsCaseAndRoot) {
    DnsQuery q;
    ASSERT_EQ(decode(query({2, 'W', 'e', 3, 'T', 'S', 't', 0}), q).status, Status::kDone);
    EXPECT_STREQ(q.name, "We.TSt");
    ASSERT_EQ(decode(query({0}, kDnsTypeAaaa), q).status, Status::kDone);
    EXPECT_STREQ(q.name, "");
    EXPECT_EQ(q.qtype, kDnsTypeAaaa);
}

TEST(DnsMessage, RejectsHeadersThatAreNotOneQuery) {
    DnsQuery q;
    auto m = query({1, 'a', 0});
    m[2] |= 0x80;  // a response
    EXPECT_EQ(decode(m, q).status, Status::kMalformed);
    EXPECT_EQ(q.id, 0x1234);
    m = query({1, 'a', 0});
    m[2] |= 0x28;  // opcode 5 (UPDATE)
    EXPECT_EQ(decode(m, q).status, Status::kMalformed);
    for (int field : {4, 6, 8}) {
        m = query({1, 'a', 0});
        m[field + 1] = field == 4 ? 2 : 1;
        EXPECT_EQ(decode(m, q).status, Status::kMalformed) << field;
    }
    m = query({1, 'a', 0});
    m[5] = 0;  // no question
    EXPECT_EQ(decode(m, q).status, Status::kMalformed);
}

TEST(DnsMessage, RejectsBadLabels) {
    DnsQuery q;
    for (int bad : {0x00, 0x20, 0x7f, 0x80, 0xff, int{'.'}}) {
        EXPECT_EQ(decode(query({3, 'a', static_cast<uint8_t>(bad), 'b', 0}), q).status,
                  Status::kMalformed)
            << bad;
    }
    EXPECT_EQ(decode(query({0x40, 0}), q).status, Status::kMalformed);  // extended type
    EXPECT_EQ(decode(query({0x80, 0}), q).status, Status::kMalformed);
    EXPECT_EQ(decode(query({5, 'a', 'b', 0}), q).status, Status::kMalformed);  // past end
}

TEST(DnsMessage, NameLengthLimit) {
    // 255 wire bytes: 3 labels of 63 and one of 61 → 253 characters.
    std::vector<uint8_t> name;
    for (int l : {63, 63, 63, 61}) {
        name.push_back(static_cast<uint8_t>(l));
        name.insert(name.end(), static_cast<size_t>(l), 'x');
    }
    name.push_back(0);
    DnsQuery q;
    ASSERT_EQ(decode(query(name), q).status, Status::kDone);
    EXPECT_EQ(q.name_len, kDnsMaxName);
    name[name.size() - 63] = 'x';  // no effect on length
    name.insert(name.end() - 1, {1, 'y'});
    EXPECT_EQ(decode(query(name), q).status, Status::kMalformed);
}

TEST(DnsMessage, CompressionPointers) {
    // The question starts right after the header, so nothing earlier can be a name: a
    // pointer there is always malformed (RFC 1035 §4.1.4: it names a prior
    // occurrence), which is what makes loops impossible.
    DnsQuery q;
    EXPECT_EQ(decode(query({0xc0, 12}), q).status, Status::kMalformed);          // to itself
    EXPECT_EQ(decode(query({0xc0, 2}), q).status, Status::kMalformed);           // into the header
    EXPECT_EQ(decode(query({0xc0, 40}), q).status, Status::kMalformed);          // forward
    EXPECT_EQ(decode(query({0xc0}), q).status, Status::kMalformed);              // cut
    EXPECT_EQ(decode(query({1, 'a', 0xc0, 12}), q).status, Status::kMalformed);  // loop
    EXPECT_EQ(decode(query({1, 'a', 1, 'b', 0xc0, 14}), q).status, Status::kMalformed);
    EXPECT_EQ(decode(query({1, 'a', 0xff, 0xff}), q).status, Status::kMalformed);
}

TEST(DnsMessage, EncodesAnAnswer) {
    DnsQuery q;
    ASSERT_EQ(decode(kDigQuery, q).status, Status::kDone);
    const uint8_t addr[4] = {198, 18, 0, 7};
    uint8_t out[kDnsMaxAnswer];
    size_t n = encode_dns_answer(Out(out), q, DnsRcode::kNoError, addr, 4, 1, 60);
    const std::vector<uint8_t> want = {
        0x5a, 0x3c, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,  // header
        0x03, 'w',  'e',  'b',  0x05, 's',  'o',  'c',  'k',  's',  0x04, 't',  'e', 's', 't', 0x00,
        0x00, 0x01, 0x00, 0x01,  // question
        0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, 198, 18,  0,   7};
    ASSERT_EQ(n, want.size());
    EXPECT_EQ(std::vector<uint8_t>(out, out + n), want);
    // One byte short of the answer: nothing written is claimed.
    EXPECT_EQ(encode_dns_answer(Out(out, n - 1), q, DnsRcode::kNoError, addr, 4, 1, 60), 0u);
}

TEST(DnsMessage, EncodesAaaaErrorsAndNoData) {
    DnsQuery q;
    ASSERT_EQ(decode(query({1, 'h', 0}, kDnsTypeAaaa), q).status, Status::kDone);
    uint8_t six[32] = {};
    six[0] = 0xfc;
    six[16] = 0xfd;
    uint8_t out[kDnsMaxAnswer];
    size_t n = encode_dns_answer(Out(out), q, DnsRcode::kNoError, six, 16, 2, 1);
    ASSERT_EQ(n, 12u + 3 + 4 + 2 * 28);
    EXPECT_EQ(out[7], 2);
    EXPECT_EQ(out[12 + 7 + 2 + 1], kDnsTypeAaaa);
    EXPECT_EQ(out[12 + 7 + 12], 0xfc);
    EXPECT_EQ(out[12 + 7 + 28 + 12], 0xfd);
    n = encode_dns_answer(Out(out), q, DnsRcode::kRefused, nullptr, 0, 0, 0);
    ASSERT_EQ(n, 12u + 7);
    EXPECT_EQ(out[3] & 0x0f, 5);
    EXPECT_EQ(out[7], 0);
    // Without a question (the query was malformed): a bare header.
    DnsQuery bad;
    auto m = query({5, 'a', 0});
    ASSERT_EQ(decode(m, bad).status, Status::kMalformed);
    n = encode_dns_answer(Out(out), bad, DnsRcode::kFormErr, nullptr, 0, 0, 0);
    ASSERT_EQ(n, 12u);
    EXPECT_EQ(out[0], 0x12);
    EXPECT_EQ(out[2], 0x81);  // QR and RD
    EXPECT_EQ(out[3], 0x81);  // RA, FORMERR
    EXPECT_EQ(out[5], 0);
    // Invalid arguments.
    EXPECT_EQ(encode_dns_answer(Out(out), q, DnsRcode::kNoError, six, 5, 1, 0), 0u);
    EXPECT_EQ(encode_dns_answer(Out(out), q, DnsRcode::kNoError, six, 16, kDnsMaxAnswers + 1, 0),
              0u);
}

TEST(DnsMessage, AnswerRoundTripsTheQuestionAtEverySplit) {
    // Re-decoding the answer's question (as a query again) gives the same name.
    DnsQuery q;
    ASSERT_EQ(decode(kDigQuery, q).status, Status::kDone);
    uint8_t out[kDnsMaxAnswer];
    size_t n = encode_dns_answer(Out(out), q, DnsRcode::kNoError, nullptr, 0, 0, 0);
    for (size_t cap = 0; cap < n; ++cap)
        EXPECT_EQ(encode_dns_answer(Out(out, cap), q, DnsRcode::kNoError, nullptr, 0, 0, 0), 0u);
    ASSERT_EQ(encode_dns_answer(Out(out, n), q, DnsRcode::kNoError, nullptr, 0, 0, 0), n);
    out[2] &= 0x7f;  // make it a query again
    DnsQuery again;
    ASSERT_EQ(decode_dns_query(Bytes(out, n), again).status, Status::kDone);
    EXPECT_STREQ(again.name, q.name);
}
