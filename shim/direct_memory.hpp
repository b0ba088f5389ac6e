// The addresses direct-suffix names resolved to, remembered so that a connection to
// one of them goes direct like the name did; and the one "does dest go direct?" test
// every connect, send and receive path asks.
#pragma once

#include <sys/socket.h>

#include "shim/settings/config.hpp"

namespace socksify::shim {

// Remembers an address a direct-suffix name resolved to, so connect goes direct.
void remember_direct(const sockaddr* a);
bool is_remembered_direct(const sockaddr* a);

// True when a goes direct: in the direct list (is_direct), or remembered above. False
// when the configuration is invalid (nothing goes direct then).
bool goes_direct(const Config& cfg, const sockaddr* a);

}  // namespace socksify::shim
