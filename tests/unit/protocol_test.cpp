// The SOCKS5 codec against every message of RFC 1928 §3–7 and RFC 1929: each vector fed
// whole, cut at every byte, followed by the next message, and re-encoded.
#include <gtest/gtest.h>

#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/address.hpp"
#include "protocol/messages.hpp"
#include "protocol/wire.hpp"

namespace socksify::proto {

// Found by argument-dependent lookup, so it lives in Result's namespace.
void PrintTo(Result r, std::ostream* os) {
    static constexpr const char* kNames[] = {"kDone", "kNeedMore", "kMalformed"};
    *os << "{" << kNames[static_cast<int>(r.status)] << ", " << r.consumed << "}";
}

namespace {

using Buf = std::vector<uint8_t>;

Buf cat(std::initializer_list<Buf> parts) {
    Buf out;
    for (const Buf& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

Buf repeat(uint8_t byte, size_t n) { return Buf(n, byte); }

Buf text(std::string_view s) { return Buf(s.begin(), s.end()); }

constexpr Result kNeedMore{Status::kNeedMore, 0};
constexpr Result kMalformed{Status::kMalformed, 0};
Result done(size_t n) { return {Status::kDone, n}; }

bool points_into(std::string_view field, const Buf& in) {
    auto* p = reinterpret_cast<const uint8_t*>(field.data());
    return p >= in.data() && p + field.size() <= in.data() + in.size();
}

// One decoder/encoder pair, type-erased so the same property tests cover every message.
struct Codec {
    Result (*decode)(Bytes in);
    // Decodes in and, when complete, encodes the message into out; returns bytes written.
    size_t (*reencode)(Bytes in, Out out);
};

template <typename M, Result (*Decode)(Bytes, M&), size_t (*Encode)(Out, const M&)>
constexpr Codec make_codec() {
    return {[](Bytes in) {
                M m;
                return Decode(in, m);
            },
            [](Bytes in, Out out) -> size_t {
                M m;
                return Decode(in, m).status == Status::kDone ? Encode(out, m) : 0;
            }};
}

constexpr Codec kGreetingCodec = make_codec<Greeting, decode_greeting, encode_greeting>();
constexpr Codec kMethodCodec =
    make_codec<MethodSelection, decode_method_selection, encode_method_selection>();
constexpr Codec kUserPassCodec =
    make_codec<UserPassRequest, decode_userpass_request, encode_userpass_request>();
constexpr Codec kUserPassStatusCodec =
    make_codec<UserPassStatus, decode_userpass_status, encode_userpass_status>();
constexpr Codec kRequestCodec = make_codec<Request, decode_request, encode_request>();
constexpr Codec kReplyCodec = make_codec<ReplyMessage, decode_reply, encode_reply>();
constexpr Codec kUdpCodec = make_codec<UdpHeader, decode_udp_header, encode_udp_header>();
constexpr Codec kAddressCodec = make_codec<Address, decode_address, encode_address>();

// Wire pieces reused below: 192.0.2.10, 2001:db8::1, "example.com".
const Buf kIpv4 = {0x01, 192, 0, 2, 10};
const Buf kIpv6 = {0x04, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
const Buf kDomain = cat({{0x03, 11}, text("example.com")});
const Buf kDomain1 = {0x03, 1, 'a'};
const Buf kDomain255 = cat({{0x03, 255}, repeat('d', 255)});
const Buf kPort80 = {0x00, 0x50};
const Buf kPort443 = {0x01, 0xBB};
const Buf kPort53 = {0x00, 0x35};

// What follows each message on the wire in a pipelined exchange.
const Buf kNextRequest = cat({{0x05, 0x01, 0x00}, kDomain, kPort443});
const Buf kNextReply = cat({{0x05, 0x00, 0x00}, kIpv4, {0x04, 0x38}});
const Buf kClientData = text("GET / HTTP/1.1\r\n");
const Buf kServerData = text("HTTP/1.1 200 OK\r\n");
const Buf kDnsPayload = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01};

struct Vector {
    std::string name;
    const Codec* codec;
    Buf bytes;
    Buf next;  // the following message's bytes

    friend void PrintTo(const Vector& p, std::ostream* os) { *os << p.name; }
};

std::vector<Vector> vectors() {
    std::vector<Vector> v = {
        // RFC 1928 §3 greeting.
        {"GreetingNoAuth", &kGreetingCodec, {0x05, 0x01, 0x00}, kNextRequest},
        {"GreetingNoAuthUserPass", &kGreetingCodec, {0x05, 0x02, 0x00, 0x02}, kNextRequest},
        {"GreetingThreeMethods", &kGreetingCodec, {0x05, 0x03, 0x00, 0x01, 0x02}, kNextRequest},
        {"GreetingUserPassThenAuth",
         &kGreetingCodec,
         {0x05, 0x01, 0x02},
         cat({{0x01, 0x01, 'u', 0x01, 'p'}, kNextRequest})},
        // §3 method selection; any METHOD byte is well-formed.
        {"MethodNoAuth", &kMethodCodec, {0x05, 0x00}, kNextReply},
        {"MethodGssapi", &kMethodCodec, {0x05, 0x01}, kNextReply},
        {"MethodUserPass", &kMethodCodec, {0x05, 0x02}, {0x01, 0x00}},
        {"MethodNoAcceptable", &kMethodCodec, {0x05, 0xFF}, {}},
        {"MethodPrivate", &kMethodCodec, {0x05, 0x80}, kNextReply},
        // RFC 1929 §2 request and status.
        {"UserPassShortest", &kUserPassCodec, {0x01, 0x01, 'u', 0x01, 'p'}, kNextRequest},
        {"UserPassTypical", &kUserPassCodec,
         cat({{0x01, 0x05}, text("alice"), {0x06}, text("s3cret")}), kNextRequest},
        {"UserPassLongest", &kUserPassCodec,
         cat({{0x01, 0xFF}, repeat('u', 255), {0xFF}, repeat('p', 255)}), kNextRequest},
        {"UserPassStatusSuccess", &kUserPassStatusCodec, {0x01, 0x00}, kNextReply},
        {"UserPassStatusFailure", &kUserPassStatusCodec, {0x01, 0x01}, {}},
        {"UserPassStatusFailureFF", &kUserPassStatusCodec, {0x01, 0xFF}, {}},
        // §4 request: all three commands, all three address types.
        {"ConnectIpv4", &kRequestCodec, cat({{0x05, 0x01, 0x00}, kIpv4, kPort80}), kClientData},
        {"ConnectIpv6", &kRequestCodec, cat({{0x05, 0x01, 0x00}, kIpv6, kPort443}), kClientData},
        {"ConnectDomain", &kRequestCodec, cat({{0x05, 0x01, 0x00}, kDomain, kPort443}),
         kClientData},
        {"ConnectDomainLength1", &kRequestCodec, cat({{0x05, 0x01, 0x00}, kDomain1, kPort80}),
         kClientData},
        {"ConnectDomainLength255", &kRequestCodec, cat({{0x05, 0x01, 0x00}, kDomain255, kPort80}),
         kClientData},
        {"BindIpv4", &kRequestCodec, cat({{0x05, 0x02, 0x00}, kIpv4, {0x00, 0x15}}), {}},
        {"BindDomain", &kRequestCodec, cat({{0x05, 0x02, 0x00}, kDomain, {0x00, 0x15}}), {}},
        {"UdpAssociateZero", &kRequestCodec, {0x05, 0x03, 0x00, 0x01, 0, 0, 0, 0, 0x00, 0x00}, {}},
        {"UdpAssociateIpv6", &kRequestCodec, cat({{0x05, 0x03, 0x00}, kIpv6, {0xC3, 0x50}}), {}},
        // §6 reply: every code, and every address type in BND.ADDR.
        {"ReplyDomainBound", &kReplyCodec, cat({{0x05, 0x00, 0x00}, kDomain, kPort80}),
         kServerData},
        {"ReplyDomainBoundLength1", &kReplyCodec, cat({{0x05, 0x00, 0x00}, kDomain1, kPort80}),
         kServerData},
        {"ReplyDomainBoundLength255", &kReplyCodec, cat({{0x05, 0x00, 0x00}, kDomain255, kPort80}),
         kServerData},
        {"ReplyIpv6Bound", &kReplyCodec, cat({{0x05, 0x00, 0x00}, kIpv6, {0x9C, 0x40}}),
         kServerData},
        {"ReplyUdpRelayZeroPort",
         &kReplyCodec,
         {0x05, 0x00, 0x00, 0x01, 127, 0, 0, 1, 0x00, 0x00},
         {}},
        // §7 UDP header.
        {"UdpIpv4", &kUdpCodec, cat({{0x00, 0x00, 0x00}, kIpv4, kPort53}), kDnsPayload},
        {"UdpIpv6", &kUdpCodec, cat({{0x00, 0x00, 0x00}, kIpv6, kPort53}), kDnsPayload},
        {"UdpDomain", &kUdpCodec, cat({{0x00, 0x00, 0x00}, kDomain, kPort53}), kDnsPayload},
        {"UdpDomainLength1", &kUdpCodec, cat({{0x00, 0x00, 0x00}, kDomain1, kPort53}), kDnsPayload},
        {"UdpDomainLength255", &kUdpCodec, cat({{0x00, 0x00, 0x00}, kDomain255, kPort53}),
         kDnsPayload},
        {"UdpFragment1", &kUdpCodec, cat({{0x00, 0x00, 0x01}, kIpv4, kPort53}), kDnsPayload},
        {"UdpFragmentLast", &kUdpCodec, cat({{0x00, 0x00, 0x82}, kIpv4, kPort53}), kDnsPayload},
        {"UdpNoPayload", &kUdpCodec, cat({{0x00, 0x00, 0x00}, kIpv4, kPort53}), {}},
        // §5 address on its own.
        {"AddressIpv4", &kAddressCodec, cat({kIpv4, kPort80}), kDnsPayload},
        {"AddressIpv6", &kAddressCodec, cat({kIpv6, kPort80}), kDnsPayload},
        {"AddressDomain", &kAddressCodec, cat({kDomain, kPort80}), kDnsPayload},
        {"AddressDomainLength1", &kAddressCodec, cat({kDomain1, {0xFF, 0xFF}}), kDnsPayload},
        {"AddressDomainLength255", &kAddressCodec, cat({kDomain255, kPort80}), kDnsPayload},
    };
    for (uint8_t rep = 0; rep <= 8; ++rep) {
        v.push_back({"ReplyCode" + std::to_string(rep) + "Ipv4", &kReplyCodec,
                     cat({{0x05, rep, 0x00}, kIpv4, {0x04, 0x38}}), kServerData});
    }
    return v;
}

class VectorTest : public testing::TestWithParam<Vector> {};

TEST_P(VectorTest, DecodesWhole) {
    const Vector& v = GetParam();
    EXPECT_EQ(v.codec->decode(v.bytes), done(v.bytes.size()));
}

TEST_P(VectorTest, EveryProperPrefixNeedsMore) {
    const Vector& v = GetParam();
    for (size_t len = 0; len < v.bytes.size(); ++len) {
        EXPECT_EQ(v.codec->decode(Bytes(v.bytes).first(len)), kNeedMore) << "prefix " << len;
    }
}

TEST_P(VectorTest, ConsumesOnlyItsOwnBytes) {
    const Vector& v = GetParam();
    Buf stream = cat({v.bytes, v.next});
    EXPECT_EQ(v.codec->decode(stream), done(v.bytes.size()));
}

TEST_P(VectorTest, ReencodesToSameBytes) {
    const Vector& v = GetParam();
    Buf out(kMaxUserPass + 16, 0xAA);
    size_t n = v.codec->reencode(v.bytes, out);
    out.resize(n);
    EXPECT_EQ(out, v.bytes);
}

TEST_P(VectorTest, EncodesIntoExactBuffer) {
    const Vector& v = GetParam();
    Buf out(v.bytes.size());
    EXPECT_EQ(v.codec->reencode(v.bytes, out), v.bytes.size());
    EXPECT_EQ(out, v.bytes);
}

TEST_P(VectorTest, EncoderRejectsBufferShortByOneWithoutWriting) {
    const Vector& v = GetParam();
    Buf out(v.bytes.size() - 1, 0xAA);
    EXPECT_EQ(v.codec->reencode(v.bytes, out), 0u);
    EXPECT_EQ(out, repeat(0xAA, out.size()));
    EXPECT_EQ(v.codec->reencode(v.bytes, Out()), 0u);
}

INSTANTIATE_TEST_SUITE_P(Rfc, VectorTest, testing::ValuesIn(vectors()),
                         [](const auto& info) { return info.param.name; });

// A message with one invalid field; bad_at is the index of the first invalid byte.
struct Invalid {
    std::string name;
    const Codec* codec;
    Buf bytes;
    size_t bad_at;

    friend void PrintTo(const Invalid& p, std::ostream* os) { *os << p.name; }
};

std::vector<Invalid> invalids() {
    return {
        {"GreetingVersion4", &kGreetingCodec, {0x04, 0x01, 0x00}, 0},
        {"GreetingVersion0", &kGreetingCodec, {0x00, 0x01, 0x00}, 0},
        {"GreetingNoMethods", &kGreetingCodec, {0x05, 0x00, 0x05, 0x01}, 1},
        {"MethodVersion4", &kMethodCodec, {0x04, 0x00}, 0},
        {"MethodVersion1", &kMethodCodec, {0x01, 0x00}, 0},
        {"UserPassVersion5", &kUserPassCodec, {0x05, 0x01, 'u', 0x01, 'p'}, 0},
        {"UserPassVersion0", &kUserPassCodec, {0x00, 0x01, 'u', 0x01, 'p'}, 0},
        {"UserPassEmptyUser", &kUserPassCodec, {0x01, 0x00, 0x01, 'p'}, 1},
        {"UserPassEmptyPass", &kUserPassCodec, {0x01, 0x01, 'u', 0x00}, 3},
        {"UserPassEmptyPassAfterLongUser", &kUserPassCodec,
         cat({{0x01, 0xFF}, repeat('u', 255), {0x00, 'p'}}), 257},
        {"UserPassStatusVersion5", &kUserPassStatusCodec, {0x05, 0x00}, 0},
        {"RequestVersion4", &kRequestCodec, cat({{0x04, 0x01, 0x00}, kIpv4, kPort80}), 0},
        {"RequestCommand0", &kRequestCodec, cat({{0x05, 0x00, 0x00}, kIpv4, kPort80}), 1},
        {"RequestCommand4", &kRequestCodec, cat({{0x05, 0x04, 0x00}, kIpv4, kPort80}), 1},
        {"RequestCommandFF", &kRequestCodec, cat({{0x05, 0xFF, 0x00}, kIpv4, kPort80}), 1},
        {"RequestReserved1", &kRequestCodec, cat({{0x05, 0x01, 0x01}, kIpv4, kPort80}), 2},
        {"RequestAddrType0", &kRequestCodec, {0x05, 0x01, 0x00, 0x00, 1, 2, 3, 4, 0, 80}, 3},
        {"RequestAddrType2", &kRequestCodec, {0x05, 0x01, 0x00, 0x02, 1, 2, 3, 4, 0, 80}, 3},
        {"RequestAddrType5", &kRequestCodec, {0x05, 0x01, 0x00, 0x05, 1, 2, 3, 4, 0, 80}, 3},
        {"RequestEmptyDomain", &kRequestCodec, {0x05, 0x01, 0x00, 0x03, 0x00, 0x00, 0x50}, 4},
        {"ReplyVersion4", &kReplyCodec, cat({{0x04, 0x00, 0x00}, kIpv4, kPort80}), 0},
        {"ReplyCode9", &kReplyCodec, cat({{0x05, 0x09, 0x00}, kIpv4, kPort80}), 1},
        {"ReplyCodeFF", &kReplyCodec, cat({{0x05, 0xFF, 0x00}, kIpv4, kPort80}), 1},
        {"ReplyReservedFF", &kReplyCodec, cat({{0x05, 0x00, 0xFF}, kIpv4, kPort80}), 2},
        {"ReplyAddrType2", &kReplyCodec, {0x05, 0x00, 0x00, 0x02, 1, 2, 3, 4, 0, 80}, 3},
        {"ReplyEmptyDomain", &kReplyCodec, {0x05, 0x00, 0x00, 0x03, 0x00, 0x00, 0x50}, 4},
        {"UdpReservedHigh", &kUdpCodec, cat({{0x01, 0x00, 0x00}, kIpv4, kPort53}), 0},
        {"UdpReservedLow", &kUdpCodec, cat({{0x00, 0x01, 0x00}, kIpv4, kPort53}), 1},
        {"UdpSocksVersionByte", &kUdpCodec, cat({{0x05, 0x00, 0x00}, kIpv4, kPort53}), 0},
        {"UdpAddrType0", &kUdpCodec, {0x00, 0x00, 0x00, 0x00, 1, 2, 3, 4, 0, 53}, 3},
        {"UdpEmptyDomain", &kUdpCodec, {0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x35}, 4},
        {"AddressType0", &kAddressCodec, {0x00, 1, 2, 3, 4, 0, 80}, 0},
        {"AddressTypeFF", &kAddressCodec, {0xFF, 1, 2, 3, 4, 0, 80}, 0},
        {"AddressEmptyDomain", &kAddressCodec, {0x03, 0x00, 0x00, 0x50}, 1},
    };
}

class InvalidTest : public testing::TestWithParam<Invalid> {};

TEST_P(InvalidTest, MalformedFromTheBadByteOn) {
    const Invalid& c = GetParam();
    for (size_t len = 0; len <= c.bytes.size(); ++len) {
        Result want = len <= c.bad_at ? kNeedMore : kMalformed;
        EXPECT_EQ(c.codec->decode(Bytes(c.bytes).first(len)), want) << "prefix " << len;
    }
}

TEST_P(InvalidTest, ReencodeGivesNothing) {
    const Invalid& c = GetParam();
    Buf out(kMaxUserPass);
    EXPECT_EQ(c.codec->reencode(c.bytes, out), 0u);
}

INSTANTIATE_TEST_SUITE_P(Rfc, InvalidTest, testing::ValuesIn(invalids()),
                         [](const auto& info) { return info.param.name; });

// Every value 0..255 of one field, put after a valid prefix: malformed exactly when the
// RFC forbids the value, decided on that byte alone.
struct Field {
    std::string name;
    const Codec* codec;
    Buf prefix;
    bool (*valid)(uint8_t);

    friend void PrintTo(const Field& p, std::ostream* os) { *os << p.name; }
};

bool any(uint8_t) { return true; }
bool socks_version(uint8_t v) { return v == 5; }
bool userpass_version(uint8_t v) { return v == 1; }
bool non_zero(uint8_t v) { return v != 0; }
bool zero(uint8_t v) { return v == 0; }
bool command(uint8_t v) { return v >= 1 && v <= 3; }
bool reply_code(uint8_t v) { return v <= 8; }
bool addr_type(uint8_t v) { return v == 1 || v == 3 || v == 4; }

std::vector<Field> fields() {
    return {
        {"GreetingVer", &kGreetingCodec, {}, socks_version},
        {"GreetingNmethods", &kGreetingCodec, {0x05}, non_zero},
        {"GreetingMethod", &kGreetingCodec, {0x05, 0x01}, any},
        {"MethodVer", &kMethodCodec, {}, socks_version},
        {"MethodMethod", &kMethodCodec, {0x05}, any},
        {"UserPassVer", &kUserPassCodec, {}, userpass_version},
        {"UserPassUlen", &kUserPassCodec, {0x01}, non_zero},
        {"UserPassUname", &kUserPassCodec, {0x01, 0x01}, any},
        {"UserPassPlen", &kUserPassCodec, {0x01, 0x01, 'u'}, non_zero},
        {"UserPassPasswd", &kUserPassCodec, {0x01, 0x01, 'u', 0x01}, any},
        {"UserPassStatusVer", &kUserPassStatusCodec, {}, userpass_version},
        {"UserPassStatusStatus", &kUserPassStatusCodec, {0x01}, any},
        {"RequestVer", &kRequestCodec, {}, socks_version},
        {"RequestCmd", &kRequestCodec, {0x05}, command},
        {"RequestRsv", &kRequestCodec, {0x05, 0x01}, zero},
        {"RequestAtyp", &kRequestCodec, {0x05, 0x01, 0x00}, addr_type},
        {"RequestDomainLen", &kRequestCodec, {0x05, 0x01, 0x00, 0x03}, non_zero},
        {"RequestPort", &kRequestCodec, cat({{0x05, 0x01, 0x00}, kIpv4, {0x00}}), any},
        {"ReplyVer", &kReplyCodec, {}, socks_version},
        {"ReplyRep", &kReplyCodec, {0x05}, reply_code},
        {"ReplyRsv", &kReplyCodec, {0x05, 0x00}, zero},
        {"ReplyAtyp", &kReplyCodec, {0x05, 0x00, 0x00}, addr_type},
        {"ReplyDomainLen", &kReplyCodec, {0x05, 0x00, 0x00, 0x03}, non_zero},
        {"UdpRsvHigh", &kUdpCodec, {}, zero},
        {"UdpRsvLow", &kUdpCodec, {0x00}, zero},
        {"UdpFrag", &kUdpCodec, {0x00, 0x00}, any},
        {"UdpAtyp", &kUdpCodec, {0x00, 0x00, 0x00}, addr_type},
        {"UdpDomainLen", &kUdpCodec, {0x00, 0x00, 0x00, 0x03}, non_zero},
        {"AddressAtyp", &kAddressCodec, {}, addr_type},
        {"AddressDomainLen", &kAddressCodec, {0x03}, non_zero},
        {"AddressDomainByte", &kAddressCodec, {0x03, 0x01}, any},
    };
}

class FieldTest : public testing::TestWithParam<Field> {};

TEST_P(FieldTest, MalformedExactlyForForbiddenValues) {
    const Field& f = GetParam();
    for (int v = 0; v <= 255; ++v) {
        Buf in = cat({f.prefix, {static_cast<uint8_t>(v)}});
        Status got = f.codec->decode(in).status;
        if (f.valid(static_cast<uint8_t>(v))) {
            EXPECT_NE(got, Status::kMalformed) << "value " << v;
        } else {
            EXPECT_EQ(got, Status::kMalformed) << "value " << v;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Rfc, FieldTest, testing::ValuesIn(fields()),
                         [](const auto& info) { return info.param.name; });

// Decoded fields: values, byte order, and views into the input.

TEST(GreetingTest, MethodsPointIntoInput) {
    Buf in = {0x05, 0x03, 0x00, 0x01, 0x02};
    Greeting g;
    ASSERT_EQ(decode_greeting(in, g), done(5));
    EXPECT_EQ(g.methods.data(), in.data() + 2);
    EXPECT_EQ(g.methods.size(), 3u);
}

TEST(MethodSelectionTest, DecodesMethod) {
    MethodSelection m;
    ASSERT_EQ(decode_method_selection(Buf{0x05, 0x02}, m), done(2));
    EXPECT_EQ(m.method, Method::kUserPass);
    ASSERT_EQ(decode_method_selection(Buf{0x05, 0xFF}, m), done(2));
    EXPECT_EQ(m.method, Method::kNoAcceptable);
}

TEST(UserPassTest, FieldsPointIntoInput) {
    Buf in = cat({{0x01, 0x05}, text("alice"), {0x06}, text("s3cret")});
    UserPassRequest r;
    ASSERT_EQ(decode_userpass_request(in, r), done(in.size()));
    EXPECT_EQ(r.user, "alice");
    EXPECT_EQ(r.pass, "s3cret");
    EXPECT_TRUE(points_into(r.user, in));
    EXPECT_TRUE(points_into(r.pass, in));
}

TEST(UserPassTest, StatusKeepsAnyValue) {
    UserPassStatus s;
    ASSERT_EQ(decode_userpass_status(Buf{0x01, 0x7F}, s), done(2));
    EXPECT_EQ(s.status, 0x7F);
}

TEST(RequestTest, DecodesConnectIpv4) {
    Buf in = {0x05, 0x01, 0x00, 0x01, 192, 0, 2, 10, 0x01, 0xBB};
    Request r;
    ASSERT_EQ(decode_request(in, r), done(10));
    EXPECT_EQ(r.command, Command::kConnect);
    EXPECT_EQ(r.address.type, AddrType::kIpv4);
    EXPECT_EQ(r.address.ip[0], 192);
    EXPECT_EQ(r.address.ip[3], 10);
    EXPECT_EQ(r.address.port, 443);
}

TEST(RequestTest, DecodesUdpAssociateIpv6) {
    Buf in = cat({{0x05, 0x03, 0x00}, kIpv6, {0xC3, 0x50}});
    Request r;
    ASSERT_EQ(decode_request(in, r), done(in.size()));
    EXPECT_EQ(r.command, Command::kUdpAssociate);
    EXPECT_EQ(r.address.type, AddrType::kIpv6);
    EXPECT_EQ(0, std::memcmp(r.address.ip.data(), kIpv6.data() + 1, 16));
    EXPECT_EQ(r.address.port, 50000);
}

TEST(RequestTest, EncodesBindDomain) {
    Request r;
    r.command = Command::kBind;
    r.address.type = AddrType::kDomain;
    r.address.domain = "example.com";
    r.address.port = 21;
    uint8_t out[kMaxRequest];
    size_t n = encode_request(out, r);
    EXPECT_EQ(Buf(out, out + n), cat({{0x05, 0x02, 0x00}, kDomain, {0x00, 0x15}}));
}

TEST(ReplyTest, DomainBoundPointsIntoInput) {
    Buf in = cat({{0x05, 0x00, 0x00}, kDomain, kPort80});
    ReplyMessage m;
    ASSERT_EQ(decode_reply(in, m), done(in.size()));
    EXPECT_EQ(m.reply, Reply::kSucceeded);
    EXPECT_EQ(m.bound.type, AddrType::kDomain);
    EXPECT_EQ(m.bound.domain, "example.com");
    EXPECT_TRUE(points_into(m.bound.domain, in));
    EXPECT_EQ(m.bound.port, 80);
}

TEST(ReplyTest, DecodesEveryCode) {
    for (uint8_t rep = 0; rep <= 8; ++rep) {
        Buf in = cat({{0x05, rep, 0x00}, kIpv4, kPort80});
        ReplyMessage m;
        ASSERT_EQ(decode_reply(in, m), done(in.size()));
        EXPECT_EQ(static_cast<uint8_t>(m.reply), rep);
    }
}

TEST(UdpHeaderTest, PayloadFollowsHeader) {
    Buf in = cat({{0x00, 0x00, 0x00}, kDomain, kPort53, kDnsPayload});
    UdpHeader h;
    Result r = decode_udp_header(in, h);
    ASSERT_EQ(r.status, Status::kDone);
    EXPECT_EQ(h.frag, 0);
    EXPECT_EQ(h.address.domain, "example.com");
    EXPECT_TRUE(points_into(h.address.domain, in));
    EXPECT_EQ(h.address.port, 53);
    EXPECT_EQ(Buf(in.begin() + r.consumed, in.end()), kDnsPayload);
}

TEST(UdpHeaderTest, KeepsFrag) {
    UdpHeader h;
    ASSERT_EQ(decode_udp_header(cat({{0x00, 0x00, 0x81}, kIpv4, kPort53}), h), done(10));
    EXPECT_EQ(h.frag, 0x81);
}

TEST(AddressTest, PortIsBigEndian) {
    Address a;
    ASSERT_EQ(decode_address(Buf{0x01, 10, 0, 0, 1, 0x12, 0x34}, a), done(7));
    EXPECT_EQ(a.port, 0x1234);
    a.port = 0xABCD;
    uint8_t out[kMaxAddress];
    ASSERT_EQ(encode_address(out, a), 7u);
    EXPECT_EQ(out[5], 0xAB);
    EXPECT_EQ(out[6], 0xCD);
}

TEST(AddressTest, DomainMayHoldAnyByte) {
    Buf in = {0x03, 0x03, 0x00, 0xFF, '.', 0x00, 0x50};
    Address a;
    ASSERT_EQ(decode_address(in, a), done(7));
    EXPECT_EQ(a.domain, std::string_view("\0\xFF.", 3));
}

TEST(DecoderTest, LeavesOutputAloneUnlessDone) {
    Request r;
    r.address.port = 1234;
    Buf in = cat({{0x05, 0x01, 0x00}, kIpv4, kPort80});
    EXPECT_EQ(decode_request(Bytes(in).first(in.size() - 1), r), kNeedMore);
    EXPECT_EQ(r.address.port, 1234);
    in[3] = 0x02;
    EXPECT_EQ(decode_request(in, r), kMalformed);
    EXPECT_EQ(r.address.port, 1234);
}

// Encoders: sizes and invalid fields.

Address domain_address(std::string_view name) {
    Address a;
    a.type = AddrType::kDomain;
    a.domain = name;
    a.port = 80;
    return a;
}

TEST(AddressTest, SizeByType) {
    Address a;
    EXPECT_EQ(address_size(a), 7u);
    a.type = AddrType::kIpv6;
    EXPECT_EQ(address_size(a), 19u);
    std::string d255(255, 'd');
    EXPECT_EQ(address_size(domain_address("a")), 5u);
    EXPECT_EQ(address_size(domain_address(d255)), kMaxAddress);
}

TEST(AddressTest, EncoderRejectsInvalid) {
    std::string d256(256, 'd');
    uint8_t out[kMaxAddress + 8];
    for (const Address& a : {domain_address(""), domain_address(d256)}) {
        EXPECT_EQ(address_size(a), 0u);
        EXPECT_EQ(encode_address(out, a), 0u);
    }
    for (uint8_t type : {0, 2, 5, 255}) {
        Address a;
        a.type = static_cast<AddrType>(type);
        EXPECT_EQ(address_size(a), 0u) << int{type};
        EXPECT_EQ(encode_address(out, a), 0u) << int{type};
    }
}

TEST(GreetingTest, EncoderRejectsInvalid) {
    uint8_t out[kMaxGreeting + 8];
    EXPECT_EQ(encode_greeting(out, Greeting{}), 0u);
    Buf methods(256, 0x00);
    EXPECT_EQ(encode_greeting(out, Greeting{methods}), 0u);
    EXPECT_EQ(encode_greeting(out, Greeting{Bytes(methods).first(255)}), kMaxGreeting);
}

TEST(UserPassTest, EncoderRejectsInvalid) {
    std::string s255(255, 's');
    std::string s256(256, 's');
    uint8_t out[kMaxUserPass + 8];
    EXPECT_EQ(encode_userpass_request(out, {"", "p"}), 0u);
    EXPECT_EQ(encode_userpass_request(out, {"u", ""}), 0u);
    EXPECT_EQ(encode_userpass_request(out, {s256, "p"}), 0u);
    EXPECT_EQ(encode_userpass_request(out, {"u", s256}), 0u);
    EXPECT_EQ(encode_userpass_request(out, {s255, s255}), kMaxUserPass);
}

TEST(RequestTest, EncoderRejectsInvalid) {
    uint8_t out[kMaxRequest + 8];
    for (uint8_t cmd : {0, 4, 255}) {
        Request r;
        r.command = static_cast<Command>(cmd);
        EXPECT_EQ(encode_request(out, r), 0u) << int{cmd};
    }
    Request r;
    r.address = domain_address("");
    EXPECT_EQ(encode_request(out, r), 0u);
    r.address.type = static_cast<AddrType>(2);
    EXPECT_EQ(encode_request(out, r), 0u);
}

TEST(ReplyTest, EncoderRejectsInvalid) {
    uint8_t out[kMaxRequest + 8];
    for (uint8_t rep : {9, 128, 255}) {
        ReplyMessage m;
        m.reply = static_cast<Reply>(rep);
        EXPECT_EQ(encode_reply(out, m), 0u) << int{rep};
    }
    std::string d256(256, 'd');
    ReplyMessage m;
    m.bound = domain_address(d256);
    EXPECT_EQ(encode_reply(out, m), 0u);
}

TEST(UdpHeaderTest, EncoderRejectsInvalid) {
    uint8_t out[kMaxUdpHeader + 8];
    UdpHeader h;
    h.address = domain_address("");
    EXPECT_EQ(encode_udp_header(out, h), 0u);
    h.address.type = static_cast<AddrType>(0);
    EXPECT_EQ(encode_udp_header(out, h), 0u);
    std::string d255(255, 'd');
    h.address = domain_address(d255);
    EXPECT_EQ(encode_udp_header(out, h), kMaxUdpHeader);
}

}  // namespace
}  // namespace socksify::proto

namespace socksify::proto {
namespace {

// Every ATYP byte: the three RFC 1928 defines give the rest of the reply, every other
// one 0 (the reader then refuses the reply instead of guessing a length).
TEST(ReplyLengthTest, EveryAddressType) {
    for (int atyp = 0; atyp < 256; ++atyp) {
        for (int first : {0, 1, 255}) {
            uint8_t prefix[kReplyPrefix] = {5, 0, 0, static_cast<uint8_t>(atyp),
                                            static_cast<uint8_t>(first)};
            size_t want = atyp == 1 ? 5 : atyp == 4 ? 17 : atyp == 3 ? size_t(first) + 2 : 0;
            EXPECT_EQ(reply_rest(prefix), want) << atyp << " " << first;
        }
    }
}

}  // namespace
}  // namespace socksify::proto
