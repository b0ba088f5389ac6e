// A DNS query carried over TCP (RFC 1035 §4.2.2 length prefix) to the configured
// nameserver through the proxy: how the res_* family avoids leaking.
#pragma once

#include "shim/settings/config.hpp"

namespace socksify::shim {

// Sends query, reads the answer into answer (truncated to anslen). Returns the
// number of bytes stored, or -1 with err set.
int dns_query_over_proxy(const Config& cfg, const unsigned char* query, int qlen,
                         unsigned char* answer, int anslen, int& err);

}  // namespace socksify::shim
