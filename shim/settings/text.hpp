// string_view helpers shared by the parsers (config, policy, config files): no
// allocation and no exceptions (substr() would throw), so hooks may use them.
#pragma once

#include <string_view>

namespace socksify::shim {

// The first n bytes of s (all of s when shorter).
inline std::string_view head(std::string_view s, size_t n) {
    return n < s.size() ? std::string_view(s.data(), n) : s;
}

// s from pos on (empty past the end).
inline std::string_view tail(std::string_view s, size_t pos) {
    return pos < s.size() ? std::string_view(s.data() + pos, s.size() - pos)
                          : std::string_view(s.data() + s.size(), 0);
}

// Without leading and trailing blanks, tabs and (CRLF files) carriage returns.
inline std::string_view trim(std::string_view s) {
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
    while (!s.empty() && blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && blank(s.back())) s.remove_suffix(1);
    return s;
}

inline char to_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// "[v6]:port", "[v6]", "host:port" (one ':'), or anything else as a host alone (more
// than one ':' is a bare IPv6 address, no port). nullptr, or why the brackets are wrong.
struct HostPort {
    std::string_view host;  // inside the brackets when bracketed
    std::string_view port;  // the text after the ':', when has_port
    bool has_port = false;
    bool bracketed = false;
};
inline const char* split_host_port(std::string_view text, HostPort& out) {
    out = HostPort{text, {}, false, !text.empty() && text.front() == '['};
    if (out.bracketed) {
        size_t close = text.find(']');
        if (close == std::string_view::npos) return "missing ']'";
        out.host = head(tail(text, 1), close - 1);
        std::string_view after = tail(text, close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return "unexpected text after ']'";
            out.port = tail(after, 1);
            out.has_port = true;
        }
    } else if (size_t colon = text.find(':'); colon != std::string_view::npos &&
                                              text.find(':', colon + 1) == std::string_view::npos) {
        out.host = head(text, colon);
        out.port = tail(text, colon + 1);
        out.has_port = true;
    }
    return nullptr;
}

// ASCII case-insensitive equality.
inline bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (to_lower(a[i]) != to_lower(b[i])) return false;
    }
    return true;
}

}  // namespace socksify::shim
