// Allow/deny rules: parse "allow:RULE,deny:RULE" and decide a destination, first match
// wins. Shared by the launcher (validation) and the library (enforcement); no
// allocation, so a hook may call the matcher.
#include "shim/settings/policy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>

#include <cstdio>
#include <cstring>

#include "shim/settings/config.hpp"
#include "shim/settings/host_text.hpp"
#include "shim/settings/text.hpp"

namespace socksify::shim {
namespace {

bool rule_digit(char c) { return c >= '0' && c <= '9'; }

const char* parse_rule_port(std::string_view text, uint16_t& port) {
    if (text.empty() || text.size() > 5) return "bad port";
    uint32_t v = 0;
    for (char c : text) {
        if (!rule_digit(c)) return "bad port";
        v = v * 10 + static_cast<uint32_t>(c - '0');
    }
    if (v == 0 || v > 65535) return "port out of range (1-65535)";
    port = static_cast<uint16_t>(v);
    return nullptr;
}

// ":PORT" or ":LO-HI" without the colon.
const char* parse_ports(std::string_view text, Rule& r) {
    size_t dash = text.find('-');
    if (const char* e = parse_rule_port(head(text, dash), r.port_lo)) return e;
    r.port_hi = r.port_lo;
    if (dash != std::string_view::npos) {
        if (const char* e = parse_rule_port(tail(text, dash + 1), r.port_hi)) return e;
        if (r.port_hi < r.port_lo) return "port range ends before it starts";
    }
    r.any_port = false;
    return nullptr;
}

// A domain name of letters, digits, '-' and '_', labels of 1-63 bytes; stored in lower
// case without a trailing dot.
const char* set_name(std::string_view name, Rule& r) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (name.empty()) return "empty domain";
    if (name.size() > kMaxRuleName) return "domain too long";
    bool letter = false;
    size_t label = 0;
    for (size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        if (c == '.') {
            if (label == 0) return "empty label in domain";
            label = 0;
            r.name[i] = c;
            continue;
        }
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        bool alpha = c >= 'a' && c <= 'z';
        if (!alpha && !rule_digit(c) && c != '-' && c != '_') {
            return c == '*' ? "'*' only as a whole first label (*.example.com)"
                            : "not a domain pattern or CIDR";
        }
        letter = letter || alpha || c == '-' || c == '_';
        if (++label > 63) return "domain label longer than 63 bytes";
        r.name[i] = c;
    }
    if (label == 0) return "empty label in domain";
    if (!letter) return "bad address";  // "300.1.2.3" is a mistyped address, not a name
    r.name_len = static_cast<uint8_t>(name.size());
    r.name[name.size()] = '\0';
    return nullptr;
}

bool port_matches(const Rule& r, uint16_t port) {
    return r.any_port || (port >= r.port_lo && port <= r.port_hi);
}

std::string_view normalized(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    return name;
}

// kAny, kName and kSubdomains against a name (case-insensitive).
bool name_matches(const Rule& r, std::string_view name) {
    switch (r.target) {
        case RuleTarget::kAny: return true;
        case RuleTarget::kName:
            return name.size() == r.name_len && strncasecmp(name.data(), r.name, r.name_len) == 0;
        case RuleTarget::kSubdomains: {
            if (name.size() <= r.name_len + 1u) return false;
            size_t dot = name.size() - r.name_len - 1;
            return name[dot] == '.' && strncasecmp(name.data() + dot + 1, r.name, r.name_len) == 0;
        }
        case RuleTarget::kNetwork: return false;
    }
    return false;
}

}  // namespace

uint16_t port_of(const sockaddr* a) {
    if (a->sa_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(a)->sin_port);
    if (a->sa_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(a)->sin6_port);
    return 0;
}

const char* parse_rule(std::string_view text, bool allow, Rule& out) {
    out = Rule{};
    out.allow = allow;
    text = trim(text);
    if (text.empty()) return "empty rule";
    HostPort hp;  // more than one ':': a bare IPv6 address or network, no port
    if (const char* e = split_host_port(text, hp)) return e;
    std::string_view target = hp.host;
    if (hp.has_port) {
        if (const char* e = parse_ports(hp.port, out)) return e;
    }
    if (target.empty()) return "missing destination";
    if (hp.bracketed) {
        if (target.find(':') == std::string_view::npos) return "brackets hold an IPv6 network";
        out.target = RuleTarget::kNetwork;
        return parse_cidr(target, out.net);
    }
    if (target == "*") {
        out.target = RuleTarget::kAny;
        return nullptr;
    }
    if (target.size() >= 2 && target[0] == '*' && target[1] == '.') {
        out.target = RuleTarget::kSubdomains;
        return set_name(tail(target, 2), out);
    }
    if (const char* e = unusual_address(target)) return e;  // never a name rule
    if (target.find_first_of(":/") != std::string_view::npos || set_name(target, out) != nullptr) {
        // Not a name: it must be an address or a network.
        out.name_len = 0;
        out.name[0] = '\0';
        if (target.find_first_of(":/") == std::string_view::npos) {
            // Explain the name's problem unless it looks numeric.
            bool numeric = true;
            for (char c : target) numeric = numeric && (rule_digit(c) || c == '.');
            if (!numeric) return set_name(target, out);
        }
        out.target = RuleTarget::kNetwork;
        return parse_cidr(target, out.net);
    }
    out.target = RuleTarget::kName;
    return nullptr;
}

