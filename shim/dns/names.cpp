// Which names are faked, and index ↔ fake address arithmetic. Index i is host
// number i+1 of each range (the range's own network address is never handed out).
#include "shim/dns/names.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstdio>
#include <cstring>

#include "shim/audit.hpp"
#include "shim/dns/fake_dns.hpp"
#include "shim/dns/hosts_file.hpp"
#include "shim/dns/supervisor_dns.hpp"
#include "shim/log.hpp"
#include "shim/shared_state.hpp"

namespace socksify::shim {
namespace {

bool has_suffix(const Config& cfg, std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    for (size_t i = 0; i < cfg.suffix_count; ++i) {
        std::string_view suffix(cfg.suffixes[i]);  // stored with its leading dot
        std::string_view bare = suffix;
        bare.remove_prefix(1);
        if (name.size() == bare.size() && strncasecmp(name.data(), bare.data(), bare.size()) == 0)
            return true;
        if (name.size() > suffix.size() && strncasecmp(name.data() + name.size() - suffix.size(),
                                                       suffix.data(), suffix.size()) == 0)
            return true;
    }
    return false;
}

uint64_t host_count(const Cidr& c) {
    int bits = (c.family == AF_INET ? 32 : 128) - c.prefix;
    if (bits >= 32) return UINT32_MAX;
    return (uint64_t{1} << bits);
}

// Adds n to the big-endian address bytes of c (host part only).
void add_to(const Cidr& c, uint32_t n, uint8_t* out) {
    size_t size = c.family == AF_INET ? 4 : 16;
    memcpy(out, c.addr.data(), size);
    uint64_t carry = n;
    for (size_t i = size; i-- > 0 && carry != 0;) {
        carry += out[i];
        out[i] = static_cast<uint8_t>(carry & 0xff);
        carry >>= 8;
    }
}

// The offset of addr inside c, if it is inside.
bool offset_in(const Cidr& c, const uint8_t* addr, uint64_t& offset) {
    size_t size = c.family == AF_INET ? 4 : 16;
    size_t full = c.prefix / 8;
    if (memcmp(addr, c.addr.data(), full) != 0) return false;
    if (c.prefix % 8 != 0) {
        uint8_t mask = static_cast<uint8_t>(0xff << (8 - c.prefix % 8));
        if ((addr[full] & mask) != c.addr[full]) return false;
    }
    // Host numbers fit in 32 bits: the ranges' capacity is at most 2^24.
    offset = 0;
    for (size_t i = size >= 4 ? size - 4 : 0; i < size; ++i) offset = (offset << 8) | addr[i];
    uint64_t base = 0;
    for (size_t i = size - 4; i < size; ++i) base = (base << 8) | c.addr[i];
    offset -= base;
    return true;
}

}  // namespace

NameRoute route_name(const Config& cfg, const char* name, bool utf8, HostText& host) {
    host = HostText{};
    if (name == nullptr) return NameRoute::kLocal;
    HostKind kind = parse_host(name, utf8, host);
    // An address in any spelling is an address: no lookup, and the policy's network
    // rules and the direct list judge it (the proxy never sees it as a DOMAINNAME).
    if (kind == HostKind::kIpv4 || kind == HostKind::kIpv6) return NameRoute::kLiteral;
    if (!cfg.valid) return NameRoute::kRefuse;
    if (cfg.dns_mode == DnsMode::kLocal) return NameRoute::kLocal;
    // The hosts file answers any text its lines hold, before the DNS backend's checks.
    if (hosts_file_has("/etc/hosts", name)) return NameRoute::kLocal;
    if (kind != HostKind::kName) return NameRoute::kNotFound;
    if (has_suffix(cfg, name)) return NameRoute::kLocal;
    if (cfg.dns_mode == DnsMode::kOff) return NameRoute::kRefuse;
    return NameRoute::kFake;
}

uint32_t fake_capacity(const Config& cfg) {
    uint64_t cap = kFakeDnsMaxCapacity;
    for (const Cidr* c : {&cfg.fake_net4, &cfg.fake_net6}) {
        if (c->family == AF_UNSPEC) continue;
        uint64_t hosts = host_count(*c);
        cap = std::min<uint64_t>(cap, hosts > 2 ? hosts - 2 : 0);
    }
    return static_cast<uint32_t>(cap);
}

void describe_fake_table(const Config& cfg, char* out, size_t cap) {
    uint32_t n = fake_capacity(cfg);
    FakeDnsLayout l = fake_dns_layout(n);
    // The hash index is touched all over after a few thousand names; entries and names
    // as they come (16 bytes each, the name rounded up to 16).
    snprintf(out, cap,
             "fake-dns: %u names at once, then the least recently used given back after %u "
             "min unused; memory %.1f MB index + 16 B entry + name (16 B steps) per name",
             n, cfg.fake_min_age_s / 60, static_cast<double>(l.entry_off - l.bucket_off) / 1e6);
}

void fake_address(const Config& cfg, uint32_t index, int family, sockaddr_storage& out,
                  socklen_t& len) {
    memset(&out, 0, sizeof out);
    if (family == AF_INET6) {
        auto& in6 = reinterpret_cast<sockaddr_in6&>(out);
        in6.sin6_family = AF_INET6;
        add_to(cfg.fake_net6, index + 1, in6.sin6_addr.s6_addr);
        len = sizeof in6;
    } else {
        auto& in = reinterpret_cast<sockaddr_in&>(out);
        in.sin_family = AF_INET;
        add_to(cfg.fake_net4, index + 1, reinterpret_cast<uint8_t*>(&in.sin_addr));
        len = sizeof in;
    }
}

bool fake_index_of_bytes(const Config& cfg, int family, const void* addr, uint32_t& index) {
    const auto* bytes = static_cast<const uint8_t*>(addr);
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    const Cidr* range = nullptr;
    if (family == AF_INET6 && memcmp(bytes, kMapped, 12) == 0) {
        bytes += 12;
        family = AF_INET;
    }
    range = family == AF_INET ? &cfg.fake_net4 : &cfg.fake_net6;
    if (range->family != family) return false;
    uint64_t offset = 0;
    if (!offset_in(*range, bytes, offset) || offset == 0 || offset > fake_capacity(cfg))
        return false;
    index = static_cast<uint32_t>(offset - 1);
    return true;
}

bool fake_index_of(const Config& cfg, const sockaddr* a, uint32_t& index) {
    if (a->sa_family == AF_INET)
        return fake_index_of_bytes(cfg, AF_INET, &reinterpret_cast<const sockaddr_in*>(a)->sin_addr,
                                   index);
    if (a->sa_family == AF_INET6)
        return fake_index_of_bytes(cfg, AF_INET6,
                                   &reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr, index);
    return false;
}

namespace {

// One line at -v and one audit record (the old name, the address it had, reason
// "recycled") per name given back.
void report_recycled(const Config& cfg, const Recycled& r, const char* name,
                     const sockaddr_storage& addr, uint64_t total) {
    std::string_view old(r.old_name, r.old_len);
    if (cfg.log_level >= LogLevel::kVerbose) {
        char text[64];
        format_sockaddr(reinterpret_cast<const sockaddr*>(&addr), text, sizeof text);
        log_line(LogLevel::kVerbose,
                 "fake-DNS range full: gave back %.*s (no connection, idle) and its address %s "
                 "to %s (%llu given back so far)",
                 static_cast<int>(old.size()), old.data(), text, name,
                 static_cast<unsigned long long>(total));
    }
    if (audit_on()) {
        AuditEvent e = audit_event(AuditKind::kLookup, nullptr, old);
        e.address = reinterpret_cast<const sockaddr*>(&addr);
        e.via_proxy = false;
        e.reason = "recycled";
        audit(cfg, e);
    }
}

}  // namespace

int fake_lookup(const Config& cfg, const char* name, int family, sockaddr_storage& out,
                socklen_t& len) {
    // Supervised: the supervisor's table decides what an address means, not ours.
    if (cfg.supervised) return ask_supervisor(cfg, name, family, out, len);
    FakeDns* table = fake_dns_table();
    if (table == nullptr) return EAI_AGAIN;
    uint32_t index = 0;
    Recycled recycled;
    switch (fake_dns_insert(*table, name, index, fake_dns_now(), &recycled)) {
        case InsertResult::kOk:
            fake_address(cfg, index, family, out, len);
            if (recycled.happened)
                report_recycled(cfg, recycled, name, out,
                                table->h->recycled.load(std::memory_order_relaxed));
            return 0;
        case InsertResult::kBadName: return EAI_NONAME;
        case InsertResult::kFull:
            uint32_t zero = 0;
            if (table->h->full_logged.compare_exchange_strong(zero, 1))
                log_line(LogLevel::kError,
                         "fake-DNS range full (%u names), none unused and idle for %u min: "
                         "lookups of new names fail until one is",
                         table->capacity, table->min_age_s / 60);
            return EAI_AGAIN;
    }
    return EAI_AGAIN;
}

std::string_view fake_name_of(const Config& cfg, const sockaddr* a) {
    static thread_local char t_name[kMaxName];
    uint32_t index = 0;
    FakeDns* table = fake_dns_table();
    if (table == nullptr || !fake_index_of(cfg, a, index)) return {};
    return {t_name, fake_dns_name(*table, index, t_name, fake_dns_now())};
}

uint32_t fake_pin(const Config& cfg, const sockaddr* a) {
    uint32_t index = 0;
    FakeDns* table = fake_dns_table();
    if (table == nullptr || cfg.dns_mode != DnsMode::kRemote || !fake_index_of(cfg, a, index))
        return 0;
    return fake_dns_pin(*table, index, fake_dns_now()) ? index + 1 : 0;
}

void fake_unpin(uint32_t pin) {
    FakeDns* table = fake_dns_table();
    if (pin != 0 && table != nullptr) fake_dns_unpin(*table, pin - 1, fake_dns_now());
}

namespace {
// The highest fd that ever held a pin: a fork scans the table up to it only.
constinit std::atomic<int> g_pinned_high{-1};

void note_pinned(int fd) {
    int high = g_pinned_high.load(std::memory_order_relaxed);
    while (fd > high && !g_pinned_high.compare_exchange_weak(high, fd)) {
    }
}

}  // namespace

void record_pin(int fd, FdRecord& rec, const Config& cfg, const sockaddr* dest) {
    uint32_t pin = fake_pin(cfg, dest);
    fake_unpin(rec.fake_pin);
    rec.fake_pin = pin;
    if (pin != 0) note_pinned(fd);
}

void record_unpin(FdRecord& rec) {
    uint32_t pin = rec.fake_pin;
    rec.fake_pin = 0;
    fake_unpin(pin);
}

void record_repin(int fd, FdRecord& rec) {
    FakeDns* table = fake_dns_table();
    if (rec.fake_pin == 0 || table == nullptr) return;
    // A pinned entry cannot have been given back: it still holds rec's name.
    if (!fake_dns_pin(*table, rec.fake_pin - 1, fake_dns_now())) {
        rec.fake_pin = 0;
        return;
    }
    note_pinned(fd);
}

void repin_after_fork() {
    int high = g_pinned_high.load(std::memory_order_relaxed);
    for (int fd = 0; fd <= high; ++fd) {
        if (kind_of(fd) == FdKind::kNone) continue;
        if (FdRecord* rec = fd_record(fd)) record_repin(fd, *rec);
    }
}

}  // namespace socksify::shim
