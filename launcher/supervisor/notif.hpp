// What the supervisor's handlers share: one trapped call, its answer, and access to
// the trapping task's memory and fds.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cstdint>

#include "shim/settings/config.hpp"

namespace socksify::launcher {

struct Call {
    uint64_t id = 0;
    pid_t pid = 0;  // the trapping thread
    int nr = 0;
    uint64_t args[6] = {};
};

struct Answer {
    int err = 0;  // errno for the program; 0: success with val
    int64_t val = 0;
    bool proceed = false;  // let the call run as the program made it
    bool gone = false;     // the call was cancelled (task killed): send nothing
};

inline Answer fail(int err) { return {err, 0, false, false}; }
inline Answer done(int64_t val = 0) { return {0, val, false, false}; }
inline Answer proceed() { return {0, 0, true, false}; }
inline Answer gone() { return {0, 0, false, true}; }

// The trapping task's socket, taken into the supervisor with pidfd_getfd: the same
// open file, so connecting it connects the program's fd (number, options, flags kept).
class TakenFd {
  public:
    TakenFd() = default;
    ~TakenFd();
    TakenFd(const TakenFd&) = delete;
    TakenFd& operator=(const TakenFd&) = delete;

    // 0 or the errno the program should see (EBADF); ESRCH when the task is gone.
    // shape: also read domain and type (ENOTSOCK for a non-socket).
    int take(int listener, const Call& c, int fd, bool shape = true);
    int local() const { return local_; }
    int pidfd() const { return pidfd_; }
    int domain = 0;  // SO_DOMAIN, SO_TYPE of the socket (0 for a non-socket)
    int type = 0;

  private:
    int pidfd_ = -1;
    int local_ = -1;
};

// Copies n bytes at addr of pid into out: 0 or EFAULT.
int read_task(pid_t pid, uint64_t addr, void* out, size_t n);

// True while the call is still waiting (the memory read belonged to it).
bool call_alive(int listener, uint64_t id);

// Installs local over the program's fd number (when the library had to replace the
// socket): 0 or errno.
int install_over(int listener, const Call& c, int local, int target_fd);

// Handlers. The configuration is the library's, loaded by the supervisor.
Answer on_connect(int listener, const Call& c, const shim::Config& cfg);
// on_send runs on the receiving thread only (it never waits); on_connect on any.
Answer on_send(int listener, const Call& c, const shim::Config& cfg);

// A socket() or socketpair() the strict filter refused: EACCES, one log line and one
// audit record naming what was refused.
Answer on_refused_socket(const Call& c, const shim::Config& cfg);

// Shuts down the program's socket of a pending connect (the audit log failed).
void shut_program_socket(int listener, const Call& c);

// --strict: a send the supervisor makes itself from its copies of the program's
// address, data and ancillary data (may wait: run on a worker); a connect on a socket
// of another family than inet, made from its copy too.
Answer strict_send(int listener, const Call& c, const shim::Config& cfg);
Answer connect_other(const Call& c, const TakenFd& t);

// The fake nameserver a redirected DNS socket is connected to (UDP, and TCP one thread
// per client connection), on loopback: started once.
bool start_dns_server(const shim::Config& cfg);
// Its address for a socket of domain (AF_INET, AF_INET6) and type (SOCK_DGRAM,
// SOCK_STREAM); false when none.
// carrier: the --dns-tcp carrier's (TCP only).
bool dns_server_address(int domain, int type, sockaddr_storage& out, socklen_t& len,
                        bool carrier = false);

}  // namespace socksify::launcher
