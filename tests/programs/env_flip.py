"""env_flip.c in Python: changes a SOCKSIFY_* variable the way Python programs do, then
reports what the library let it do, in env_flip.c's format.
Usage: env_flip.py METHOD VAR=VALUE...; METHOD: os.environ, ctypes.setenv,
os.environ.pop, os.environ.clear. A VALUE "@PATH" copies the launcher's table to PATH
and names the copy."""
import ctypes
import errno
import mmap
import os
import shutil
import socket
import sys

method = sys.argv[1]
table = os.environ.get("SOCKSIFY_SHM")
# "pid:fd:dev:ino:uid" names an fd this process inherited (a memfd): read it there.
if table and table.count(":") == 4:
    table = "/proc/self/fd/" + table.split(":")[1]
libc = ctypes.CDLL(None, use_errno=True)
for pair in sys.argv[2:]:
    var, value = pair.split("=", 1)
    if value.startswith("@") and table:
        value = value[1:]
        shutil.copyfile(table, value)
    if method == "os.environ":
        os.environ[var] = value
    elif method == "ctypes.setenv":
        libc.setenv(var.encode(), value.encode(), 1)
    elif method == "os.environ.pop":
        os.environ.pop(var, None)
    elif method != "os.environ.clear":
        sys.exit("unknown method " + method)
if method == "os.environ.clear":
    os.environ.clear()


def result(fn):
    try:
        fn()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def lookup(name, family):
    try:
        return socket.getaddrinfo(name, None, family, socket.SOCK_STREAM)[0][4][0]
    except socket.gaierror as e:
        return "EAI%d" % e.errno


def tcp(host, port, echo):
    def go():
        with socket.socket() as s:
            s.settimeout(5)
            s.connect((host, port))
            if echo:
                s.sendall(b"f")
                if s.recv(1) != b"f":
                    raise OSError(errno.EPROTO, "no echo")
    return result(go)


def table_has(name):
    try:
        with open(table, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            return "yes" if m.find(name.encode()) >= 0 else "no"
    except (TypeError, OSError, ValueError):
        return "no-table"


name = "flip%d.socks.test" % os.getpid()
a = lookup(name, socket.AF_INET)
aaaa = lookup("echo.socks.test", socket.AF_INET6)
echo_addr = lookup("echo.socks.test", socket.AF_INET)
by_name = tcp(echo_addr, 7, True)
by_ip = tcp("203.0.113.10", 7, True)
deny = tcp("203.0.113.10", 8, False)
raw = result(lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close())


def udp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.sendto(b"f", ("203.0.113.10", 7))


udp_r = result(udp)
with socket.socket() as listener:
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    loop = tcp("127.0.0.1", listener.getsockname()[1], False)
print("table=%s a=%s aaaa=%s name=%s ip=%s deny=%s raw=%s udp=%s loop=%s"
      % (table_has(name), a, aaaa, by_name, by_ip, deny, raw, udp_r, loop))
