// getaddrinfo/gethostbyname/getnameinfo answered from the fake-DNS table: the flag
// behaviour glibc's callers rely on. The shim's configuration comes from the
// environment, set up once for this test binary.
#include "shim/resolver.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "shim/init.hpp"
#include "shim/shared_state.hpp"

namespace socksify::shim {
namespace {

class ResolverTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        // No SOCKSIFY_SHM: the library creates the run's state itself (a memfd).
        unsetenv("SOCKSIFY_SHM");
        setenv("SOCKSIFY_PROXY", "socks5h://198.51.100.1:1080", 1);
        setenv("SOCKSIFY_LOG", "quiet", 1);
        ensure_ready();
        ASSERT_TRUE(config().valid) << config().error;
    }

    // Runs the fake getaddrinfo; the name must be one the shim answers.
    static addrinfo* lookup(const char* name, const char* service, int family, int flags,
                            int socktype = 0, int* rc_out = nullptr) {
        addrinfo hints{};
        hints.ai_family = family;
        hints.ai_flags = flags;
        hints.ai_socktype = socktype;
        addrinfo* res = nullptr;
        bool handled = false;
        int rc = fake_getaddrinfo(name, service, &hints, &res, handled);
        EXPECT_TRUE(handled) << name;
        if (rc_out != nullptr)
            *rc_out = rc;
        else
            EXPECT_EQ(rc, 0) << gai_strerror(rc);
        return res;
    }

    static std::string text(const addrinfo* ai) {
        char buf[INET6_ADDRSTRLEN] = {};
        if (ai->ai_family == AF_INET)
            inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr, buf,
                      sizeof buf);
        else
            inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr, buf,
                      sizeof buf);
        return buf;
    }

    static uint16_t port(const addrinfo* ai) {
        return ntohs(ai->ai_family == AF_INET
                         ? reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_port
                         : reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_port);
    }
};

TEST_F(ResolverTest, UnspecAnswersOneFakeIpv4PerSocketType) {
    addrinfo* res = lookup("unspec.socks.test", "80", AF_UNSPEC, 0);
    ASSERT_NE(res, nullptr);
    int n = 0;
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next, ++n) {
        EXPECT_EQ(ai->ai_family, AF_INET);
        EXPECT_EQ(text(ai).rfind("198.1", 0), 0u) << text(ai);
        EXPECT_EQ(port(ai), 80);
    }
    EXPECT_EQ(n, 3);  // STREAM, DGRAM, RAW as glibc gives for socktype 0
    freeaddrinfo(res);
}

TEST_F(ResolverTest, SameNameSameAddressAcrossFamiliesAndCalls) {
    addrinfo* a = lookup("same.socks.test", nullptr, AF_INET, 0, SOCK_STREAM);
    addrinfo* b = lookup("SAME.socks.test.", nullptr, AF_INET, 0, SOCK_STREAM);
    addrinfo* c = lookup("same.socks.test", nullptr, AF_INET6, 0, SOCK_STREAM);
    EXPECT_EQ(text(a), text(b));
    EXPECT_EQ(text(c).rfind("fd53:4f43:4b53::", 0), 0u) << text(c);
    // Index i is host i+1 of both ranges.
    in_addr v4{};
    inet_pton(AF_INET, text(a).c_str(), &v4);
    in6_addr v6{};
    inet_pton(AF_INET6, text(c).c_str(), &v6);
    uint32_t host4 = ntohl(v4.s_addr) - ntohl(inet_addr("198.18.0.0"));
    uint32_t host6 = (uint32_t{v6.s6_addr[14]} << 8) | v6.s6_addr[15];
    EXPECT_EQ(host4 & 0xffff, host6);
    freeaddrinfo(a);
    freeaddrinfo(b);
    freeaddrinfo(c);
}

TEST_F(ResolverTest, Inet6WithV4MappedStillAnswersTheFakeIpv6) {
    addrinfo* res = lookup("mapped.socks.test", "443", AF_INET6, AI_V4MAPPED, SOCK_STREAM);
    ASSERT_NE(res, nullptr);
    EXPECT_EQ(res->ai_family, AF_INET6);
    EXPECT_EQ(text(res).rfind("fd53:4f43:4b53::", 0), 0u);
    EXPECT_EQ(port(res), 443);
    freeaddrinfo(res);
}

TEST_F(ResolverTest, CanonNameIsTheNameItself) {
    addrinfo* res = lookup("canon.socks.test", nullptr, AF_INET, AI_CANONNAME, SOCK_STREAM);
    ASSERT_NE(res, nullptr);
    ASSERT_NE(res->ai_canonname, nullptr);
    EXPECT_STREQ(res->ai_canonname, "canon.socks.test");
    freeaddrinfo(res);  // glibc frees our canonname: must not crash
}

TEST_F(ResolverTest, NumericHostFlagRefusesANameLikeGlibc) {
    int rc = 0;
    addrinfo* res = lookup("numeric.socks.test", nullptr, AF_INET, AI_NUMERICHOST, 0, &rc);
    EXPECT_EQ(rc, EAI_NONAME);
    EXPECT_EQ(res, nullptr);
}

TEST_F(ResolverTest, ServiceNamesAndBadServices) {
    addrinfo* res = lookup("svc.socks.test", "http", AF_INET, 0, SOCK_STREAM);
    ASSERT_NE(res, nullptr);
    EXPECT_EQ(port(res), 80);
    EXPECT_EQ(res->ai_protocol, IPPROTO_TCP);
    freeaddrinfo(res);
    int rc = 0;
    res = lookup("svc.socks.test", "no-such-service", AF_INET, 0, SOCK_STREAM, &rc);
    EXPECT_EQ(rc, EAI_SERVICE);
}

