"""A listener that must hear nothing (tests/integration/addr_forms.sh): TCP and UDP on
PORT of each ADDRESS; every connection and datagram is logged as "tcp PEER" or
"udp PEER" to LOG, flushed at once. Runs until killed, at most SECONDS.

  addr_listener.py LOG PORT SECONDS ADDRESS...
"""
import selectors
import socket
import sys
import time

log_path, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
sel = selectors.DefaultSelector()
for address in sys.argv[4:]:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(family, kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((address, port))
        if kind == socket.SOCK_STREAM:
            s.listen(4096)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, kind)
with open(log_path, "a", buffering=1) as log:
    print("listening", file=log)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=1.0):
            try:
                if key.data == socket.SOCK_STREAM:
                    conn, peer = key.fileobj.accept()
                    conn.close()
                    print("tcp", peer[0], file=log)
                else:
                    _, peer = key.fileobj.recvfrom(65536)
                    print("udp", peer[0], file=log)
            except OSError:
                pass
