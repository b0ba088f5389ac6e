"""Name-resolution probes the remote-DNS tests run under the launcher. Each subcommand
looks names up the way real programs do and prints one line of facts for the shell
test to compare.

  fetch URL                 urllib.request; prints the body
  afetch HOST PORT PATH     asyncio.open_connection by name, HTTP/1.0 GET; prints the body
  threads N URL             N threads fetch URL at once; prints "ok=<n> bodies=<distinct>"
  gai NAME FAMILY           getaddrinfo (FAMILY 0, 4 or 6); prints the distinct addresses
  fetch6 HOST PORT PATH     getaddrinfo(AF_INET6) by name, connect, HTTP/1.0 GET; prints
                            "<address> <body>"
  rev ADDRESS               prints "gethostbyaddr=<name> getnameinfo=<name>"
  errno HOST PORT           connect by name; prints "ok" or "<ExceptionClass> <ERRNO> <ms>"
  resq NAME [TYPE]          res_query(NAME, C_IN, A or AAAA) through the global symbol
                            scope (so a preloaded library's res_query is the one called);
                            prints "rc=<n> h_errno=<n> answers=<a,b,...>"
Every wait is bounded; a probe never runs longer than about 20 s.
"""
import asyncio
import ctypes
import errno
import ipaddress
import socket
import struct
import sys
import threading
import time
import urllib.request

IO_TIMEOUT = 10.0


def cmd_fetch(url):
    with urllib.request.urlopen(url, timeout=IO_TIMEOUT) as r:
        print(r.read().decode(errors="replace").strip())


def http_get(host, path):
    return f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode()


def body_of(response):
    head, _, body = response.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.") or b" 200 " not in head.split(b"\r\n")[0]:
        return "bad response: " + head.split(b"\r\n")[0].decode(errors="replace")
    return body.decode(errors="replace").strip()


def cmd_afetch(host, port, path):
    async def go():
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, int(port)), IO_TIMEOUT)
        writer.write(http_get(host, path))
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), IO_TIMEOUT)
        writer.close()
        await writer.wait_closed()
        return body_of(data)

    print(asyncio.run(go()))


def cmd_threads(n, url):
    n = int(n)
    bodies = [None] * n
    errors = []
    start = threading.Barrier(n, timeout=IO_TIMEOUT)

    def work(i):
        try:
            start.wait()
            with urllib.request.urlopen(url, timeout=IO_TIMEOUT) as r:
                bodies[i] = r.read().decode(errors="replace").strip()
        except Exception as e:  # reported below, one line
            errors.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 2 * IO_TIMEOUT
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    ok = sum(1 for b in bodies if b is not None)
    distinct = sorted({b for b in bodies if b is not None})
    line = f"ok={ok} bodies={'|'.join(distinct)}"
    if errors:
        line += f" errors={len(errors)} first={errors[0]}"
    print(line)


FAMILIES = {"0": socket.AF_UNSPEC, "4": socket.AF_INET, "6": socket.AF_INET6}


def cmd_gai(name, family):
    infos = socket.getaddrinfo(name, 80, FAMILIES[family], socket.SOCK_STREAM)
    seen = []
    for info in infos:
        if info[4][0] not in seen:
            seen.append(info[4][0])
    print(" ".join(seen))


def cmd_fetch6(host, port, path):
    infos = socket.getaddrinfo(host, int(port), socket.AF_INET6, socket.SOCK_STREAM)
    addr = infos[0][4]
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.settimeout(IO_TIMEOUT)
    with s:
        s.connect(addr)
        s.sendall(http_get(host, path))
        data = b""
        deadline = time.monotonic() + IO_TIMEOUT
        while time.monotonic() < deadline:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    print(addr[0], body_of(data))


def cmd_rev(address):
    try:
        by_addr = socket.gethostbyaddr(address)[0]
    except OSError as e:
        by_addr = f"{type(e).__name__}"
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sa = (address, 80, 0, 0) if family == socket.AF_INET6 else (address, 80)
    try:
        by_info = socket.getnameinfo(sa, socket.NI_NAMEREQD)[0]
    except OSError as e:
        by_info = f"{type(e).__name__}"
    print(f"gethostbyaddr={by_addr} getnameinfo={by_info}")


def cmd_errno(host, port):
    start = time.monotonic()
    try:
        s = socket.create_connection((host, int(port)), timeout=IO_TIMEOUT)
    except OSError as e:
        ms = int((time.monotonic() - start) * 1000)
        name = errno.errorcode.get(e.errno, str(e.errno)) if e.errno else "-"
        print(f"{type(e).__name__} {name} {ms}")
        return
    s.close()
    print("ok")


def answers_of(msg, qtype):
    """The A/AAAA addresses in a DNS response (no compression surprises handled
    beyond what dnsmasq produces: names in answers are pointers or labels)."""
    def skip_name(i):
        while i < len(msg):
            n = msg[i]
            if n == 0:
                return i + 1
            if n & 0xC0 == 0xC0:
                return i + 2
            i += 1 + n
        raise ValueError("truncated name")

    qd, an = struct.unpack("!HH", msg[4:8])
    i = 12
    for _ in range(qd):
        i = skip_name(i) + 4
    out = []
    for _ in range(an):
        i = skip_name(i)
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[i:i + 10])
        i += 10
        rdata = msg[i:i + rdlen]
        i += rdlen
        if rtype == qtype == 1 and rdlen == 4:
            out.append(str(ipaddress.IPv4Address(rdata)))
        elif rtype == qtype == 28 and rdlen == 16:
            out.append(str(ipaddress.IPv6Address(rdata)))
    return out


def cmd_resq(name, rtype="A"):
    qtype = {"A": 1, "AAAA": 28}[rtype]
    scope = ctypes.CDLL(None)  # dlopen(NULL): the global scope, preloaded objects first
    res_query = scope.res_query
    res_query.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_int]
    res_query.restype = ctypes.c_int
    h_errno_location = scope.__h_errno_location
    h_errno_location.restype = ctypes.POINTER(ctypes.c_int)
    buf = ctypes.create_string_buffer(4096)
    rc = res_query(name.encode(), 1, qtype, buf, len(buf))
    herr = h_errno_location().contents.value
    answers = []
    if rc > 0:
        try:
            answers = answers_of(buf.raw[:rc], qtype)
        except (ValueError, struct.error) as e:
            answers = [f"unparsable:{e}"]
    print(f"rc={rc} h_errno={herr} answers={','.join(answers)}")


COMMANDS = {
    "fetch": cmd_fetch, "afetch": cmd_afetch, "threads": cmd_threads, "gai": cmd_gai,
    "fetch6": cmd_fetch6, "rev": cmd_rev, "errno": cmd_errno, "resq": cmd_resq,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
