// One audit record appended to a log by path (open, one write, close): for the
// launcher, and for the library's exec hooks, which may run before the library has
// opened its log or in a vfork() child that must not keep an fd.
#pragma once

namespace socksify::shim {

// Appends {"kind":"refusal","verdict":"deny","reason":reason} for the program at
// program_path (its last component is the record's "program") to the log at
// log_path. Does nothing when log_path is null or empty; never touches errno.
void append_refusal(const char* log_path, const char* program_path, const char* reason);

}  // namespace socksify::shim
