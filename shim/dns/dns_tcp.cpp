// DNS over TCP through the proxy: a fresh socket, the CONNECT path, one exchange.
#include "shim/dns/dns_tcp.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "shim/fd_table.hpp"
#include "shim/io.hpp"
#include "shim/proxy/tcp_connect.hpp"
#include "shim/real.hpp"

namespace socksify::shim {

int dns_query_over_proxy(const Config& cfg, const unsigned char* query, int qlen,
                         unsigned char* answer, int anslen, int& err) {
    if (qlen <= 0 || qlen > 0xffff || anslen <= 0) {
        err = EINVAL;
        return -1;
    }
    int fd = socket(cfg.dns_server.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        err = errno;
        return -1;
    }
    Deadline deadline = Deadline::after_ms(cfg.timeout_ms);
    // Supervised: a plain connect to the nameserver, which the supervisor points at its
    // own carrier (it judges each query and carries it through the proxy).
    err = cfg.supervised ? connect_until(fd, reinterpret_cast<const sockaddr*>(&cfg.dns_server),
                                         cfg.dns_server_len, deadline)
                         : connect_via_proxy(fd, reinterpret_cast<const sockaddr*>(&cfg.dns_server),
                                             cfg.dns_server_len, {}, cfg);
    int stored = -1;
    if (err == 0) {
        uint8_t prefix[2] = {static_cast<uint8_t>(qlen >> 8), static_cast<uint8_t>(qlen)};
        size_t got = 0;
        if ((err = send_all(fd, prefix, deadline)) == 0 &&
            (err = send_all(fd, {query, static_cast<size_t>(qlen)}, deadline)) == 0 &&
            (err = recv_exact(fd, prefix, got, deadline)) == 0) {
            size_t len = (static_cast<size_t>(prefix[0]) << 8) | prefix[1];
            size_t keep = len < static_cast<size_t>(anslen) ? len : static_cast<size_t>(anslen);
            if ((err = recv_exact(fd, {answer, keep}, got, deadline)) == 0)
                stored = static_cast<int>(keep);
        }
    }
    set_kind(fd, FdKind::kNone);
    real::close(fd);
    return stored;
}

}  // namespace socksify::shim