const char* add_rule(Policy& p, std::string_view text, bool allow) {
    if (p.count == p.rules.size()) return "too many rules (at most 64)";
    if (const char* e = parse_rule(text, allow, p.rules[p.count])) return e;
    ++p.count;
    return nullptr;
}

const char* parse_policy(std::string_view text, Policy& p) {
    p.count = 0;
    while (!text.empty()) {
        size_t comma = text.find(',');
        std::string_view item = trim(head(text, comma));
        size_t colon = item.find(':');
        std::string_view verb = head(item, colon);
        if (colon == std::string_view::npos || (verb != "allow" && verb != "deny"))
            return "expected allow:RULE or deny:RULE";
        if (const char* e = add_rule(p, tail(item, colon + 1), verb == "allow")) return e;
        if (comma == std::string_view::npos) break;
        text = tail(text, comma + 1);
        if (text.empty()) return "empty item";
    }
    return nullptr;
}

Verdict check_name(const Policy& p, std::string_view name, uint16_t port) {
    name = normalized(name);
    for (size_t i = 0; i < p.count; ++i) {
        const Rule& r = p.rules[i];
        if (name_matches(r, name) && port_matches(r, port)) return {r.allow, i + 1};
    }
    return {!p.default_deny, 0};
}

Verdict check_address(const Policy& p, const sockaddr* a) {
    uint16_t port = port_of(a);
    for (size_t i = 0; i < p.count; ++i) {
        const Rule& r = p.rules[i];
        bool hit = r.target == RuleTarget::kAny ||
                   (r.target == RuleTarget::kNetwork && cidr_contains(r.net, a));
        if (hit && port_matches(r, port)) return {r.allow, i + 1};
    }
    return {!p.default_deny, 0};
}

bool rule_matches(const Rule& r, std::string_view name, const sockaddr* a) {
    uint16_t port = port_of(a);
    if (!name.empty()) return name_matches(r, normalized(name)) && port_matches(r, port);
    bool hit = r.target == RuleTarget::kAny ||
               (r.target == RuleTarget::kNetwork && cidr_contains(r.net, a));
    return hit && port_matches(r, port);
}

Verdict check_lookup(const Policy& p, std::string_view name) {
    name = normalized(name);
    for (size_t i = 0; i < p.count; ++i) {
        const Rule& r = p.rules[i];
        if (!name_matches(r, name)) continue;
        // A port-less rule decides every port; an allow rule with ports allows some.
        if (r.any_port || r.allow) return {r.allow, i + 1};
    }
    return {!p.default_deny, 0};
}

void format_rule(const Rule& r, char* out, size_t cap) {
    if (cap == 0) return;
    char target[kMaxRuleName + 3 + INET6_ADDRSTRLEN + 4];
    switch (r.target) {
        case RuleTarget::kAny: std::snprintf(target, sizeof target, "*"); break;
        case RuleTarget::kName: std::snprintf(target, sizeof target, "%s", r.name); break;
        case RuleTarget::kSubdomains: std::snprintf(target, sizeof target, "*.%s", r.name); break;
        case RuleTarget::kNetwork: {
            char addr[INET6_ADDRSTRLEN] = "?";
            inet_ntop(r.net.family, r.net.addr.data(), addr, sizeof addr);
            bool v6 = r.net.family == AF_INET6;
            std::snprintf(target, sizeof target, "%s%s/%u%s", v6 && !r.any_port ? "[" : "", addr,
                          unsigned{r.net.prefix}, v6 && !r.any_port ? "]" : "");
            break;
        }
    }
    const char* verb = r.allow ? "allow" : "deny";
    if (r.any_port) {
        std::snprintf(out, cap, "%s %s", verb, target);
    } else if (r.port_lo == r.port_hi) {
        std::snprintf(out, cap, "%s %s:%u", verb, target, unsigned{r.port_lo});
    } else {
        std::snprintf(out, cap, "%s %s:%u-%u", verb, target, unsigned{r.port_lo},
                      unsigned{r.port_hi});
    }
}

}  // namespace socksify::shim
