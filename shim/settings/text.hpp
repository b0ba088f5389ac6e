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

// ASCII case-insensitive equality.
inline bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (to_lower(a[i]) != to_lower(b[i])) return false;
    }
    return true;
}

}  // namespace socksify::shim
