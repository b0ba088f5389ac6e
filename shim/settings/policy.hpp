// Allow/deny rules (--allow, --deny, SOCKSIFY_POLICY): the parser and the matcher the
// launcher and the library share. Pure: no allocation, no I/O, no errno.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "shim/settings/cidr.hpp"

namespace socksify::shim {

inline constexpr size_t kMaxRules = 64;
inline constexpr size_t kMaxRuleName = 253;  // RFC 1035 §2.3.4

enum class RuleTarget : uint8_t {
    kAny,         // "*": every name and every address
    kName,        // "example.com": that name only
    kSubdomains,  // "*.example.com": its subdomains, not the name itself
    kNetwork,     // "198.51.100.0/24", "2001:db8::/32", "192.0.2.7": addresses
};

struct Rule {
    bool allow = false;
    RuleTarget target = RuleTarget::kAny;
    bool any_port = true;
    uint16_t port_lo = 0;  // inclusive range when !any_port
    uint16_t port_hi = 0;
    Cidr net{};                        // kNetwork
    uint8_t name_len = 0;              // kName, kSubdomains (without "*.")
    char name[kMaxRuleName + 1] = {};  // lower case, no trailing dot
};

struct Policy {
    std::array<Rule, kMaxRules> rules{};
    size_t count = 0;
    bool default_deny = false;
};

// The outcome of a check: which rule decided (1-based, in the order given), or 0 for
// the default.
struct Verdict {
    bool allow = true;
    size_t rule = 0;
};

// RULE: "example.com", "*.example.com", "*", a CIDR ("198.51.100.0/24",
// "2001:db8::/32") or an address (a host), each optionally followed by ":PORT" or
// ":LO-HI"; an IPv6 network with a port goes in brackets ("[2001:db8::/32]:443").
// Returns nullptr or a static one-phrase reason.
const char* parse_rule(std::string_view text, bool allow, Rule& out);

// Appends a rule to p; "too many rules" beyond kMaxRules.
const char* add_rule(Policy& p, std::string_view text, bool allow);

// SOCKSIFY_POLICY: "allow:RULE,deny:RULE,…" (rules in order; "" is none). Leaves
// p.default_deny alone.
const char* parse_policy(std::string_view text, Policy& p);

// A connection or datagram to name:port (the destination was a fake address).
// Network rules do not apply to names.
Verdict check_name(const Policy& p, std::string_view name, uint16_t port);

// A connection or datagram to an address (AF_INET/AF_INET6, port taken from a).
// Name rules do not apply to addresses.
Verdict check_address(const Policy& p, const sockaddr* a);

// One rule against a destination: by name when name is non-empty (a fake address;
// network rules do not apply), else by a's address; a's port either way. Routes
// (--route) use the rules' syntax and this matcher.
bool rule_matches(const Rule& r, std::string_view name, const sockaddr* a);

// A lookup of name is denied when no port of it could be allowed: the first rule
// matching the name without a port denies it, or no allow rule matches it at any
// port and the default is deny.
Verdict check_lookup(const Policy& p, std::string_view name);

// The port of an AF_INET/AF_INET6 address (host order); 0 for another family.
uint16_t port_of(const sockaddr* a);

// Writes the rule as it would be given ("allow *.example.com:443") into out.
void format_rule(const Rule& r, char* out, size_t cap);

}  // namespace socksify::shim
