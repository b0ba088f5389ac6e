// What the policy and the audit log add to a connection: the first-match rule walk
// (a hit on the first rule and a miss over the 64-rule maximum, by name and by
// address), formatting one JSON record, and appending it with one write(2) to an
// O_APPEND file, as the library does per connect, datagram association and lookup.
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "shim/audit.hpp"
#include "shim/settings/audit_format.hpp"
#include "shim/settings/config.hpp"
#include "shim/settings/policy.hpp"

namespace socksify::shim {
namespace {

// 64 rules that never match the destinations below: 32 name patterns, 32 networks.
Policy full_policy() {
    Policy p;
    for (int i = 0; i < 32; ++i) {
        add_rule(p, "*.host" + std::to_string(i) + ".internal:443", true);
        add_rule(p, "10." + std::to_string(i) + ".0.0/16:1-1024", true);
    }
    p.default_deny = true;
    return p;
}

sockaddr_in dest4() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(443);
    a.sin_addr.s_addr = htonl(0xCB00710A);  // 203.0.113.10
    return a;
}

void BM_PolicyNameFirstRule(benchmark::State& state) {
    Policy p;
    add_rule(p, "*.pypi.internal:443", true);
    for (auto _ : state) benchmark::DoNotOptimize(check_name(p, "files.pypi.internal", 443));
}
BENCHMARK(BM_PolicyNameFirstRule);

void BM_PolicyNameMiss64(benchmark::State& state) {
    Policy p = full_policy();
    for (auto _ : state) benchmark::DoNotOptimize(check_name(p, "files.pypi.internal", 443));
}
BENCHMARK(BM_PolicyNameMiss64);

void BM_PolicyAddressMiss64(benchmark::State& state) {
    Policy p = full_policy();
    sockaddr_in a = dest4();
    for (auto _ : state)
        benchmark::DoNotOptimize(check_address(p, reinterpret_cast<const sockaddr*>(&a)));
}
BENCHMARK(BM_PolicyAddressMiss64);

AuditRecord sample_record() {
    AuditRecord r;
    r.time_ms = 1795737600123;
    r.pid = 4242;
    r.program = "curl";
    r.kind = "connect";
    r.name = "files.pypi.internal";
    r.port = 443;
    r.proxy = "198.51.100.1:1080";
    r.verdict = "allow";
    r.reason = "ok";
    r.ms = 3;
    return r;
}

void BM_AuditFormat(benchmark::State& state) {
    AuditRecord r = sample_record();
    char line[kAuditRecordMax];
    for (auto _ : state) {
        benchmark::DoNotOptimize(format_audit_record(r, line, sizeof line));
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_AuditFormat);

// The whole audit() call: clock, format, one write to a file on tmpfs (/dev/shm)
// or, without it, /tmp. The file is truncated every 64 Ki records to stay small.
void BM_AuditAppend(benchmark::State& state) {
    static Config cfg;  // large: not on the stack
    char path[] = "/dev/shm/socksify-bench-audit-XXXXXX";
    int tmp = mkstemp(path);
    if (tmp < 0) {
        state.SkipWithError("mkstemp failed");
        return;
    }
    close(tmp);
    std::snprintf(cfg.audit_path, sizeof cfg.audit_path, "%s", path);
    std::snprintf(cfg.proxy_text, sizeof cfg.proxy_text, "198.51.100.1:1080");
    cfg.valid = true;
    audit_open(cfg);
    sockaddr_in a = dest4();
    AuditEvent e = audit_event(AuditKind::kConnect, reinterpret_cast<const sockaddr*>(&a),
                               "files.pypi.internal");
    size_t n = 0;
    for (auto _ : state) {
        audit(cfg, e);
        if ((++n & 0xFFFF) == 0) {
            state.PauseTiming();
            if (truncate(path, 0) != 0) state.SkipWithError("truncate failed");
            state.ResumeTiming();
        }
    }
    unlink(path);
}
BENCHMARK(BM_AuditAppend);

}  // namespace
}  // namespace socksify::shim
