// libFuzzer target: the allow/deny rule parser and matcher (SOCKSIFY_POLICY, --allow,
// --deny). Any text either fails with a reason or gives rules that never match
// outside their own terms, and every parsed rule, written back by format_rule,
// parses to the same rule (the log line names a rule the user can paste).
#include <netinet/in.h>

#include <cstring>
#include <string_view>

#include "shim/settings/policy.hpp"
#include "tests/fuzz/invariants.hpp"

namespace {

using namespace socksify::shim;
using socksify::fuzz::require;

bool same_rule(const Rule& a, const Rule& b) {
    return a.allow == b.allow && a.target == b.target && a.any_port == b.any_port &&
           (a.any_port || (a.port_lo == b.port_lo && a.port_hi == b.port_hi)) &&
           a.name_len == b.name_len && std::memcmp(a.name, b.name, a.name_len) == 0 &&
           (a.target != RuleTarget::kNetwork ||
            (a.net.family == b.net.family && a.net.prefix == b.net.prefix &&
             a.net.addr == b.net.addr));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Policy p;  // large: not on the stack
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const char* err = parse_policy(text, p);
    if (err != nullptr) {
        require(*err != '\0');
        return 0;
    }
    require(p.count <= kMaxRules);
    for (size_t i = 0; i < p.count; ++i) {
        const Rule& r = p.rules[i];
        require(r.any_port || (r.port_lo >= 1 && r.port_lo <= r.port_hi));
        require(r.name_len <= kMaxRuleName && r.name[r.name_len] == '\0');
        char line[512];
        format_rule(r, line, sizeof line);
        // "allow TARGET" / "deny TARGET": the target parses back to the same rule.
        const char* space = std::strchr(line, ' ');
        require(space != nullptr);
        Rule again;
        require(parse_rule(space + 1, r.allow, again) == nullptr);
        require(same_rule(r, again));
        // A rule that names a destination decides it the way the rule says.
        if (r.target == RuleTarget::kName && r.any_port) {
            Policy one;
            one.rules[0] = r;
            one.count = 1;
            one.default_deny = r.allow;  // the default would say the opposite
            require(check_name(one, std::string_view(r.name, r.name_len), 80).allow == r.allow);
            require(check_lookup(one, std::string_view(r.name, r.name_len)).allow == r.allow);
        }
    }
    // The matchers take any name and any address without reading past them.
    const std::string_view name = text.substr(0, text.size() < 300 ? text.size() : 300);
    (void)check_name(p, name, 443);
    (void)check_lookup(p, name);
    sockaddr_in6 a6{};
    a6.sin6_family = AF_INET6;
    std::memcpy(&a6.sin6_addr, data, size < 16 ? size : 16);
    (void)check_address(p, reinterpret_cast<const sockaddr*>(&a6));
    return 0;
}
