"""Socket probes the integration tests run under the launcher: each subcommand makes
real connections and prints one line of facts for the shell test to compare.

  echo HOST PORT TOKEN [FAMILY]   blocking socket; prints what came back
  aecho HOST PORT TOKEN           asyncio streams; prints what came back
  read HOST PORT                  prints everything the server sends (whoami)
  errno HOST PORT                 prints "ok" or "<ExceptionClass> <ERRNO> <ms>"
  loop HOST PORT N TOKEN          N echo connections; prints "ms=<t1>,<t2>,..."
  nonblock HOST PORT TOKEN        non-blocking connect_ex, then an echo
  flags HOST PORT [FAMILY]        descriptor flags and peer after a blocking connect
  bind HOST PORT BINDADDR         bind before connect; prints local address before/after
FAMILY is 4 or 6 (6 with an IPv4 HOST connects to its v4-mapped address).
Every wait is bounded; a probe never runs longer than about 20 s.
"""
import asyncio
import errno
import fcntl
import os
import select
import socket
import sys
import time

IO_TIMEOUT = 10.0


def make_socket(host, family_arg=None):
    if family_arg == "6" or (family_arg is None and ":" in host):
        if ":" not in host:
            host = "::ffff:" + host
        return socket.socket(socket.AF_INET6, socket.SOCK_STREAM), host
    return socket.socket(socket.AF_INET, socket.SOCK_STREAM), host


def recv_exactly(s, n):
    data = b""
    deadline = time.monotonic() + IO_TIMEOUT
    while len(data) < n and time.monotonic() < deadline:
        chunk = s.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def echo_once(host, port, token, family_arg=None):
    s, host = make_socket(host, family_arg)
    s.settimeout(IO_TIMEOUT)
    with s:
        s.connect((host, port))
        s.sendall(token.encode() + b"\n")
        return recv_exactly(s, len(token) + 1).decode(errors="replace").strip()


def cmd_echo(host, port, token, family_arg=None):
    print(echo_once(host, int(port), token, family_arg))


def cmd_aecho(host, port, token):
    async def go():
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, int(port)), IO_TIMEOUT)
        writer.write(token.encode() + b"\n")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), IO_TIMEOUT)
        writer.close()
        await writer.wait_closed()
        return line.decode(errors="replace").strip()

    print(asyncio.run(go()))


def cmd_read(host, port):
    s, host = make_socket(host)
    s.settimeout(IO_TIMEOUT)
    with s:
        s.connect((host, int(port)))
        data = b""
        while len(data) < 4096:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    print(data.decode(errors="replace").strip())


def cmd_errno(host, port):
    s, host = make_socket(host)
    start = time.monotonic()
    try:
        s.connect((host, int(port)))
    except OSError as e:
        ms = int((time.monotonic() - start) * 1000)
        name = errno.errorcode.get(e.errno, str(e.errno))
        print(f"{type(e).__name__} {name} {ms}")
        return
    finally:
        s.close()
    print("ok")


def cmd_loop(host, port, count, token):
    times = []
    for i in range(int(count)):
        start = time.monotonic()
        got = echo_once(host, int(port), f"{token}-{i}")
        times.append(int((time.monotonic() - start) * 1000))
        if got != f"{token}-{i}":
            print(f"connection {i} echoed {got!r}")
            return
    print("ms=" + ",".join(str(t) for t in times))


def nonblocking(fd):
    return bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK)


def cloexec(fd):
    return bool(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC)


def cmd_nonblock(host, port, token):
    s, host = make_socket(host)
    with s:
        s.setblocking(False)
        rc = s.connect_ex((host, int(port)))
        first = errno.errorcode.get(rc, str(rc)) if rc else "0"
        if rc not in (0, errno.EINPROGRESS):
            print(f"connect_ex={first}")
            return
        _, writable, _ = select.select([], [s], [], IO_TIMEOUT)
        if not writable:
            print(f"connect_ex={first} never writable")
            return
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            print(f"connect_ex={first} SO_ERROR={errno.errorcode.get(err, err)}")
            return
        still_nonblocking = nonblocking(s.fileno())
        s.send(token.encode() + b"\n")
        data = b""
        deadline = time.monotonic() + IO_TIMEOUT
        while len(data) < len(token) + 1 and time.monotonic() < deadline:
            readable, _, _ = select.select([s], [], [], max(0.0, deadline - time.monotonic()))
            if not readable:
                break
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        got = data.decode(errors="replace").strip()
        print(f"connect_ex={first} nonblock={int(still_nonblocking)} echo={got}")


def cmd_flags(host, port, family_arg=None):
    s, target = make_socket(host, family_arg)
    with s:
        before = (cloexec(s.fileno()), nonblocking(s.fileno()))
        s.settimeout(None)  # a plain blocking socket, as C programs have
        s.connect((target, int(port)))
        after_cloexec, after_nonblock = cloexec(s.fileno()), nonblocking(s.fileno())
        peer = s.getpeername()
        print(f"cloexec={int(before[0])}->{int(after_cloexec)} "
              f"nonblock={int(before[1])}->{int(after_nonblock)} "
              f"family={'inet6' if s.family == socket.AF_INET6 else 'inet'} "
              f"peer={peer[0]}:{peer[1]}")


def cmd_bind(host, port, bind_addr):
    s, target = make_socket(host)
    with s:
        s.bind((bind_addr, 0))
        before = s.getsockname()
        s.settimeout(IO_TIMEOUT)
        s.connect((target, int(port)))
        after = s.getsockname()
        print(f"before={before[0]}:{before[1]} after={after[0]}:{after[1]}")


COMMANDS = {
    "echo": cmd_echo, "aecho": cmd_aecho, "read": cmd_read, "errno": cmd_errno,
    "loop": cmd_loop, "nonblock": cmd_nonblock, "flags": cmd_flags, "bind": cmd_bind,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
