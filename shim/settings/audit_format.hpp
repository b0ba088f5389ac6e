// The audit log's record: one JSON object per line, formatted into a caller's buffer
// (the library writes it with one write(2)) and parsed back for --audit-summary.
// Pure: no allocation, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace socksify::shim {

// A record never exceeds this (newline included): appends of this size by many
// processes to one O_APPEND file stay whole lines.
inline constexpr size_t kAuditRecordMax = 1024;

// String fields whose data() is nullptr are written as JSON null.
struct AuditRecord {
    int64_t time_ms = 0;  // Unix time in milliseconds
    long pid = 0;
    std::string_view program;
    std::string_view kind;     // connect, udp, lookup, refusal
    std::string_view name;     // destination name
    std::string_view address;  // destination address, numeric
    int port = -1;             // < 0: null
    std::string_view proxy;    // "198.51.100.1:1080"
    std::string_view verdict;  // allow, deny, error
    std::string_view reason;   // ok, policy, ECONNREFUSED, …
    long ms = 0;
};

// Writes the record and a newline into out (cap ≥ kAuditRecordMax); long strings are
// cut so that the record fits. Returns its length.
size_t format_audit_record(const AuditRecord& r, char* out, size_t cap);

// JSON string contents for in (no quotes): '"', '\\' and control bytes (C0, DEL, and
// C1 as UTF-8) escaped, valid UTF-8 copied, any other byte written as \u00XX. Stops
// before an escape or a UTF-8 sequence that would not fit in cap; returns the bytes
// written.
size_t json_escape(std::string_view in, char* out, size_t cap);

// The same escaping for a line of text (the library's stderr log): '"' stays.
size_t text_escape(std::string_view in, char* out, size_t cap);

// "2026-11-27T00:00:00.123Z" (24 characters and a NUL) for a Unix time in ms.
void format_utc_ms(int64_t ms, char (&out)[25]);

// The fields --audit-summary reads from one line.
struct AuditFields {
    char kind[16] = {};
    char verdict[16] = {};
    bool has_name = false;
    char name[512] = {};
    bool has_address = false;
    char address[64] = {};
    int port = -1;  // -1: null or absent
};

// Parses one line (a flat JSON object; strings, numbers, true/false/null values).
// False when it is not one, or lacks a string "kind" and "verdict". Over-long
// strings are cut to the field's size.
bool parse_audit_line(std::string_view line, AuditFields& out);

}  // namespace socksify::shim
