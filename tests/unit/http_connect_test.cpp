// HTTP CONNECT codec: the request byte for byte, Basic credentials, and response heads
// whole, split at every byte and followed by tunnelled bytes that must not be taken.
#include "protocol/http_connect.hpp"

#include <gtest/gtest.h>

#include <string>

namespace socksify::proto::http {
namespace {

std::string encode(const ConnectRequest& m) {
    uint8_t buf[kMaxRequest];
    size_t n = encode_connect(buf, m);
    return std::string(reinterpret_cast<char*>(buf), n);
}

Bytes bytes(std::string_view s) {
    return Bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST(HttpConnect, RequestByName) {
    EXPECT_EQ(encode({"web.socks.test", 80, "", ""}),
              "CONNECT web.socks.test:80 HTTP/1.1\r\nHost: web.socks.test:80\r\n\r\n");
}

TEST(HttpConnect, Ipv6IsBracketed) {
    EXPECT_EQ(encode({"2001:db8:2::10", 7, "", ""}),
              "CONNECT [2001:db8:2::10]:7 HTTP/1.1\r\nHost: [2001:db8:2::10]:7\r\n\r\n");
}

TEST(HttpConnect, BasicCredentials) {
    // RFC 7617 §2's example: Aladdin / open sesame.
    EXPECT_EQ(encode({"h", 443, "Aladdin", "open sesame"}),
              "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n"
              "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n");
}

TEST(HttpConnect, Base64Vectors) {
    // RFC 4648 §10.
    const char* in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char* want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; ++i) {
        uint8_t out[16];
        size_t n = base64(bytes(in[i]), out);
        EXPECT_EQ(std::string(reinterpret_cast<char*>(out), n), want[i]);
    }
}

TEST(HttpConnect, RefusesWhatWouldBreakTheRequest) {
    uint8_t buf[kMaxRequest];
    for (const char* host : {"a b", "a\r\nX: y", "a\nb", ""}) {
        EXPECT_EQ(encode_connect(buf, {host, 80, "", ""}), 0u) << host;
    }
    EXPECT_EQ(encode_connect(buf, {std::string_view("a\0b", 3), 80, "", ""}), 0u);
    EXPECT_EQ(encode_connect(buf, {"h", 80, "us:er", "p"}), 0u);  // Basic forbids ':'
    EXPECT_EQ(encode_connect(buf, {"h", 80, "u", "p\r\nX: y"}), 0u);
    std::string full = encode({"h", 80, "u", "p"});
    for (size_t n = 0; n < full.size(); ++n)
        EXPECT_EQ(encode_connect({buf, n}, {"h", 80, "u", "p"}), 0u);
    std::string max(255, 'x');
    EXPECT_GT(encode_connect(buf, {max, 65535, max, max}), 0u);  // kMaxRequest suffices
}

TEST(HttpConnect, ResponseSplitAtEveryByteAndFollowedByTunnel) {
    for (std::string head :
         {"HTTP/1.1 200 Connection established\r\n\r\n",
          "HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n",
          "HTTP/1.1 200\n\n", "HTTP/1.1 204 \r\nA: b\r\n\r\n"}) {
        std::string all = head + "SSH-2.0-tunnelled\r\n\r\n";
        for (size_t n = 0; n <= all.size(); ++n) {
            Response r;
            Result res = decode_response(bytes(std::string_view(all).substr(0, n)), r);
            if (n < head.size()) {
                EXPECT_EQ(res, (Result{Status::kNeedMore, 0})) << head << n;
            } else {
                EXPECT_EQ(res, (Result{Status::kDone, head.size()})) << head << n;
                EXPECT_EQ(status_errno(r.status), 0);
            }
        }
    }
}

TEST(HttpConnect, StatusAndReason) {
    Response r;
    ASSERT_EQ(decode_response(bytes("HTTP/1.1 407 Proxy Authentication Required\r\n"
                                    "Proxy-Authenticate: Basic realm=\"squid\"\r\n\r\n"),
                              r)
                  .status,
              Status::kDone);
    EXPECT_EQ(r.status, 407);
    EXPECT_EQ(r.reason, "Proxy Authentication Required");
    EXPECT_EQ(status_errno(r.status), EACCES);
}

TEST(HttpConnect, MalformedHeads) {
    for (const char* bad :
         {"HTTP/2 200 OK\r\n\r\n", "http/1.1 200 OK\r\n\r\n", "SSH-2.0\r\n\r\n",
          "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 20x OK\r\n\r\n", "HTTP/1.1 099 OK\r\n\r\n",
          "HTTP/1.1 600 OK\r\n\r\n", "HTTP/1.1  200\r\n\r\n", "\x05\x00"}) {
        Response r;
        EXPECT_EQ(decode_response(bytes(bad), r).status, Status::kMalformed) << bad;
    }
    // No blank line within the limit: refused, not waited for forever.
    std::string endless = "HTTP/1.1 200 OK\r\n" + std::string(kMaxResponseHead, 'x');
    Response r;
    EXPECT_EQ(decode_response(bytes(endless), r).status, Status::kMalformed);
}

TEST(HttpConnect, ErrnoTable) {
    for (int s = 100; s < 600; ++s) {
        int want = s >= 200 && s < 300    ? 0
                   : s == 403 || s == 407 ? EACCES
                   : s == 404 || s == 410 ? EHOSTUNREACH
                   : s == 502             ? ECONNREFUSED
                   : s == 503             ? ENETUNREACH
                   : s == 504             ? ETIMEDOUT
                                          : ECONNABORTED;
        EXPECT_EQ(status_errno(s), want) << s;
    }
}

}  // namespace
}  // namespace socksify::proto::http
