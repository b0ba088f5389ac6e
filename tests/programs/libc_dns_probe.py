#!/usr/bin/env python3
"""Calls glibc's resolver and connection entry points by name through ctypes, as a
program that skips the usual wrappers would: getaddrinfo_a, rcmd, __connect."""
import ctypes
import ctypes.util
import os
import socket
import sys

LIBC = ctypes.CDLL(None, use_errno=True)


class Sockaddr(ctypes.Structure):
    _fields_ = [("family", ctypes.c_ushort), ("data", ctypes.c_ubyte * 26)]


class Addrinfo(ctypes.Structure):
    pass


Addrinfo._fields_ = [("flags", ctypes.c_int), ("family", ctypes.c_int),
                     ("socktype", ctypes.c_int), ("protocol", ctypes.c_int),
                     ("addrlen", ctypes.c_uint), ("addr", ctypes.POINTER(Sockaddr)),
                     ("canonname", ctypes.c_char_p), ("next", ctypes.POINTER(Addrinfo))]


class Gaicb(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("service", ctypes.c_char_p),
                ("request", ctypes.POINTER(Addrinfo)), ("result", ctypes.POINTER(Addrinfo)),
                ("ret", ctypes.c_int), ("reserved", ctypes.c_int * 5)]


def cmd_gai_a(name):
    """getaddrinfo_a(GAI_WAIT) for name, IPv4: prints the address or the error."""
    hints = Addrinfo(family=socket.AF_INET, socktype=socket.SOCK_STREAM)
    req = Gaicb(name=name.encode(), request=ctypes.pointer(hints))
    arr = (ctypes.POINTER(Gaicb) * 1)(ctypes.pointer(req))
    rc = LIBC.getaddrinfo_a(0, arr, 1, None)  # GAI_WAIT
    err = LIBC.gai_error(ctypes.pointer(req))
    if rc != 0 or err != 0:
        print(f"error rc={rc} gai_error={err}")
        return 1
    sa = req.result.contents.addr.contents
    print(socket.inet_ntop(socket.AF_INET, bytes(sa.data[2:6])))
    return 0


def cmd_rcmd(name):
    """rcmd to name:514: prints rc and errno (resolves and connects inside libc)."""
    host = ctypes.c_char_p(name.encode())
    rc = LIBC.rcmd(ctypes.byref(host), socket.htons(514), b"root", b"root", b"true", None)
    print(f"rc={rc} errno={os.strerror(ctypes.get_errno())}")
    return 0


def cmd_connect_alias(host, port, path):
    """socket via __socket, __connect to host:port, an HTTP GET: prints the body."""
    fd = LIBC.__socket(socket.AF_INET, socket.SOCK_STREAM, 0)
    sa = Sockaddr(family=socket.AF_INET)
    raw = int(port).to_bytes(2, "big") + socket.inet_aton(host)
    ctypes.memmove(sa.data, raw, len(raw))
    if LIBC.__connect(fd, ctypes.byref(sa), 16) != 0:
        print(f"connect: {os.strerror(ctypes.get_errno())}")
        return 1
    s = socket.socket(fileno=fd)
    s.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
    data = b""
    while chunk := s.recv(4096):
        data += chunk
    print(data.split(b"\r\n\r\n", 1)[-1].decode(errors="replace"))
    return 0


def cmd_gai(name, family):
    """socket.getaddrinfo(name, family): prints the addresses or the error."""
    fam = {"4": socket.AF_INET, "6": socket.AF_INET6, "0": socket.AF_UNSPEC}[family]
    try:
        print(" ".join(sorted({a[4][0] for a in socket.getaddrinfo(name, 80, fam)})))
    except socket.gaierror as e:
        print(f"gaierror {e.errno}")
    return 0


def nameserver():
    with open("/etc/resolv.conf") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                return parts[1]
    return "127.0.0.1"


def cmd_udp_query(fd, name):
    """A hand-made A query for name sent with sendto on fd (an inherited UDP socket,
    or -1 for a new one) to the first nameserver: prints the first A record."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, fileno=int(fd)) if int(fd) >= 0 \
        else socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    s.sendto(b"\x42\x42\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + qname + b"\x00\x01\x00\x01",
             (nameserver(), 53))
    try:
        data, src = s.recvfrom(4096)
    except socket.timeout:
        print("timeout")
        return 1
    rcode = data[3] & 0x0F
    if rcode != 0 or data[7] == 0:
        print(f"rcode={rcode} answers={data[7]}")
        return 1
    print(f"{socket.inet_ntoa(data[-4:])} from {src[0]}:{src[1]}")
    return 0


COMMANDS = {"udp_query": cmd_udp_query, "gai_a": cmd_gai_a, "rcmd": cmd_rcmd, "connect_alias": cmd_connect_alias,
            "gai": cmd_gai}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(COMMANDS)} ARGS...")
    sys.exit(COMMANDS[sys.argv[1]](*sys.argv[2:]))
