// Supervised runs (--strict): the library gets fake addresses from the supervisor's
// nameserver instead of the shared table, so that what an address means is decided
// by a copy the job cannot write (the supervisor's own table).
#pragma once

#include <sys/socket.h>

#include "shim/settings/config.hpp"

namespace socksify::shim {

// Asks the supervisor for name's fake address in family (AF_INET, AF_INET6) with one
// DNS query on a UDP socket connected to a nameserver address (the supervisor
// redirects it to its own responder); 0 or an EAI_* code: EAI_FAIL when the policy
// refused it, EAI_NONAME for no such name, EAI_AGAIN on a timeout or a server failure.
int ask_supervisor(const Config& cfg, const char* name, int family, sockaddr_storage& out,
                   socklen_t& len);

}  // namespace socksify::shim
