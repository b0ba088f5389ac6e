// Socket surgery the TCP path needs: toggling O_NONBLOCK by read-modify-write, and
// replacing a socket in place (dup3 onto the program's fd) while keeping its fd
// flags, status flags, options and local binding.
#pragma once

#include <sys/socket.h>

namespace socksify::shim {

// Sets O_NONBLOCK if flags (fd's file status flags, F_GETFL: the caller reads them
// once for its own decisions too) lack it. 0 or errno.
int make_nonblocking(int fd, int flags);

// Puts back the flags make_nonblocking found, if it changed them: one fcntl, and
// right also when fd was replaced by a fresh socket in between.
void restore_blocking(int fd, int old_flags);

// Replaces fd by a new socket of family with the same type and protocol. Options
// carry over where they mean the same thing; with rebind, so does the local address
// (only meaningful before connect: afterwards it is the kernel's pick). 0 or errno.
int replace_socket(int fd, int family, bool rebind);

// True when fd has a local port, i.e. the program bound it (before any connect).
bool is_bound(int fd);

}  // namespace socksify::shim