TEST_F(ResolverTest, PassiveAndAddrconfigStillGiveTheFakeAddress) {
    addrinfo* res =
        lookup("passive.socks.test", "8080", AF_UNSPEC, AI_PASSIVE | AI_ADDRCONFIG, SOCK_DGRAM);
    ASSERT_NE(res, nullptr);
    // AI_PASSIVE only matters without a node; AI_ADDRCONFIG keeps a configured family.
    EXPECT_NE(text(res), "0.0.0.0");
    EXPECT_EQ(res->ai_socktype, SOCK_DGRAM);
    EXPECT_EQ(res->ai_next, nullptr);
    freeaddrinfo(res);
}

TEST_F(ResolverTest, UnknownFamilyIsEaiFamily) {
    int rc = 0;
    lookup("fam.socks.test", nullptr, AF_UNIX, 0, 0, &rc);
    EXPECT_EQ(rc, EAI_FAMILY);
}

TEST_F(ResolverTest, NumericAndHostsFileNamesGoToTheRealResolver) {
    for (const char* name : {"203.0.113.10", "2001:db8::1", "localhost"}) {
        addrinfo* res = nullptr;
        bool handled = true;
        fake_getaddrinfo(name, nullptr, nullptr, &res, handled);
        EXPECT_FALSE(handled) << name;
    }
}

TEST_F(ResolverTest, ANameTooLongForSocksIsNotFoundNotTryAgain) {
    // SOCKS5 carries names of at most 255 bytes: a longer one never works, so
    // retrying (TRY_AGAIN) would loop forever.
    std::string name(300, 'a');
    hostent h{};
    hostent* result = &h;
    int herr = 0;
    bool handled = false;
    char buf[512];
    int rc =
        fake_gethostbyname(name.c_str(), AF_INET, &h, buf, sizeof buf, &result, &herr, handled);
    ASSERT_TRUE(handled);
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(result, nullptr);
    EXPECT_EQ(herr, HOST_NOT_FOUND);
}

TEST_F(ResolverTest, HostentFormsAndTheirBuffers) {
    hostent h{};
    hostent* result = nullptr;
    int herr = 0;
    bool handled = false;
    char buf[512];
    int rc = fake_gethostbyname("hostent.socks.test", AF_INET, &h, buf, sizeof buf, &result, &herr,
                                handled);
    ASSERT_TRUE(handled);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(result, &h);
    EXPECT_STREQ(h.h_name, "hostent.socks.test");
    EXPECT_EQ(h.h_length, 4);
    ASSERT_NE(h.h_addr_list[0], nullptr);
    EXPECT_EQ(h.h_addr_list[1], nullptr);
    EXPECT_EQ(h.h_aliases[0], nullptr);
    char small[8];
    rc = fake_gethostbyname("hostent.socks.test", AF_INET6, &h, small, sizeof small, &result, &herr,
                            handled);
    EXPECT_EQ(rc, ERANGE);  // the _r contract: the caller retries with a larger buffer
    EXPECT_EQ(result, nullptr);
    // Reverse: the fake address gives the name back.
    in_addr addr{};
    memcpy(&addr, h.h_addr_list[0], 4);
    hostent r{};
    rc = fake_gethostbyaddr(&addr, 4, AF_INET, &r, buf, sizeof buf, &result, &herr, handled);
    ASSERT_TRUE(handled);
    ASSERT_EQ(rc, 0);
    ASSERT_NE(result, nullptr);
    EXPECT_STREQ(r.h_name, "hostent.socks.test");
}

TEST_F(ResolverTest, GetnameinfoOfAFakeAddress) {
    addrinfo* res = lookup("rev.socks.test", "80", AF_INET, 0, SOCK_STREAM);
    ASSERT_NE(res, nullptr);
    char host[256], serv[32];
    bool handled = false;
    EXPECT_EQ(fake_getnameinfo(res->ai_addr, res->ai_addrlen, host, sizeof host, serv, sizeof serv,
                               NI_NUMERICSERV, handled),
              0);
    EXPECT_TRUE(handled);
    EXPECT_STREQ(host, "rev.socks.test");
    EXPECT_STREQ(serv, "80");
    char tiny[4];
    EXPECT_EQ(
        fake_getnameinfo(res->ai_addr, res->ai_addrlen, tiny, sizeof tiny, nullptr, 0, 0, handled),
        EAI_OVERFLOW);
    // NI_NUMERICHOST is the real function's job.
    fake_getnameinfo(res->ai_addr, res->ai_addrlen, host, sizeof host, nullptr, 0, NI_NUMERICHOST,
                     handled);
    EXPECT_FALSE(handled);
    freeaddrinfo(res);
}

TEST_F(ResolverTest, ReverseOfAFakeAddressWithoutANameIsNotFound) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    inet_pton(AF_INET, "198.19.200.200", &in.sin_addr);
    char host[256];
    bool handled = false;
    EXPECT_EQ(fake_getnameinfo(reinterpret_cast<sockaddr*>(&in), sizeof in, host, sizeof host,
                               nullptr, 0, NI_NAMEREQD, handled),
              EAI_NONAME);
    EXPECT_TRUE(handled);
}

TEST_F(ResolverTest, ResQueriesAreRefusedWithoutDnsTcp) {
    unsigned char answer[512];
    int herr = 0;
    errno = 0;
    EXPECT_EQ(res_common("x.socks.test", nullptr, 1, 1, nullptr, 0, answer, sizeof answer, &herr),
              -1);
    EXPECT_EQ(herr, NO_RECOVERY);
    EXPECT_EQ(errno, EACCES);
}

}  // namespace
}  // namespace socksify::shim
