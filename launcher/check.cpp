#include "launcher/check.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "launcher/pipeline.hpp"
#include "protocol/status.hpp"
#include "shim/dns/names.hpp"
#include "shim/proxy/handshake.hpp"
#include "shim/proxy/tcp_connect.hpp"

namespace socksify::launcher {
// The launcher runs the library's machinery; its names read unqualified here.
using namespace shim;
namespace {

std::string address_text(const proto::Address& a) {
    char text[INET6_ADDRSTRLEN] = {};
    std::string host;
    if (a.type == proto::AddrType::kDomain) {
        host = std::string(a.domain);
    } else if (a.type == proto::AddrType::kIpv6) {
        inet_ntop(AF_INET6, a.ip.data(), text, sizeof text);
        host = std::string("[") + text + "]";
    } else {
        inet_ntop(AF_INET, a.ip.data(), text, sizeof text);
        host = text;
    }
    return host + ":" + std::to_string(a.port);
}

proto::Address proxy_address(const Config& cfg) {
    proto::Address a{};
    if (cfg.proxy.ss_family == AF_INET6) {
        const auto& in6 = reinterpret_cast<const sockaddr_in6&>(cfg.proxy);
        a.type = proto::AddrType::kIpv6;
        memcpy(a.ip.data(), &in6.sin6_addr, 16);
    } else {
        const auto& in = reinterpret_cast<const sockaddr_in&>(cfg.proxy);
        memcpy(a.ip.data(), &in.sin_addr, 4);
    }
    return a;
}

// "HOST:PORT" / "[V6]:PORT" into an address whose domain points into text.
bool parse_target(const std::string& text, proto::Address& out) {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return false;
    std::string host = text.substr(0, colon);
    long port = 0;
    for (char c : text.substr(colon + 1)) {
        if (c < '0' || c > '9' || (port = port * 10 + (c - '0')) > 65535) return false;
    }
    out = {};
    out.port = static_cast<uint16_t>(port);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        out.type = proto::AddrType::kIpv6;
        return inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), out.ip.data()) == 1;
    }
    if (inet_pton(AF_INET, host.c_str(), out.ip.data()) == 1) return true;
    if (host.empty() || host.size() > 255) return false;
    out.type = proto::AddrType::kDomain;
    out.domain = std::string_view(text.data(), colon);
    return true;
}

// A fresh connection to the proxy; -1 with err set when it cannot be made.
int connect_proxy(const Config& cfg, const Deadline& deadline, int& err, double* ms = nullptr) {
    int fd = socket(cfg.proxy.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        err = errno;
        return -1;
    }
    int64_t start = monotonic_ns();
    err = connect_until(fd, reinterpret_cast<const sockaddr*>(&cfg.proxy), cfg.proxy_len, deadline);
    if (err != 0) {
        close(fd);
        return -1;
    }
    if (ms != nullptr) *ms = static_cast<double>(monotonic_ns() - start) / 1e6;
    return fd;
}

// The method a server chooses from exactly `offer`; -1 with err on failure.
int chosen_method(const Config& cfg, uint8_t offer, int& err) {
    Deadline deadline = Deadline::after_ms(cfg.timeout_ms);
    int fd = connect_proxy(cfg, deadline, err);
    if (fd < 0) return -1;
    uint8_t greeting[3] = {proto::kVersion, 1, offer};
    uint8_t sel[2] = {};
    size_t got = 0;
    int method = -1;
    if ((err = send_all(fd, greeting, deadline)) == 0 &&
        (err = recv_exact(fd, sel, got, deadline)) == 0) {
        if (sel[0] == proto::kVersion)
            method = sel[1];
        else
            err = ECONNABORTED;
    }
    close(fd);
    return method;
}

// One request, stepwise, on a connection of its own: the reply's REP or -1 (err set).
int ask(const Config& cfg, proto::Command cmd, const proto::Address& a, HandshakeResult& r) {
    Deadline deadline = Deadline::after_ms(cfg.timeout_ms);
    int fd = connect_proxy(cfg, deadline, r.err);
    if (fd < 0) return -1;
    run_handshake(fd, proto::Request{cmd, a}, proxy_credentials(cfg), HandshakeMode::kStepwise,
                  deadline, r);
    close(fd);
    // A failure reply still says the request was processed.
    bool replied = r.err == 0 || proto::reply_errno(static_cast<uint8_t>(r.reply.reply)) == r.err;
    return replied ? static_cast<int>(r.reply.reply) : -1;
}

const char* rep_text(int rep) {
    static constexpr const char* kText[] = {
        "succeeded",           "general failure",       "not allowed by ruleset",
        "network unreachable", "host unreachable",      "connection refused",
        "TTL expired",         "command not supported", "address type not supported"};
    return rep >= 0 && rep <= 8 ? kText[rep] : "unassigned reply code";
}

