// Who is asking the supervisor's fake nameserver: the supervisor connects a program's
// DNS socket to it and notes the socket's local port with the program's pid and
// executable, so the audit records of the lookups name the program, not the launcher.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

namespace socksify::launcher {

// After connecting local (a socket taken from program pid, type SOCK_DGRAM or
// SOCK_STREAM) to the nameserver: remembers its port for pid and program.
void note_dns_client(int local, int type, long pid, const char* program);

// While it lives, this thread's audit records name the program whose socket of type
// has the address from (loopback, as the nameserver saw it); the launcher when unknown.
class DnsClientSubject {
  public:
    DnsClientSubject(int type, const sockaddr_storage& from);
    ~DnsClientSubject();
    DnsClientSubject(const DnsClientSubject&) = delete;
    DnsClientSubject& operator=(const DnsClientSubject&) = delete;

  private:
    bool set_ = false;
    char program_[64] = {};
};

}  // namespace socksify::launcher
