// answer_dns_query: the answer a DNS stub gets at the nameserver's port 53 is what
// getaddrinfo gives (fake addresses), other types are refused, malformed queries get
// FORMERR and non-queries nothing. Configuration from the environment, as in
// resolver_test.cpp.
#include "shim/dns/dns_intercept.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "protocol/dns_message.hpp"
#include "shim/dns/resolver.hpp"
#include "shim/init.hpp"
#include "shim/shared_state.hpp"

namespace socksify::shim {
namespace {

class DnsInterceptTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        // The binary runs with the variables set at its start (resolver_test.cpp starts
        // it again so), and the library makes the run's state itself.
        setenv("SOCKSIFY_PROXY", "socks5h://198.51.100.1:1080", 0);
        setenv("SOCKSIFY_LOG", "quiet", 0);
        ensure_ready();
        ASSERT_TRUE(config().valid) << config().error;
    }

    static std::vector<uint8_t> query(const char* name, uint16_t type, uint16_t flags = 0x0100) {
        std::vector<uint8_t> m = {0xab,
                                  0xcd,
                                  static_cast<uint8_t>(flags >> 8),
                                  static_cast<uint8_t>(flags),
                                  0,
                                  1,
                                  0,
                                  0,
                                  0,
                                  0,
                                  0,
                                  0};
        for (const char* p = name; *p != '\0';) {
            const char* dot = strchr(p, '.');
            size_t len = dot != nullptr ? static_cast<size_t>(dot - p) : strlen(p);
            m.push_back(static_cast<uint8_t>(len));
            m.insert(m.end(), p, p + len);
            p += len + (dot != nullptr ? 1 : 0);
        }
        m.insert(m.end(), {0, static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type), 0, 1});
        return m;
    }

    static std::vector<uint8_t> answer(const std::vector<uint8_t>& q) {
        uint8_t out[proto::kDnsMaxAnswer];
        size_t n = answer_dns_query(config(), q.data(), q.size(), out, sizeof out);
        return {out, out + n};
    }

    static std::string getaddrinfo_text(const char* name, int family) {
        addrinfo hints{};
        hints.ai_family = family;
        addrinfo* res = nullptr;
        bool handled = false;
        if (fake_getaddrinfo(name, nullptr, &hints, &res, handled) != 0 || res == nullptr)
            return "";
        char buf[INET6_ADDRSTRLEN] = {};
        const void* a =
            family == AF_INET
                ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr)
                : static_cast<const void*>(
                      &reinterpret_cast<sockaddr_in6*>(res->ai_addr)->sin6_addr);
        inet_ntop(family, a, buf, sizeof buf);
        freeaddrinfo(res);
        return buf;
    }
};

TEST_F(DnsInterceptTest, AnswersAWithTheAddressGetaddrinfoGives) {
    auto q = query("stub.example.test", proto::kDnsTypeA);
    auto a = answer(q);
    ASSERT_EQ(a.size(), q.size() + 16);
    EXPECT_EQ(a[0], 0xab);
    EXPECT_EQ(a[1], 0xcd);
    EXPECT_EQ(a[3] & 0x0f, 0);  // NOERROR
    EXPECT_EQ(a[7], 1);         // one answer
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, a.data() + a.size() - 4, text, sizeof text);
    EXPECT_EQ(text, getaddrinfo_text("stub.example.test", AF_INET));
}

TEST_F(DnsInterceptTest, AnswersAaaa) {
    auto a = answer(query("stub6.example.test", proto::kDnsTypeAaaa));
    ASSERT_GE(a.size(), 16u);
    EXPECT_EQ(a[7], 1);
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, a.data() + a.size() - 16, text, sizeof text);
    EXPECT_EQ(text, getaddrinfo_text("stub6.example.test", AF_INET6));
}

TEST_F(DnsInterceptTest, RefusesOtherTypesWithoutDnsTcp) {
    for (uint16_t type : {uint16_t{15}, uint16_t{16}, proto::kDnsTypePtr, uint16_t{255}}) {
        auto q = query("stub.example.test", type);
        auto a = answer(q);
        ASSERT_EQ(a.size(), q.size()) << type;
        EXPECT_EQ(a[3] & 0x0f, 5) << type;  // REFUSED
        EXPECT_EQ(a[7], 0);
    }
}

TEST_F(DnsInterceptTest, MalformedGetsFormErrAndNonQueriesNothing) {
    auto q = query("stub.example.test", proto::kDnsTypeA);
    q[12] = 60;  // a label running past the end
    auto a = answer(q);
    ASSERT_EQ(a.size(), proto::kDnsHeaderSize);
    EXPECT_EQ(a[3] & 0x0f, 1);
    EXPECT_TRUE(answer(query("x.test", proto::kDnsTypeA, 0x8180)).empty());  // a response
    EXPECT_TRUE(answer(std::vector<uint8_t>(q.begin(), q.begin() + 11)).empty());
    a = answer(query("x.test", proto::kDnsTypeA, 0x2900));  // opcode 5 (UPDATE)
    ASSERT_EQ(a.size(), proto::kDnsHeaderSize);
    EXPECT_EQ(a[3] & 0x0f, 4);  // NOTIMP
}

TEST_F(DnsInterceptTest, NameserverMatchNeedsPort53) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(54);
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_FALSE(is_intercepted_nameserver(config(), reinterpret_cast<sockaddr*>(&in), sizeof in));
    EXPECT_FALSE(is_intercepted_nameserver(config(), reinterpret_cast<sockaddr*>(&in), 4));
    EXPECT_FALSE(is_intercepted_nameserver(config(), nullptr, 0));
}

}  // namespace
}  // namespace socksify::shim
