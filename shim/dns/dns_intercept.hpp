// DNS around libc: under remote DNS, a datagram or TCP stream to port 53 of a
// nameserver /etc/resolv.conf names is DNS whatever the address's direct status (dig,
// host, nslookup, c-ares, Go). It never reaches the nameserver: A/AAAA are answered
// as getaddrinfo answers them (fake addresses), other types are carried by --dns-tcp
// or REFUSED. The answer is written by the socket to itself (a UDP socket sends it to
// its own address; a TCP socket is connected to itself), so it arrives through the
// kernel and poll/epoll see it like a nameserver's reply.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "shim/settings/config.hpp"

namespace socksify::shim {

// True under remote DNS (or a bad configuration) when dest is port 53 of one of the
// nameservers /etc/resolv.conf named when first asked (glibc's default 127.0.0.1 when
// it names none).
bool is_intercepted_nameserver(const Config& cfg, const sockaddr* dest, socklen_t len);

// The answer to one DNS query message, written to out: from the fake-DNS table and
// the hosts file for A/AAAA, through --dns-tcp for other types, else REFUSED.
// Returns its length, 0 when there is nothing to answer (no header).
size_t answer_dns_query(const Config& cfg, const uint8_t* query, size_t len, uint8_t* out,
                        size_t cap);

// connect() of a UDP or TCP socket to such a nameserver: the socket is connected to
// itself instead and the record keeps the nameserver as its peer (getpeername). TCP
// sockets become FdKind::kDnsStream. false: not a nameserver, the caller goes on;
// true: err is the result (0 or an errno).
bool dns_intercept_connect(int fd, const sockaddr* dest, socklen_t len, const Config& cfg,
                           int& err);

// sendmsg on a watched UDP socket: a datagram to a nameserver (its address, or the
// connected peer) is answered instead of sent. false: not DNS; true: n/err set.
bool dns_udp_send(int fd, const msghdr* msg, const Config& cfg, ssize_t& n, int& err);

// After a receive on a watched UDP socket without an association: an answer the
// socket sent itself is reported as coming from the nameserver it asked.
void dns_udp_source(int fd, sockaddr_storage& from, socklen_t& len);

// sendmsg on a kDnsStream socket: length-prefixed queries (RFC 1035 §4.2.2), which
// may arrive split over several calls, are answered into the stream. Returns the
// bytes taken, or -1 with err.
ssize_t dns_stream_send(int fd, const msghdr* msg, const Config& cfg, int& err);

}  // namespace socksify::shim
