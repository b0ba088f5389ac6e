"""One attempt the library refuses before any system call outside --strict, made under
--strict (tests/integration/strict_records.sh): prints "KIND <errno name>" or "KIND ok".

  strict_attempt.py KIND [FD]

KIND: tcp-ip, tcp-name, tcp-name-port, udp-ip, udp-name-port, udp-connect, udp-sendmsg6,
udp-sendmmsg (several datagrams in one call, through libc), fastopen, link-local-udp,
link-local-tcp, sock:DOMAIN,TYPE,PROTO, socketpair-inet, inherited-connect FD and
inherited-sendto FD (a raw socket made before the run, inherited as FD).
Destinations are the test world's: 203.0.113.10 (echo.socks.test), web.socks.test,
2001:db8:2::10.
"""
import ctypes
import errno
import socket
import sys

kind = sys.argv[1]
DEST4, DEST6 = "203.0.113.10", "2001:db8:2::10"


def sendmmsg(sock, addr, count):
    # struct mmsghdr through ctypes: Python has no sendmmsg.
    class Iov(ctypes.Structure):
        _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]

    class Msg(ctypes.Structure):
        _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                    ("iov", ctypes.POINTER(Iov)), ("iovlen", ctypes.c_size_t),
                    ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                    ("flags", ctypes.c_int), ("len", ctypes.c_uint)]
    raw = socket.inet_aton(addr[0])
    sin = (ctypes.c_ubyte * 16)(*([2, 0, addr[1] >> 8, addr[1] & 255] + list(raw) + [0] * 8))
    data = ctypes.create_string_buffer(b"x")
    iov = Iov(ctypes.cast(data, ctypes.c_void_p), 1)
    msgs = (Msg * count)()
    for m in msgs:
        m.name, m.namelen = ctypes.cast(sin, ctypes.c_void_p), 16
        m.iov, m.iovlen = ctypes.pointer(iov), 1
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.sendmmsg(sock.fileno(), msgs, count, 0) < 0:
        e = ctypes.get_errno()
        raise OSError(e, "sendmmsg")


try:
    if kind == "tcp-ip":
        socket.create_connection((DEST4, 7), timeout=5)
    elif kind == "tcp-name":
        socket.create_connection(("echo.socks.test", 7), timeout=5)
    elif kind == "tcp-name-port":
        socket.create_connection(("web.socks.test", 8), timeout=5)
    elif kind == "udp-ip":
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", (DEST4, 7))
    elif kind == "udp-name-port":
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("web.socks.test", 8))
    elif kind == "udp-connect":
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).connect((DEST4, 7))
    elif kind == "udp-sendmsg6":
        socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).sendmsg([b"x"], [], 0, (DEST6, 7))
    elif kind == "udp-sendmmsg":
        sendmmsg(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), (DEST4, 7), 3)
    elif kind == "fastopen":
        socket.socket().sendto(b"x", 0x20000000, (DEST4, 7))
    elif kind == "link-local-udp":
        socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).sendto(b"x", ("fe80::1%lo", 7))
    elif kind == "link-local-tcp":
        socket.socket(socket.AF_INET6).connect(("fe80::1%lo", 7))
    elif kind.startswith("sock:"):
        d, t, p = (int(x) for x in kind[5:].split(","))
        socket.socket(d, t, p)
    elif kind == "socketpair-inet":
        socket.socketpair(socket.AF_INET)
    elif kind == "inherited-connect":
        socket.socket(fileno=int(sys.argv[2])).connect((DEST4, 7))
    elif kind == "inherited-sendto":
        socket.socket(fileno=int(sys.argv[2])).sendto(b"x", (DEST4, 7))
    else:
        sys.exit("unknown kind " + kind)
    print(kind, "ok")
except socket.gaierror as e:
    print(kind, "gaierror", e.args[0])
except OSError as e:
    print(kind, errno.errorcode.get(e.errno, str(e.errno)) if e.errno else type(e).__name__)
