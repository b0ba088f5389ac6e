// Settings → environment: the SOCKSIFY_* variables, LD_PRELOAD and the rest of the
// program's environment (docs/ARCHITECTURE.md, "The environment contract").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "launcher/options.hpp"

namespace socksify::launcher {

// The program's environment being built (starts as the launcher's own).
void env_reset(char** from);
const char* env_lookup(const char* name);
void env_set(const char* name, const std::string& value);
void env_unset(const char* name);
std::vector<char*> env_block();  // for posix_spawn; valid until the next change

// Under --strict the audit log is the supervisor's alone: its path is kept here, not
// in the program's environment. The path wherever it is kept ("" when none).
const char* audit_path();
// The configuration the supervisor loads: the program's, with the private audit log,
// and never "supervised" (the supervisor answers the lookups the library asks for).
const char* supervisor_lookup(const char* name);

// A parsed proxy URL as the library is given it, the one place its text is made: the
// host resolved here (the library never needs DNS for a proxy), the credentials
// percent-encoded, the password only when with_password.
std::string export_url(const shim::ProxyUrl& parsed, bool with_password);

// LD_PRELOAD with ours first, except that a sanitizer runtime stays ahead of it.
std::string build_preload(const std::string& lib, const char* old);

// Every setting the library reads, from o (after pick_proxy), into the program's
// environment; the proxy's password never (it travels in the run's shared state).
void export_settings(const Options& o);

}  // namespace socksify::launcher
