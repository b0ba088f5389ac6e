// The addresses direct-suffix names resolved to, remembered so that a connection to
// one of them goes direct like the name did.
#pragma once

#include <sys/socket.h>

namespace socksify::shim {

// Remembers an address a direct-suffix name resolved to, so connect goes direct.
void remember_direct(const sockaddr* a);
bool is_remembered_direct(const sockaddr* a);

}  // namespace socksify::shim
