// One A/AAAA query to the supervisor's responder. Never reaches a real nameserver:
// the supervisor answers every connect to port 53 of a supervised run itself.
#include "shim/dns/supervisor_dns.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "protocol/dns_message.hpp"
#include "shim/io.hpp"
#include "shim/real.hpp"

namespace socksify::shim {
namespace {

// The query for name: header (id, RD, one question), labels, type, class IN.
size_t encode_query(const char* name, uint16_t id, uint16_t qtype, uint8_t* out, size_t cap) {
    size_t n = proto::kDnsHeaderSize;
    if (cap < n + proto::kDnsMaxWireName + 4) return 0;
    std::memset(out, 0, n);
    out[0] = static_cast<uint8_t>(id >> 8);
    out[1] = static_cast<uint8_t>(id);
    out[2] = proto::kDnsFlagRd >> 8;
    out[5] = 1;  // QDCOUNT
    const char* p = name;
    while (*p != '\0') {
        const char* dot = std::strchr(p, '.');
        size_t label = dot != nullptr ? static_cast<size_t>(dot - p) : std::strlen(p);
        if (label == 0 || label > 63 || n + 1 + label + 1 > proto::kDnsHeaderSize + 255) return 0;
        out[n++] = static_cast<uint8_t>(label);
        std::memcpy(out + n, p, label);
        n += label;
        p += label;
        if (*p == '.') ++p;
    }
    out[n++] = 0;
    out[n++] = static_cast<uint8_t>(qtype >> 8);
    out[n++] = static_cast<uint8_t>(qtype);
    out[n++] = 0;
    out[n++] = proto::kDnsClassIn;
    return n;
}

}  // namespace

int ask_supervisor(const Config& cfg, const char* name, int family, sockaddr_storage& out,
                   socklen_t& len) {
    uint16_t qtype = family == AF_INET6 ? proto::kDnsTypeAaaa : proto::kDnsTypeA;
    size_t alen = family == AF_INET6 ? 16 : 4;
    uint16_t id = 0;
    if (getrandom(&id, sizeof id, GRND_NONBLOCK) != sizeof id) id = static_cast<uint16_t>(getpid());
    uint8_t query[proto::kDnsHeaderSize + proto::kDnsMaxWireName + 4];
    size_t qlen = encode_query(name, id, qtype, query, sizeof query);
    if (qlen == 0) return EAI_NONAME;
    int fd = real::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return EAI_AGAIN;
    // Any nameserver address: the supervisor connects the socket to its responder.
    sockaddr_in ns{};
    ns.sin_family = AF_INET;
    ns.sin_port = htons(53);
    ns.sin_addr.s_addr = htonl(0x7f000035);  // 127.0.0.53
    int rc = EAI_AGAIN;
    uint8_t reply[proto::kDnsMaxAnswer];
    if (real::connect(fd, reinterpret_cast<sockaddr*>(&ns), sizeof ns) == 0 &&
        real::send(fd, query, qlen, MSG_NOSIGNAL) == static_cast<ssize_t>(qlen)) {
        Deadline deadline = Deadline::after_ms(cfg.timeout_ms);
        for (;;) {
            pollfd p{fd, POLLIN, 0};
            int wait = deadline.remaining_ms();
            if (wait <= 0 || real::poll(&p, 1, wait) <= 0) break;
            ssize_t n = real::recv(fd, reply, sizeof reply, MSG_DONTWAIT);
            if (n < 0) break;
            auto size = static_cast<size_t>(n);
            // Ours: the same id, a response, the question as asked.
            if (size < qlen || reply[0] != query[0] || reply[1] != query[1] ||
                (reply[2] & 0x80) == 0 || std::memcmp(reply + 12, query + 12, qlen - 12) != 0)
                continue;
            int rcode = reply[3] & 0x0f;
            unsigned ancount = static_cast<unsigned>(reply[6] << 8 | reply[7]);
            if (rcode == 5) {
                rc = EAI_FAIL;  // refused: the policy
            } else if (rcode == 3 || (rcode == 0 && ancount == 0)) {
                rc = EAI_NONAME;
            } else if (rcode == 0 && size >= qlen + 12 + alen &&
                       (reply[qlen + 10] << 8 | reply[qlen + 11]) == static_cast<int>(alen)) {
                // The first record: pointer name, type, class, TTL, length, address.
                std::memset(&out, 0, sizeof out);
                if (family == AF_INET6) {
                    auto& in6 = reinterpret_cast<sockaddr_in6&>(out);
                    in6.sin6_family = AF_INET6;
                    std::memcpy(&in6.sin6_addr, reply + qlen + 12, 16);
                    len = sizeof in6;
                } else {
                    auto& in = reinterpret_cast<sockaddr_in&>(out);
                    in.sin_family = AF_INET;
                    std::memcpy(&in.sin_addr, reply + qlen + 12, 4);
                    len = sizeof in;
                }
                rc = 0;
            }
            break;
        }
    }
    real::close(fd);
    return rc;
}

}  // namespace socksify::shim
