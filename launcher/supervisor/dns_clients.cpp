// A small table keyed by (type, local port): ports on loopback are unique per type while
// the socket lives, and a reused port overwrites its old entry. The oldest entries go
// first when it is full; a query from an unknown port is the launcher's.
#include "launcher/supervisor/dns_clients.hpp"

#include <netinet/in.h>

#include <cstdint>
#include <cstring>
#include <mutex>

#include "shim/audit.hpp"

namespace socksify::launcher {
namespace {

struct Client {
    int type = 0;
    uint16_t port = 0;  // 0: a free slot
    long pid = 0;
    char program[64] = {};
};

constexpr size_t kClients = 256;
Client g_clients[kClients];
size_t g_next = 0;
std::mutex g_mu;

uint16_t port_of(const sockaddr_storage& a) {
    if (a.ss_family == AF_INET) return reinterpret_cast<const sockaddr_in&>(a).sin_port;
    if (a.ss_family == AF_INET6) return reinterpret_cast<const sockaddr_in6&>(a).sin6_port;
    return 0;
}

}  // namespace

void note_dns_client(int local, int type, long pid, const char* program) {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (getsockname(local, reinterpret_cast<sockaddr*>(&a), &len) != 0) return;
    uint16_t port = port_of(a);
    if (port == 0) return;
    std::lock_guard lock(g_mu);
    Client* slot = nullptr;
    for (Client& c : g_clients)
        if (c.port == port && c.type == type) slot = &c;
    if (slot == nullptr) slot = &g_clients[g_next++ % kClients];
    slot->type = type;
    slot->port = port;
    slot->pid = pid;
    std::strncpy(slot->program, program != nullptr ? program : "", sizeof slot->program - 1);
}

DnsClientSubject::DnsClientSubject(int type, const sockaddr_storage& from) {
    if (!shim::audit_on()) return;
    uint16_t port = port_of(from);
    long pid = 0;
    {
        std::lock_guard lock(g_mu);
        for (const Client& c : g_clients) {
            if (c.port != port || c.type != type || port == 0) continue;
            pid = c.pid;
            std::memcpy(program_, c.program, sizeof program_);
        }
    }
    if (pid == 0) return;
    shim::audit_subject(pid, program_);
    set_ = true;
}

DnsClientSubject::~DnsClientSubject() {
    if (set_) shim::audit_subject(0, nullptr);
}

}  // namespace socksify::launcher
