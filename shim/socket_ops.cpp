// Replacing a socket keeps what the program set on it: the fd number, FD_CLOEXEC,
// file status flags, the common socket options and an explicit bind().
#include "shim/socket_ops.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "shim/fd_table.hpp"
#include "shim/real.hpp"

namespace socksify::shim {
namespace {

struct Option {
    int level;
    int name;
};

// Options that mean the same on an AF_INET and an AF_INET6 socket.
constexpr Option kPortableOptions[] = {
    {SOL_SOCKET, SO_REUSEADDR}, {SOL_SOCKET, SO_REUSEPORT},      {SOL_SOCKET, SO_KEEPALIVE},
    {SOL_SOCKET, SO_LINGER},    {SOL_SOCKET, SO_RCVBUF},         {SOL_SOCKET, SO_SNDBUF},
    {SOL_SOCKET, SO_RCVTIMEO},  {SOL_SOCKET, SO_SNDTIMEO},       {SOL_SOCKET, SO_OOBINLINE},
    {SOL_SOCKET, SO_PRIORITY},  {SOL_SOCKET, SO_MARK},           {SOL_SOCKET, SO_BINDTODEVICE},
    {IPPROTO_TCP, TCP_NODELAY}, {IPPROTO_TCP, TCP_KEEPIDLE},     {IPPROTO_TCP, TCP_KEEPINTVL},
    {IPPROTO_TCP, TCP_KEEPCNT}, {IPPROTO_TCP, TCP_USER_TIMEOUT}, {IPPROTO_TCP, TCP_CONGESTION},
    {IPPROTO_TCP, TCP_MAXSEG},
};
constexpr Option kIpv4Options[] = {{IPPROTO_IP, IP_TOS}, {IPPROTO_IP, IP_TTL}};
constexpr Option kIpv6Options[] = {
    {IPPROTO_IPV6, IPV6_TCLASS}, {IPPROTO_IPV6, IPV6_UNICAST_HOPS}, {IPPROTO_IPV6, IPV6_V6ONLY}};

void copy_option(int from, int to, Option o) {
    unsigned char value[64];
    socklen_t len = sizeof value;
    if (getsockopt(from, o.level, o.name, value, &len) != 0 || len == 0) return;
    if (o.level == SOL_SOCKET && (o.name == SO_RCVBUF || o.name == SO_SNDBUF)) {
        int v;
        memcpy(&v, value, sizeof v);
        v /= 2;  // the kernel doubles what is set and reports the doubled value
        memcpy(value, &v, sizeof v);
    }
    (void)setsockopt(to, o.level, o.name, value, len);  // best effort: unset ones fail
}

template <size_t N>
void copy_options(int from, int to, const Option (&list)[N]) {
    for (const Option& o : list) copy_option(from, to, o);
}

bool has_explicit_binding(const sockaddr_storage& local) {
    if (local.ss_family == AF_INET)
        return reinterpret_cast<const sockaddr_in&>(local).sin_port != 0;
    if (local.ss_family == AF_INET6)
        return reinterpret_cast<const sockaddr_in6&>(local).sin6_port != 0;
    return false;
}

}  // namespace

bool is_bound(int fd) {
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    return getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0 &&
           has_explicit_binding(local);
}

int make_nonblocking(int fd, int flags) {
    if ((flags & O_NONBLOCK) == 0 && real::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
        return errno;
    return 0;
}

void restore_blocking(int fd, int old_flags) {
    if ((old_flags & O_NONBLOCK) == 0) (void)real::fcntl(fd, F_SETFL, old_flags);
}

int replace_socket(int fd, int family, bool rebind_wanted) {
    int type = 0;
    int protocol = 0;
    int domain = 0;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return errno;
    len = sizeof protocol;
    if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) != 0) return errno;
    len = sizeof domain;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) return errno;
    int fd_flags = real::fcntl(fd, F_GETFD, 0);
    int status_flags = real::fcntl(fd, F_GETFL, 0);
    if (fd_flags < 0 || status_flags < 0) return errno;
    sockaddr_storage local{};
    socklen_t local_len = sizeof local;
    bool rebind = rebind_wanted && domain == family &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) == 0 &&
                  has_explicit_binding(local);

    int fresh = socket(family, type | SOCK_CLOEXEC, protocol);
    if (fresh < 0) return errno;
    copy_options(fd, fresh, kPortableOptions);
    if (domain == family) {
        if (family == AF_INET) copy_options(fd, fresh, kIpv4Options);
        if (family == AF_INET6) copy_options(fd, fresh, kIpv6Options);
    }
    // Reset instead of FIN: the abandoned proxy connection leaves no TIME_WAIT.
    linger abort_close{1, 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_close, sizeof abort_close);
    int rc = real::dup3(fresh, fd, (fd_flags & FD_CLOEXEC) ? O_CLOEXEC : 0);
    int err = rc < 0 ? errno : 0;
    real::close(fresh);
    if (err != 0) return err;
    forget_object(fd);  // another socket now: its record must be remade (settle)
    if (real::fcntl(fd, F_SETFL, status_flags) != 0) return errno;
    if (rebind && bind(fd, reinterpret_cast<sockaddr*>(&local), local_len) != 0) return errno;
    return 0;
}

}  // namespace socksify::shim
