// What the kernel makes of an address passed to connect, sendto, sendmsg or sendmmsg on
// an AF_INET/AF_INET6 TCP or UDP socket: the one classification every hook uses, so the
// hooks accept exactly what the kernel accepts (issue 11). It models Linux's rules
// (net/socket.c, net/ipv4/af_inet.c, tcp_ipv4.c, udp.c, datagram.c, net/ipv6/tcp_ipv6.c,
// udp.c, datagram.c) for a socket that is not connected yet; tests/unit compares it
// with the running kernel for every family and length.
#pragma once

#include <sys/socket.h>

#include <cstdint>

namespace socksify::shim {

enum class Proto : uint8_t {
    kOther,  // raw, ICMP, SCTP, …: not the TCP or UDP hooks' to route
    kTcp,    // SOCK_STREAM, TCP or MPTCP
    kUdp,    // SOCK_DGRAM, UDP or UDP-Lite
};

struct SocketShape {
    int domain = AF_UNSPEC;  // AF_INET or AF_INET6
    Proto proto = Proto::kOther;
    bool v6only = false;  // AF_INET6 only; read when a form's answer depends on it
};

enum class Entry : uint8_t {
    kConnect,
    kSendto,   // a name with a length of 0 is still a name (the kernel says EINVAL)
    kSendmsg,  // also sendmmsg: a name with a length of 0 is no name
};

enum class Form : uint8_t {
    kDest,        // a destination, in dest as a plain sockaddr_in or sockaddr_in6
    kNoDest,      // no destination: the connected peer (no name; AF_UNSPEC to UDPv6)
    kDisconnect,  // connect(AF_UNSPEC): dissolves the socket's connection
    kIgnored,     // a TCP send without MSG_FASTOPEN: the kernel never reads the name
    kRejected,    // the kernel refuses it with err before anything is sent
    kUnknown,     // an AF_INET/AF_INET6 socket that is neither TCP nor UDP
};

struct AddressForm {
    Form form = Form::kRejected;
    int err = 0;
    bool v6only_matters = false;  // the answer depends on IPV6_V6ONLY
    sockaddr_storage dest{};
    socklen_t dest_len = 0;
};

// addr and len as the program passed them (for sendmsg: msg_name, msg_namelen).
// fastopen: MSG_FASTOPEN was given (a TCP send is then a connect).
AddressForm classify_address(const SocketShape& s, Entry entry, bool fastopen, const sockaddr* addr,
                             socklen_t len);

// False when no AF_INET/AF_INET6 socket takes addr as a destination or disconnect
// (its family is none of AF_UNSPEC, AF_INET, AF_INET6): the kernel refuses it by
// itself, so the call can go to libc as it is. No system call.
bool may_be_inet(const sockaddr* addr, socklen_t len);

// fd's domain and protocol (SO_DOMAIN, SO_TYPE, SO_PROTOCOL); false when fd is not an
// AF_INET/AF_INET6 socket. v6only is left false: see classify_fd.
bool socket_shape(int fd, SocketShape& out);

// classify_address for fd, asking IPV6_V6ONLY only when the answer depends on it.
AddressForm classify_fd(int fd, SocketShape s, Entry entry, bool fastopen, const sockaddr* addr,
                        socklen_t len);

// An address on an AF_INET/AF_INET6 socket the hooks cannot route (kUnknown: raw,
// ICMP, SCTP, … made before the shim was loaded): under --strict refused with one log
// line and one audit record, EACCES; otherwise 0 (it goes to libc, as outside strict
// mode such sockets do). call names the entry point for the log.
int refuse_unclassified(int fd, const SocketShape& s, const char* call);

// A copy of addr whose address bytes (past family and port) are zero: what a refused
// form is handed to the kernel as, so the program gets the kernel's own errno for it
// (also EISCONN/EALREADY where the socket's state comes first), and even a form this
// model got wrong could only reach this host (0.0.0.0 and :: mean loopback).
// Returns the length to pass with out.
socklen_t neutral_copy(const sockaddr* addr, socklen_t len, sockaddr_storage& out);

}  // namespace socksify::shim
