// Which programs the preload cannot serve but the supervisor can: statically
// linked ones, Go programs (static or not: Go makes its network calls without
// libc) and programs of a foreign ELF class.
#pragma once

namespace socksify::launcher {

// True for an ELF file with a Go build-info or build-id section.
bool is_go_program(const char* path);

// True for a 32-bit ELF file (the supervisor refuses its network calls: it serves
// the x86_64 ABI only).
bool is_foreign_class(const char* path);

// Why path needs the supervisor ("statically linked", "a Go program", ...), or
// nullptr when the preload serves it (or it is not an ELF file we can read: exec
// reports that). Setuid programs are not listed: no_new_privs would strip them.
const char* supervision_reason(const char* path);

}  // namespace socksify::launcher
