"""UDP probes the UDP tests run under the launcher (and without it, as controls). Each
subcommand prints facts, one line per datagram or result, for the shell test to compare.
HOST may be a name: it is looked up with getaddrinfo(SOCK_DGRAM) first, in the
socket's family (4 or 6; default: 6 when HOST has a colon, else 4).

  echo HOST PORT TOKEN [FAMILY]     sendto/recvfrom; prints "<payload> from <addr> <port>"
  cecho HOST PORT TOKEN [FAMILY]    connect, send/recv; prints
                                    "<payload> peer <addr> <port>"
  msg HOST PORT TOKEN [FAMILY]      sendmsg/recvmsg; prints "<payload> from <addr> <port>"
  v6only HOST PORT TOKEN            like echo on an AF_INET6 socket with IPV6_V6ONLY set
  errno HOST PORT [FAMILY]          one sendto; prints "sent" or "<ExceptionClass> <ERRNO>"
  mixed HOST PORT LHOST LPORT TOKEN one socket, one datagram to each destination; prints
                                    one "<payload> from <addr> <port>" per reply, sorted
  trunc HOST PORT                   100-byte datagrams read back with short buffers;
                                    prints "recv=<bytes> recvmsg=<bytes> trunc=<0|1>
                                    recv_trunc_len=<n>"
  again HOST PORT TOKEN READY GO    echo; then creates file READY, waits (at most 30 s)
                                    for file GO, waits 1.5 s, echoes again on the same
                                    socket (a proxy restarted in between); prints both
Every receive waits at most 3 s; a probe never runs longer than about 40 s.
"""
import errno
import os
import socket
import sys
import time

RECV_TIMEOUT = 3.0


def family_of(host, family_arg=None):
    if family_arg == "6" or (family_arg is None and ":" in host):
        return socket.AF_INET6
    return socket.AF_INET


def resolve(host, port, family):
    return socket.getaddrinfo(host, int(port), family, socket.SOCK_DGRAM)[0][4]


def new_socket(family):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(RECV_TIMEOUT)
    return s


def show(data, addr, word="from"):
    return f"{data.decode(errors='replace')} {word} {addr[0]} {addr[1]}"


def cmd_echo(host, port, token, family_arg=None):
    family = family_of(host, family_arg)
    dest = resolve(host, port, family)
    with new_socket(family) as s:
        s.sendto(token.encode(), dest)
        data, src = s.recvfrom(2048)
        print(show(data, src))


def cmd_cecho(host, port, token, family_arg=None):
    family = family_of(host, family_arg)
    dest = resolve(host, port, family)
    with new_socket(family) as s:
        s.connect(dest)
        s.send(token.encode())
        data = s.recv(2048)
        print(show(data, s.getpeername(), "peer"))


def cmd_msg(host, port, token, family_arg=None):
    family = family_of(host, family_arg)
    dest = resolve(host, port, family)
    with new_socket(family) as s:
        half = len(token) // 2
        s.sendmsg([token[:half].encode(), token[half:].encode()], [], 0, dest)
        data, _, _, src = s.recvmsg(2048)
        print(show(data, src))


def cmd_v6only(host, port, token):
    dest = resolve(host, port, socket.AF_INET6)
    with new_socket(socket.AF_INET6) as s:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.sendto(token.encode(), dest)
        data, src = s.recvfrom(2048)
        print(show(data, src))


def cmd_errno(host, port, family_arg=None):
    family = family_of(host, family_arg)
    dest = resolve(host, port, family)
    with new_socket(family) as s:
        try:
            s.sendto(b"errno-probe", dest)
        except OSError as e:
            print(f"{type(e).__name__} {errno.errorcode.get(e.errno, str(e.errno))}")
            return
    print("sent")


def cmd_mixed(host, port, lhost, lport, token):
    family = family_of(host)
    with new_socket(family) as s:
        s.sendto(f"{token}-proxied".encode(), resolve(host, port, family))
        s.sendto(f"{token}-direct".encode(), resolve(lhost, lport, family))
        lines = []
        for _ in range(2):
            data, src = s.recvfrom(2048)
            lines.append(show(data, src))
    print("\n".join(sorted(lines)))


def cmd_trunc(host, port):
    family = family_of(host)
    dest = resolve(host, port, family)
    with new_socket(family) as s:
        s.sendto(b"a" * 100, dest)
        short = s.recv(10)
        s.sendto(b"b" * 100, dest)
        data, _, flags, _ = s.recvmsg(10)
        s.sendto(b"c" * 100, dest)
        # MSG_TRUNC on recv: the return value is the datagram's real length.
        full = len(s.recv(10, socket.MSG_TRUNC))
        print(f"recv={short.decode()} recvmsg={data.decode()} "
              f"trunc={int(bool(flags & socket.MSG_TRUNC))} recv_trunc_len={full}")


def cmd_again(host, port, token, ready, go):
    family = family_of(host)
    dest = resolve(host, port, family)
    with new_socket(family) as s:
        s.sendto(f"{token}-1".encode(), dest)
        data, src = s.recvfrom(2048)
        print(show(data, src), flush=True)
        with open(ready, "w"):
            pass
        deadline = time.monotonic() + 30
        while not os.path.exists(go):
            if time.monotonic() > deadline:
                print("no go signal in 30 s")
                return
            time.sleep(0.05)
        time.sleep(1.5)  # past the library's liveness check interval (1 s)
        s.sendto(f"{token}-2".encode(), dest)
        data, src = s.recvfrom(2048)
        print(show(data, src))


COMMANDS = {
    "echo": cmd_echo, "cecho": cmd_cecho, "msg": cmd_msg, "v6only": cmd_v6only,
    "errno": cmd_errno, "mixed": cmd_mixed, "trunc": cmd_trunc, "again": cmd_again,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    try:
        COMMANDS[sys.argv[1]](*sys.argv[2:])
    except OSError as e:  # one line, for the FAIL reason
        print(f"{type(e).__name__} {errno.errorcode.get(e.errno, str(e.errno)) if e.errno else '-'}: {e}")
        sys.exit(1)