// "answered: connection refused (REP 5)" — any reply proves the request was handled.
std::string connect_line(const char* how, const proto::Address& a, int rep, int err) {
    std::string line = std::string("connect by ") + how + " " + address_text(a) + ": ";
    if (rep == 0) return line + "ok";
    if (rep > 0) return line + "answered: " + rep_text(rep) + " (REP " + std::to_string(rep) + ")";
    return line + "failed: " + std::strerror(err);
}

}  // namespace

int run_check(const Config& cfg, const char* target) {
    bool usable = true;
    // 1. Reachable.
    double connect_ms = 0;
    int err = 0;
    int fd = connect_proxy(cfg, Deadline::after_ms(cfg.timeout_ms), err, &connect_ms);
    if (fd < 0) {
        printf("proxy %s: unreachable: %s\n", cfg.proxy_text, std::strerror(err));
        return 1;
    }
    close(fd);
    printf("proxy %s: reachable, connect %.2f ms\n", cfg.proxy_text, connect_ms);
    if (cfg.proxy_kind == ProxyKind::kRaw) {
        // A plain forwarder answers nothing: reaching it is all there is to learn.
        printf("raw: no protocol, nothing else to check (the forwarder decides where bytes go)\n");
        printf("usable\n");
        return 0;
    }

    // 2. Methods: each offered alone, so the answer says what the server accepts.
    int none = chosen_method(cfg, 0x00, err);
    int userpass = chosen_method(cfg, 0x02, err);
    std::string methods = "methods:";
    methods += none == 0x00 ? " none accepted;" : " none refused;";
    methods += userpass == 0x02 ? " username/password accepted" : " username/password refused";
    if (none != 0x00 && userpass == 0x02 && !cfg.has_auth) {
        methods += " (required: the URL has no user name)";
        usable = false;
    } else if (none != 0x00 && userpass != 0x02) {
        methods += none < 0 && userpass < 0 ? std::string(" (") + std::strerror(err) + ")"
                                            : " (no method this client speaks)";
        usable = false;
    }
    printf("%s\n", methods.c_str());

    // 3. CONNECT by address and by name.
    proto::Address by_addr = proxy_address(cfg);
    proto::Address by_name{};
    by_name.type = proto::AddrType::kDomain;
    by_name.domain = "localhost";
    std::string target_text = target != nullptr ? target : "";
    if (target != nullptr) {
        proto::Address t{};
        if (!parse_target(target_text, t)) {
            printf("target '%s': not HOST:PORT\n", target);
            return 2;
        }
        if (t.type == proto::AddrType::kDomain)
            by_name = t;
        else
            by_addr = t;
    }
    HandshakeResult r;
    int rep = ask(cfg, proto::Command::kConnect, by_addr, r);
    printf("%s\n", connect_line("address", by_addr, rep, r.err).c_str());
    if (rep < 0) usable = false;
    if (r.err == EACCES && rep < 0 && cfg.has_auth) printf("credentials: refused by the proxy\n");
    rep = ask(cfg, proto::Command::kConnect, by_name, r);
    printf("%s\n", connect_line("name", by_name, rep, r.err).c_str());
    if (rep < 0) usable = false;

    // 4. UDP ASSOCIATE.
    proto::Address any{};
    rep = ask(cfg, proto::Command::kUdpAssociate, any, r);
    if (rep == 0) {
        printf("udp associate: offered, relay %s\n", address_text(r.reply.bound).c_str());
    } else if (rep > 0) {
        printf("udp associate: refused: %s (REP %d)\n", rep_text(rep), rep);
    } else {
        printf("udp associate: failed: %s\n", std::strerror(r.err));
    }

    // 5. Pipelining, and what a run would do with it.
    double probe_ms = 0;
    ProbeOutcome o = probe_proxy(cfg, probe_ms);
    std::string why = o.rep >= 0 ? std::string("first reply REP ") + std::to_string(o.rep)
                                 : std::string(std::strerror(o.err));
    printf("pipelining: %s (%s)\n", proto::pipeline_verdict_name(o.verdict), why.c_str());
    std::string path = pipeline_cache_path();
    if (o.verdict != proto::PipelineVerdict::kUnknown)
        cache_store(path, pipeline_key(cfg), o.verdict);

    bool pipelined = cfg.pipeline && o.verdict == proto::PipelineVerdict::kSafe;
    const char* dns = cfg.dns_mode == DnsMode::kRemote  ? "remote"
                      : cfg.dns_mode == DnsMode::kLocal ? "local"
                                                        : "off";
    printf("settings: dns %s, udp %s, %s, timeout %d ms%s\n", dns, cfg.udp ? "on" : "off",
           pipelined ? "pipelined" : "one message per round trip", cfg.timeout_ms,
           cfg.strict ? ", strict" : "");
    char fake[256];
    describe_fake_table(cfg, fake, sizeof fake);
    printf("%s\n", fake);
    printf("%s\n", usable ? "usable" : "not usable");
    return usable ? 0 : 1;
}

}  // namespace socksify::launcher
