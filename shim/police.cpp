// The policy checks of the library (and of the supervisor, which judges for the
// programs it serves): the verdict from shim/settings/policy, then the log line and
// the audit record of a denial.
#include "shim/police.hpp"

#include <cerrno>
#include <cstdio>

#include "shim/log.hpp"
#include "shim/settings/policy.hpp"
#include "shim/settings/route.hpp"

namespace socksify::shim {
namespace {

// "(rule 2: deny *.example.com)" or "(default deny)".
void describe(const Config& cfg, const Verdict& v, char* out, size_t cap) {
    if (v.rule == 0) {
        std::snprintf(out, cap, "(default deny)");
        return;
    }
    char rule[320];
    format_rule(cfg.policy.rules[v.rule - 1], rule, sizeof rule);
    std::snprintf(out, cap, "(rule %zu: %s)", v.rule, rule);
}

}  // namespace

int police(const Config& cfg, const sockaddr* dest, std::string_view name, AuditKind kind) {
    bool by_name = name.data() != nullptr && !name.empty();
    if (is_link_scoped(dest)) {  // not direct, and the proxy cannot reach it
        char text[64];
        log_line(LogLevel::kError, "refusing %s %s: link-local, not in the direct list",
                 kind == AuditKind::kUdp ? "UDP to" : "connect to",
                 format_sockaddr(dest, text, sizeof text));
        audit_denied(cfg, audit_event(kind, dest), "link-local");
        return EACCES;
    }
    Verdict v =
        by_name ? check_name(cfg.policy, name, port_of(dest)) : check_address(cfg.policy, dest);
    if (v.allow) return 0;
    char why[360];
    describe(cfg, v, why, sizeof why);
    char text[64];
    format_sockaddr(dest, text, sizeof text);
    const char* what = kind == AuditKind::kUdp ? "UDP to" : "connect to";
    if (by_name) {
        log_line(LogLevel::kError, "denied by policy: %s %.*s:%u %s", what,
                 static_cast<int>(name.size()), name.data(), unsigned{port_of(dest)}, why);
    } else {
        log_line(LogLevel::kError, "denied by policy: %s %s %s", what, text, why);
    }
    audit_denied(cfg, audit_event(kind, dest, by_name ? name : std::string_view{}), "policy");
    return EACCES;
}

bool police_lookup(const Config& cfg, const char* name) {
    // Supervised: the supervisor judges (and records) the lookup when it is asked.
    if (cfg.supervised) return true;
    Verdict v = check_lookup(cfg.policy, name);
    if (v.allow) return true;
    char why[360];
    describe(cfg, v, why, sizeof why);
    log_line(LogLevel::kError, "denied by policy: lookup of %.255s %s", name, why);
    audit_denied(cfg, audit_event(AuditKind::kLookup, nullptr, name), "policy");
    return false;
}

}  // namespace socksify::shim
