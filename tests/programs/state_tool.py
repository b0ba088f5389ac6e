#!/usr/bin/env python3
"""Reads and scribbles on socksify's shared state, and crafts hostile copies of it, for
tests/integration/shared_state.sh. The layout is the library's (shim/shared_state.hpp,
shim/dns/fake_dns.hpp): header page, then the fake-DNS table (next, capacity, ...).

  state_tool.py version              the layout version of the run's state (SOCKSIFY_SHM)
  state_tool.py scribble FIELD VALUE writes the table's FIELD (next|capacity) in the run's
                                     state, as a program of the run could
  state_tool.py craft PATH VERSION   creates PATH (mode 0666) holding a header of VERSION
                                     whose table claims a huge capacity and next index,
                                     as another local user would plant it
  state_tool.py names PATH NAME...   prints each NAME found in PATH's bytes (none, or no
                                     PATH: nothing)
"""
import os
import struct
import sys

MAGIC = 0x534F4B53
TABLE = 4096
# Header page + next/capacity/full_logged/reserved + 2^18 slots + 131072 entries of 260.
SIZE = TABLE + 16 + 4 * (1 << 18) + 260 * 131072
FIELDS = {"next": 0, "capacity": 4}


def state_fd():
    """The run's state: an inherited fd ("pid:fd:dev:ino:uid") or, in older
    versions, a path. Opened read-write either way."""
    ref = os.environ.get("SOCKSIFY_SHM", "")
    if ref.startswith("/"):
        return os.open(ref, os.O_RDWR)
    return os.open("/proc/self/fd/%s" % ref.split(":")[1], os.O_RDWR)


def main(argv):
    cmd = argv[1]
    if cmd == "version":
        fd = state_fd()
        magic, version = struct.unpack("<II", os.pread(fd, 8, 0))
        print(version if magic == MAGIC else "bad-magic")
    elif cmd == "scribble":
        fd = state_fd()
        os.pwrite(fd, struct.pack("<I", int(argv[3], 0)), TABLE + FIELDS[argv[2]])
        print("scribbled")
    elif cmd == "craft":
        path, version = argv[2], int(argv[3])
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
        os.fchmod(fd, 0o666)
        os.ftruncate(fd, SIZE)
        os.pwrite(fd, struct.pack("<IIII", MAGIC, version, 0, 0), 0)
        # A capacity far past the table and a next index near it: a reader that trusts
        # them writes gigabytes past its mapping.
        os.pwrite(fd, struct.pack("<II", 0x10000000, 0xFFFFFFFF), TABLE)
        os.close(fd)
    elif cmd == "names":
        try:
            with open(argv[2], "rb") as f:
                data = f.read()
        except FileNotFoundError:  # removed since (a launcher's stale-file sweep)
            return
        for name in argv[3:]:
            if name.encode() in data:
                print(name)
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
