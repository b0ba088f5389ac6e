// getaddrinfo/gethostbyname/getnameinfo answered from the fake-DNS table: the flag
// behaviour glibc's callers rely on. The shim's configuration comes from the
// environment, set up once for this test binary before the library's constructor
// copies it (as the launcher sets it before the program starts).
#include "shim/dns/resolver.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <resolv.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "shim/dns/fake_dns.hpp"
#include "shim/dns/names.hpp"
#include "shim/init.hpp"
#include "shim/shared_state.hpp"
#include "tests/unit/host_forms.hpp"

namespace socksify::shim {
namespace {

bool g_restarted = false;

// The library takes its configuration from the environment the process was started
// with (as the launcher sets it), so this binary starts itself again with the
// variables set. No SOCKSIFY_SHM: the library creates the run's state itself (a
// memfd). Priority constructors run before every plain one, the library's included.
__attribute__((constructor(101))) void set_environment(int, char** argv, char**) {
    if (getenv("SOCKSIFY_PROXY") != nullptr && getenv("SOCKSIFY_SHM") == nullptr) {
        g_restarted = true;
        return;
    }
    unsetenv("SOCKSIFY_SHM");
    setenv("SOCKSIFY_PROXY", "socks5h://198.51.100.1:1080", 1);
    setenv("SOCKSIFY_LOG", "quiet", 1);
    execv("/proc/self/exe", argv);  // returns only on failure: SetUpTestSuite reports it
}

class ResolverTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        ASSERT_TRUE(g_restarted) << "could not start again with the variables set";
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
        EXPECT_EQ(text(ai).rfind("240.", 0), 0u) << text(ai);
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
    uint32_t host4 = ntohl(v4.s_addr) - ntohl(inet_addr("240.0.0.0"));
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

TEST_F(ResolverTest, HostsFileNamesGoToTheRealResolver) {
    addrinfo* res = nullptr;
    bool handled = true;
    fake_getaddrinfo("localhost", nullptr, nullptr, &res, handled);
    EXPECT_FALSE(handled);
}

// Each spelling of an address (host_forms.hpp) is answered with that address (and
// its scope id), exactly as libc's getaddrinfo answers the same text with
// AI_NUMERICHOST (the trailing-dot form: the text without its dot) — never a fake
// address, never a lookup. gethostbyname answers the IPv4 forms too.
TEST_F(ResolverTest, LiteralsInEverySpellingAreTheirAddressNeverAFakeOne) {
    std::vector<std::string> forms = host_forms::ipv4_spellings();
    for (const std::string& f : host_forms::ipv6_spellings()) forms.push_back(f);
    size_t answered = 0;
    for (const std::string& form : forms) {
        SCOPED_TRACE(form);
        HostText host;
        HostKind kind = parse_host(form, false, host);
        if (kind != HostKind::kIpv4 && kind != HostKind::kIpv6) continue;
        std::string bare = form;
        if (host.trailing_dot) bare.pop_back();
        addrinfo hints{};
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICHOST | AI_CANONNAME;
        addrinfo* want = nullptr;
        int want_rc = getaddrinfo(bare.c_str(), "80", &hints, &want);
        hints.ai_flags = AI_CANONNAME;
        addrinfo* got = nullptr;
        bool handled = false;
        int rc = fake_getaddrinfo(form.c_str(), "80", &hints, &got, handled);
        EXPECT_TRUE(handled);
        ASSERT_EQ(rc, want_rc) << gai_strerror(rc);
        if (rc == 0) {
            ++answered;
            ASSERT_EQ(got->ai_addrlen, want->ai_addrlen);
            EXPECT_EQ(memcmp(got->ai_addr, want->ai_addr, want->ai_addrlen), 0)
                << text(got) << " vs " << text(want);  // address, port and scope id
            EXPECT_STREQ(got->ai_canonname, form.c_str());
            EXPECT_EQ(got->ai_next, nullptr);
            freeaddrinfo(got);
            freeaddrinfo(want);
        }
        hostent h{};
        hostent* result = nullptr;
        int herr = 0;
        char buf[512];
        rc =
            fake_gethostbyname(form.c_str(), AF_INET, &h, buf, sizeof buf, &result, &herr, handled);
        if (!handled) {
            // Only what libc's gethostbyname itself reads as an address (digits and
            // dots, or IPv6 without scope) goes to it.
            rc = gethostbyname2_r(form.c_str(), AF_INET, &h, buf, sizeof buf, &result, &herr);
            if (kind == HostKind::kIpv4) {
                ASSERT_NE(result, nullptr);
                EXPECT_EQ(memcmp(h.h_addr_list[0], host.addr, 4), 0);
            } else {
                EXPECT_EQ(result, nullptr);
            }
        } else if (kind == HostKind::kIpv4) {
            ASSERT_EQ(rc, 0);
            ASSERT_NE(result, nullptr);
            EXPECT_EQ(memcmp(h.h_addr_list[0], host.addr, 4), 0);
            EXPECT_STREQ(h.h_name, form.c_str());
        } else {
            EXPECT_EQ(result, nullptr);  // no scope id in a hostent: libc finds none either
            EXPECT_EQ(herr, HOST_NOT_FOUND);
        }
    }
    EXPECT_GT(answered, forms.size() / 3);
    // AI_NUMERICHOST asks for libc's own numeric reading, which refuses the dot.
    addrinfo hints{};
    hints.ai_flags = AI_NUMERICHOST;
    addrinfo* res = nullptr;
    bool handled = false;
    EXPECT_EQ(fake_getaddrinfo("203.0.113.7.", nullptr, &hints, &res, handled), EAI_NONAME);
    EXPECT_TRUE(handled);
}

// A string that is no host name fails with libc's own errors (libc never asks a
// nameserver about it: its DNS backend checks res_hnok first, so calling it here is
// safe), and never enters the fake-DNS table.
TEST_F(ResolverTest, StringsThatAreNoHostNameFailAsLibcFailsThem) {
    std::vector<std::string> forms = host_forms::name_syntax();
    for (const std::string& f : host_forms::misspelled_numbers()) forms.push_back(f);
    size_t checked = 0;
    for (const std::string& form : forms) {
        SCOPED_TRACE(form);
        HostText host;
        HostKind kind = parse_host(form, false, host);
        // The digits-and-dots forms libc's gethostbyname refuses itself.
        bool digits = form.find_first_not_of("0123456789.") == std::string::npos && !form.empty() &&
                      form.back() != '.';
        if (kind != HostKind::kInvalid && !(kind == HostKind::kNotHost && digits)) continue;
        ASSERT_TRUE(form.empty() || res_hnok(form.c_str()) == 0 || digits);
        ++checked;
        addrinfo hints{};
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* res = nullptr;
        bool handled = false;
        int rc = fake_getaddrinfo(form.c_str(), "80", &hints, &res, handled);
        EXPECT_TRUE(handled);
        if (kind == HostKind::kInvalid) {
            addrinfo* libc = nullptr;
            int libc_rc = getaddrinfo(form.c_str(), "80", &hints, &libc);
            EXPECT_EQ(rc, libc_rc);  // EAI_NONAME; "*" is libc's wildcard, as null
            if (libc_rc == 0) {
                freeaddrinfo(libc);
                freeaddrinfo(res);
            }
        } else {
            EXPECT_EQ(rc, EAI_NONAME);
        }
        for (int af : {AF_INET, AF_INET6, AF_UNIX}) {
            hostent h{}, lh{};
            hostent* result = &h;
            hostent* libc_result = &lh;
            int herr = -1, libc_herr = -1;
            char buf[512], libc_buf[512];
            rc = fake_gethostbyname(form.c_str(), af, &h, buf, sizeof buf, &result, &herr, handled);
            EXPECT_TRUE(handled) << af;
            int libc_rc = gethostbyname2_r(form.c_str(), af, &lh, libc_buf, sizeof libc_buf,
                                           &libc_result, &libc_herr);
            EXPECT_EQ(rc, libc_rc) << af;
            EXPECT_EQ(herr, libc_herr) << af;
            EXPECT_EQ(result, nullptr) << af;
            EXPECT_EQ(libc_result, nullptr) << af;
        }
        uint32_t index = 0;
        EXPECT_FALSE(fake_dns_find(*fake_dns_table(), form, index, fake_dns_now()));
    }
    EXPECT_GT(checked, 300u);
    // Mistyped addresses and the root are no names either (libc would ask a
    // nameserver, whose answer is NXDOMAIN): not found, nothing in the table.
    for (const char* s : {"1.2.3.4.5.", "08.1.1.1.", "foo.123", "."}) {
        addrinfo* res = nullptr;
        bool handled = false;
        EXPECT_EQ(fake_getaddrinfo(s, nullptr, nullptr, &res, handled), EAI_NONAME) << s;
        hostent h{};
        hostent* result = &h;
        int herr = 0;
        char buf[512];
        EXPECT_EQ(fake_gethostbyname(s, AF_INET, &h, buf, sizeof buf, &result, &herr, handled), 0);
        EXPECT_EQ(herr, HOST_NOT_FOUND) << s;
        uint32_t index = 0;
        EXPECT_FALSE(fake_dns_find(*fake_dns_table(), s, index, fake_dns_now())) << s;
    }
}

// Escapes are undone as the resolver would: the table holds the name a query carries.
TEST_F(ResolverTest, EscapedNamesAreFakedUnescaped) {
    addrinfo* a = lookup("esc\\097ped.socks.test", nullptr, AF_INET, 0, SOCK_STREAM);
    addrinfo* b = lookup("escaped.socks.test", nullptr, AF_INET, 0, SOCK_STREAM);
    EXPECT_EQ(text(a), text(b));
    freeaddrinfo(a);
    freeaddrinfo(b);
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
    inet_pton(AF_INET, "240.15.200.200", &in.sin_addr);
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
