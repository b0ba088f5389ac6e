// The library's audit log (SOCKSIFY_AUDIT): one JSON line per connect, UDP
// association, name lookup and refusal, appended with one write(2) to a file opened
// once and hidden from the program. The policy checks that report to it: police.hpp.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string_view>

#include "shim/settings/config.hpp"

namespace socksify::shim {

enum class AuditKind : uint8_t { kConnect, kUdp, kLookup, kRefusal };
enum class AuditVerdict : uint8_t { kAllow, kDeny, kError };

struct AuditEvent {
    AuditKind kind = AuditKind::kConnect;
    std::string_view name;              // data() == nullptr: no name (JSON null)
    const sockaddr* address = nullptr;  // numeric destination and its port; or null
    int port = -1;                      // used when address is null; < 0: null
    AuditVerdict verdict = AuditVerdict::kAllow;
    const char* reason = "ok";  // with verdict kError and err set: the errno's name
    int err = 0;
    int64_t start_ns = 0;       // monotonic start, for "ms"; 0: 0 ms
    bool via_proxy = true;      // false: "proxy" is null (nothing was sent to it)
    const char* via = nullptr;  // the route or chain that carried it; null: the proxy
};

// Opens cfg.audit_path once, at start-up, before the configuration is published: the
// fd is moved above high_fd_floor() and hidden like a UDP control connection. A log
// that cannot be opened makes the configuration invalid, so nothing runs unaudited.
void audit_open(Config& cfg);

// True when a log is open: callers skip the work of building a record otherwise.
bool audit_on();

// True once a record could not be written whole (a full disk, a file size limit, the
// fd replaced): the supervisor fails closed from then on.
bool audit_failed();

// Appends one record when a log is open. Never touches errno.
void audit(const Config& cfg, const AuditEvent& e);

// An event about dest: by name and port when name is set (dest was its fake address),
// else by address; dest may be null.
AuditEvent audit_event(AuditKind kind, const sockaddr* dest, std::string_view name = {});

// Records e as refused for reason before anything was sent: verdict deny, no proxy.
void audit_denied(const Config& cfg, AuditEvent e, const char* reason);

// Records e as done (err 0: allow) or as failed with err (verdict error).
void audit_result(const Config& cfg, AuditEvent e, int err);

// One record for a fake-DNS lookup: answered with fake (reason null), or refused or
// failed for reason (an "EAI_*" name is an error, anything else a denial).
void audit_lookup(const Config& cfg, const char* name, const sockaddr_storage* fake,
                  const char* reason);

// Records made by this thread name pid and program instead of this process (the
// launcher's supervisor acts for the programs it serves); pid 0 goes back to this one.
void audit_subject(long pid, const char* program);

}  // namespace socksify::shim
