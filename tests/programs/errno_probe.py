"""Probes for tests/integration/hostile.sh: one connection attempt (or two UDP
exchanges) under the shim, reported as one line of key=value facts.

  tcp HOST PORT [nonblock] [first N] [echo TOKEN]
      connect (blocking, or non-blocking: connect_ex then a bounded wait), then on
      success read N bytes the server sends first, echo TOKEN; on failure try to
      send "LEAK" on the socket (must fail).
      Prints: result=<ok|ERRNO> ms=<connect time> fds=<before>/<after> [first=<bytes>]
              [echo=<back>] [after=<ok|ERRNO>]
  udp HOST PORT TOKEN
      sendto TOKEN-1, recvfrom (1 s), sendto TOKEN-2, recvfrom (1 s).
      Prints: send1=<ok|ERRNO> recv1=<timeout|payload@host:port|ERRNO> send2=... recv2=...
              ms=<first sendto time> fds=<before>/<after>
  watch HOST PORT LOG
      TCP listener and UDP socket on HOST:PORT; appends one line to LOG per connection
      or datagram, until SIGTERM. Used as the destination that must see nothing.

fds counts /proc/self/fd before the socket is made and after it is closed.
Every wait is bounded; a probe never runs longer than about 15 s.
"""
import errno
import os
import select
import signal
import socket
import sys
import time


def fd_count():
    return len(os.listdir("/proc/self/fd"))


def name(e):
    # Linux has one value for both; errorcode names it ENOTSUP, the errno table EOPNOTSUPP.
    if e == errno.EOPNOTSUPP:
        return "EOPNOTSUPP"
    return errno.errorcode.get(e, str(e))


def ms_since(t0):
    return int((time.monotonic() - t0) * 1000)


def tcp(host, port, args):
    nonblock = "nonblock" in args
    token = args[args.index("echo") + 1] if "echo" in args else None
    before = fd_count()
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    facts = []
    t0 = time.monotonic()
    if nonblock:
        s.setblocking(False)
        rc = s.connect_ex((host, port))
        facts.append(f"connect={'ok' if rc == 0 else name(rc)}")
        if rc in (errno.EINPROGRESS, errno.EALREADY):
            _, w, _ = select.select([], [s], [], 10)
            rc = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) if w else errno.ETIMEDOUT
        result = "ok" if rc == 0 else name(rc)
        s.setblocking(True)
    else:
        try:
            s.connect((host, port))
            result = "ok"
        except OSError as e:
            result = name(e.errno)
    facts.append(f"result={result}")
    facts.append(f"ms={ms_since(t0)}")
    s.settimeout(5)
    if result == "ok" and "first" in args:
        # A server that speaks first: its bytes come before anything is sent.
        want = int(args[args.index("first") + 1])
        first = b""
        try:
            while len(first) < want:
                chunk = s.recv(want - len(first))
                if not chunk:
                    break
                first += chunk
            facts.append(f"first={first.decode(errors='replace')}")
        except OSError as e:
            facts.append(f"first={name(e.errno)}")
    if result == "ok" and token is not None:
        try:
            s.sendall(token.encode())
            back = b""
            while len(back) < len(token):
                chunk = s.recv(len(token) - len(back))
                if not chunk:
                    break
                back += chunk
            facts.append(f"echo={back.decode(errors='replace')}")
        except OSError as e:
            facts.append(f"echo={name(e.errno)}")
    elif result != "ok":
        # Fail closed: the program's own bytes must not flow on a failed socket.
        try:
            s.send(b"LEAK")
            facts.append("after=ok")
        except OSError as e:
            facts.append(f"after={name(e.errno)}")
    s.close()
    facts.append(f"fds={before}/{fd_count()}")
    print(" ".join(facts))


def udp_round(s, host, port, token):
    """Returns (sendto result, sendto ms, recvfrom result)."""
    t0 = time.monotonic()
    try:
        s.sendto(token.encode(), (host, port))
    except OSError as e:
        return name(e.errno), ms_since(t0), "-"
    ms = ms_since(t0)
    try:
        data, src = s.recvfrom(2048)
        return "ok", ms, f"{data.decode(errors='replace')}@{src[0]}:{src[1]}"
    except socket.timeout:
        return "ok", ms, "timeout"
    except OSError as e:
        return "ok", ms, name(e.errno)


def udp(host, port, token):
    before = fd_count()
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    send1, ms, recv1 = udp_round(s, host, port, token + "-1")
    send2, _, recv2 = udp_round(s, host, port, token + "-2")
    s.close()
    print(f"send1={send1} recv1={recv1} send2={send2} recv2={recv2} ms={ms} "
          f"fds={before}/{fd_count()}")


def watch(host, port, log_path):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    t = socket.socket(family, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((host, port))
    t.listen(16)
    u = socket.socket(family, socket.SOCK_DGRAM)
    u.bind((host, port))
    with open(log_path, "a", buffering=1) as log:
        log.write("")  # the file exists from now on: the script waits for it
        open(log_path + ".ready", "w").close()
        while not stop:
            try:
                r, _, _ = select.select([t, u], [], [], 0.2)
            except InterruptedError:
                continue
            if t in r:
                c, peer = t.accept()
                log.write(f"tcp connection from {peer[0]}:{peer[1]}\n")
                c.close()
            if u in r:
                data, peer = u.recvfrom(65536)
                log.write(f"udp datagram from {peer[0]}:{peer[1]}: {data[:40]!r}\n")


def main(argv):
    if len(argv) >= 3 and argv[0] == "tcp":
        tcp(argv[1], int(argv[2]), argv[3:])
    elif len(argv) == 4 and argv[0] == "udp":
        udp(argv[1], int(argv[2]), argv[3])
    elif len(argv) == 4 and argv[0] == "watch":
        watch(argv[1], int(argv[2]), argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
