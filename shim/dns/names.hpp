// Names and fake addresses: which lookups the shim answers, and the mapping between
// a fake-DNS table index and the fake IPv4/IPv6 addresses that stand for it.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string_view>

#include "settings/config.hpp"
#include "settings/host_text.hpp"

namespace socksify::shim {

enum class NameRoute : uint8_t {
    kLocal,     // in /etc/hosts, a direct suffix, or --dns local: the real resolver
    kLiteral,   // an IP literal in any form: an address, never a name (no lookup)
    kNotFound,  // not a host name (kNotHost, kInvalid): fail as the resolver would
    kFake,      // answered from the fake-DNS table
    kRefuse,    // --dns off, or a bad configuration: fail the lookup
};

// host receives the classification (for the answer's address or name).
NameRoute route_name(const Config& cfg, const char* name, bool utf8, HostText& host);

// How many names the configured fake ranges can hold (≤ kFakeDnsCapacity).
uint32_t fake_capacity(const Config& cfg);

// The fake address of index in family (AF_INET or AF_INET6), port 0.
void fake_address(const Config& cfg, uint32_t index, int family, sockaddr_storage& out,
                  socklen_t& len);

// The table index a (v4, v6 or v4-mapped) fake address stands for.
bool fake_index_of(const Config& cfg, const sockaddr* a, uint32_t& index);

// Same as fake_index_of for raw address bytes (4 or 16 of them).
bool fake_index_of_bytes(const Config& cfg, int family, const void* addr, uint32_t& index);

// Finds or adds name in the shared table and gives its fake address; 0 or an EAI_*
// code (EAI_AGAIN when the table is full, EAI_NONAME for a name SOCKS cannot carry).
int fake_lookup(const Config& cfg, const char* name, int family, sockaddr_storage& out,
                socklen_t& len);

// The name behind a fake address; empty when it is not one or has no name.
std::string_view fake_name_of(const Config& cfg, const sockaddr* a);

}  // namespace socksify::shim
