"""Name lookups as a C program makes them, for tests/integration/ip_literals.sh: the
libc functions are called through ctypes (so under the launcher they are the
library's), each answer printed on one line for the shell test to compare with the
same lookups made without the launcher.

  lookup NAME...   per NAME: "<repr> gai=<rc>:<address> ghbn=<rc>/<h_errno>:<address>"
                   (getaddrinfo AF_UNSPEC/SOCK_STREAM, gethostbyname_r AF_INET); NAME is
                   a Python string literal body (\\x01, \\t, ... allowed)
  connect HOST PORT  connects (TCP) to getaddrinfo's first answer as it gives it (scope
                   id included, as socket.create_connection does); prints "ok" or
                   "<ExceptionClass> <ERRNO>"

No lookup waits on anything but libc; the client side's resolver answers at once.
"""
import ast
import ctypes
import errno
import socket
import sys

libc = ctypes.CDLL(None, use_errno=True)


class SockaddrIn6(ctypes.Structure):
    _fields_ = [("family", ctypes.c_ushort), ("port", ctypes.c_ushort),
                ("flowinfo", ctypes.c_uint32), ("addr", ctypes.c_ubyte * 16),
                ("scope_id", ctypes.c_uint32)]


class Addrinfo(ctypes.Structure):
    pass


Addrinfo._fields_ = [("flags", ctypes.c_int), ("family", ctypes.c_int),
                     ("socktype", ctypes.c_int), ("protocol", ctypes.c_int),
                     ("addrlen", ctypes.c_uint32), ("addr", ctypes.c_void_p),
                     ("canonname", ctypes.c_char_p), ("next", ctypes.POINTER(Addrinfo))]


class Hostent(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("aliases", ctypes.c_void_p),
                ("addrtype", ctypes.c_int), ("length", ctypes.c_int),
                ("addr_list", ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte)))]


def sockaddr_text(ptr):
    sa = ctypes.cast(ptr, ctypes.POINTER(SockaddrIn6)).contents
    if sa.family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, ctypes.string_at(ptr + 4, 4))
    text = socket.inet_ntop(socket.AF_INET6, bytes(sa.addr))
    return text + (f"%{sa.scope_id}" if sa.scope_id else "")


def gai(name):
    hints = Addrinfo(socktype=socket.SOCK_STREAM)
    res = ctypes.POINTER(Addrinfo)()
    rc = libc.getaddrinfo(name, None, ctypes.byref(hints), ctypes.byref(res))
    if rc != 0:
        return f"{rc}"
    text = sockaddr_text(res.contents.addr)
    libc.freeaddrinfo(res)
    return f"0:{text}"


def ghbn(name):
    h = Hostent()
    buf = ctypes.create_string_buffer(2048)
    result = ctypes.POINTER(Hostent)()
    herr = ctypes.c_int(0)
    rc = libc.gethostbyname_r(name, ctypes.byref(h), buf, len(buf), ctypes.byref(result),
                              ctypes.byref(herr))
    if not result:
        return f"{rc}/{herr.value}"
    addr = bytes(h.addr_list[0][:h.length])
    family = socket.AF_INET if h.length == 4 else socket.AF_INET6
    return f"{rc}/{herr.value}:{socket.inet_ntop(family, addr)}"


def main():
    if sys.argv[1] == "lookup":
        for arg in sys.argv[2:]:
            name = ast.literal_eval('"' + arg + '"').encode("latin-1")
            print(f"{arg} gai={gai(name)} ghbn={ghbn(name)}")
    elif sys.argv[1] == "connect":
        family, kind, proto, _, address = socket.getaddrinfo(
            sys.argv[2], int(sys.argv[3]), type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as s:
            s.settimeout(10)
            try:
                s.connect(address)
                print("ok")
            except OSError as e:
                print(type(e).__name__, errno.errorcode.get(e.errno, e.errno))
    else:
        sys.exit("usage: names_probe.py lookup NAME... | connect HOST PORT")


if __name__ == "__main__":
    main()
