// Names and fake addresses: which lookups the shim answers, and the mapping between
// a fake-DNS table index and the fake IPv4/IPv6 addresses that stand for it.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string_view>

#include "shim/fd_table.hpp"
#include "shim/settings/config.hpp"
#include "shim/settings/host_text.hpp"

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

// How many names the configured fake ranges can hold at once: the smaller range's
// host count less its two ends, at most kFakeDnsMaxCapacity (a /8).
uint32_t fake_capacity(const Config& cfg);

// One line for --check and --version: how many names the ranges hold at once, the
// minimum age before one is given back, and the memory the table can use.
void describe_fake_table(const Config& cfg, char* out, size_t cap);

// The fake address of index in family (AF_INET or AF_INET6), port 0.
void fake_address(const Config& cfg, uint32_t index, int family, sockaddr_storage& out,
                  socklen_t& len);

// The table index a (v4, v6 or v4-mapped) fake address stands for.
bool fake_index_of(const Config& cfg, const sockaddr* a, uint32_t& index);

// Same as fake_index_of for raw address bytes (4 or 16 of them).
bool fake_index_of_bytes(const Config& cfg, int family, const void* addr, uint32_t& index);

// Finds or adds name in the shared table and gives its fake address; 0 or an EAI_*
// code (EAI_AGAIN when every address is taken and none may be given back yet,
// EAI_NONAME for a name SOCKS cannot carry). A name given back is logged (-v).
int fake_lookup(const Config& cfg, const char* name, int family, sockaddr_storage& out,
                socklen_t& len);

// The name behind a fake address, copied into a per-thread buffer (valid until this
// thread's next call); empty when it is not one or has no name.
std::string_view fake_name_of(const Config& cfg, const sockaddr* a);

// A connection or association to fake address a is open: its name is not given back
// until fake_unpin. Returns the index pinned + 1, or 0 when a is no named fake address.
uint32_t fake_pin(const Config& cfg, const sockaddr* a);
// pin: what fake_pin returned (0: nothing).
void fake_unpin(uint32_t pin);

// The fd table's side: rec (fd's record) now holds a pin on dest instead of any it held.
void record_pin(int fd, FdRecord& rec, const Config& cfg, const sockaddr* dest);
// rec's connection is gone: its pin is released.
void record_unpin(FdRecord& rec);
// rec is a copy (dup, or a forked child's) of a record: it takes a pin of its own.
void record_repin(int fd, FdRecord& rec);
// In a forked child: every inherited record takes its own pin (the parent's close
// releases the parent's). An exec'd image knows no fake addresses: the pins of an
// image that execs are kept for good (never wrong, at worst an address kept).
void repin_after_fork();

}  // namespace socksify::shim
