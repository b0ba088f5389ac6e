// libFuzzer target: the audit log's record, both ways. Any line given to
// parse_audit_line (what --audit-summary reads from a file anyone may have edited)
// parses or is rejected without reading out of bounds; and a record built from any
// bytes formats to one line of at most kAuditRecordMax bytes that parses back with
// its kind and verdict.
#include <cstring>
#include <string_view>

#include "shim/settings/audit_format.hpp"
#include "tests/fuzz/invariants.hpp"

using namespace socksify::shim;
using socksify::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    AuditFields fields;
    if (parse_audit_line(text, fields)) {
        require(std::memchr(fields.kind, '\0', sizeof fields.kind) != nullptr);
        require(std::memchr(fields.verdict, '\0', sizeof fields.verdict) != nullptr);
        require(std::memchr(fields.name, '\0', sizeof fields.name) != nullptr);
        require(std::memchr(fields.address, '\0', sizeof fields.address) != nullptr);
    }

    // Split the input into the record's free-text fields.
    std::string_view parts[4];
    std::string_view rest = text;
    for (auto& part : parts) {
        size_t cut = rest.find('\x01');
        part = rest.substr(0, cut);
        rest = cut == std::string_view::npos ? std::string_view{} : rest.substr(cut + 1);
    }
    AuditRecord r;
    r.time_ms = 1795737600123;
    r.pid = 4242;
    r.program = parts[0];
    r.kind = "connect";
    r.name = parts[1];
    r.address = parts[2];
    r.port = size > 0 ? data[0] * 256 + (size > 1 ? data[1] : 0) : -1;
    r.proxy = "198.51.100.1:1080";
    r.verdict = "deny";
    r.reason = parts[3];
    char line[kAuditRecordMax];
    const size_t n = format_audit_record(r, line, sizeof line);
    require(n >= 2 && n <= sizeof line && line[n - 1] == '\n');
    require(std::memchr(line, '\n', n - 1) == nullptr);  // one line
    AuditFields back;
    require(parse_audit_line(std::string_view(line, n - 1), back));
    require(std::strcmp(back.kind, "connect") == 0 && std::strcmp(back.verdict, "deny") == 0);
    return 0;
}
