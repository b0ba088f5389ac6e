// --audit-summary: reads an audit log line by line (audit_format.cpp parses each
// record), groups by destination, port and kind, and prints the groups by count.
#include "launcher/summary.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "shim/settings/audit_format.hpp"

namespace socksify::launcher {
// The launcher runs the library's machinery; its names read unqualified here.
using namespace shim;
namespace {

struct Group {
    std::string destination;
    int port = -1;
    std::string kind;
    long count = 0;
    long allowed = 0;
    long denied = 0;
    long errors = 0;
};

std::string printable(std::string_view s) {
    std::string out;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7F) ? '?' : c;
    }
    return out;
}

}  // namespace

int audit_summary(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "re");
    if (f == nullptr) {
        std::fprintf(stderr, "socksify: cannot read audit log '%s': %s\n", printable(path).c_str(),
                     std::strerror(errno));
        return 2;
    }
    std::map<std::tuple<std::string, int, std::string>, Group> groups;
    long records = 0, malformed = 0, first_bad = 0, line_no = 0;
    char* line = nullptr;
    size_t cap = 0;
    ssize_t n;
    static AuditFields fields;
    while ((n = getline(&line, &cap, f)) >= 0) {
        ++line_no;
        std::string_view text(line, static_cast<size_t>(n));
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
        if (text.find_first_not_of(" \t") == std::string_view::npos) continue;
        if (!parse_audit_line(text, fields)) {
            if (malformed++ == 0) first_bad = line_no;
            continue;
        }
        ++records;
        std::string dest = fields.has_name      ? fields.name
                           : fields.has_address ? fields.address
                                                : "-";
        Group& g = groups[{dest, fields.port, fields.kind}];
        if (g.count == 0) {
            g.destination = printable(dest);
            g.port = fields.port;
            g.kind = printable(fields.kind);
        }
        ++g.count;
        std::string_view verdict = fields.verdict;
        if (verdict == "allow") {
            ++g.allowed;
        } else if (verdict == "deny") {
            ++g.denied;
        } else {
            ++g.errors;
        }
    }
    bool read_error = std::ferror(f) != 0;
    std::free(line);
    std::fclose(f);
    if (read_error) {
        std::fprintf(stderr, "socksify: error reading audit log '%s'\n", printable(path).c_str());
        return 2;
    }

    std::vector<Group> rows;
    for (auto& [key, g] : groups) rows.push_back(std::move(g));
    std::stable_sort(rows.begin(), rows.end(),
                     [](const Group& a, const Group& b) { return a.count > b.count; });
    size_t width = std::strlen("DESTINATION");
    for (const Group& g : rows) width = std::max(width, std::min<size_t>(g.destination.size(), 60));
    int w = static_cast<int>(width);
    std::printf("%-*s  %5s  %-7s  %7s  %7s  %7s  %7s\n", w, "DESTINATION", "PORT", "KIND", "COUNT",
                "ALLOWED", "DENIED", "ERRORS");
    for (const Group& g : rows) {
        std::string port = g.port < 0 ? "-" : std::to_string(g.port);
        std::printf("%-*s  %5s  %-7s  %7ld  %7ld  %7ld  %7ld\n", w, g.destination.c_str(),
                    port.c_str(), g.kind.c_str(), g.count, g.allowed, g.denied, g.errors);
    }
    std::printf("%ld record%s, %zu destination%s", records, records == 1 ? "" : "s", rows.size(),
                rows.size() == 1 ? "" : "s");
    if (malformed > 0) {
        std::printf(", %ld malformed line%s skipped (first: line %ld)", malformed,
                    malformed == 1 ? "" : "s", first_bad);
    }
    std::printf("\n");
    return 0;
}

}  // namespace socksify::launcher
