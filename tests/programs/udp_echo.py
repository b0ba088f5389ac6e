"""UDP echo server of the test world: udp_echo.py HOST PORT LOGFILE.

Sends every datagram back to its source unchanged and appends one line per datagram
to LOGFILE: "<source address> <source port> <length> <first 40 bytes, printable>".
Tests read the log to see where datagrams really came from (the proxy's relay, never
the client itself). Runs until it is killed (scripts/world.sh stops it by PID).
"""
import socket
import sys


def main():
    host, port, logfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    with open(logfile, "a", buffering=1) as log:
        while True:
            data, peer = s.recvfrom(65535)
            text = "".join(chr(b) if 33 <= b < 127 else "." for b in data[:40])
            log.write(f"{peer[0]} {peer[1]} {len(data)} {text}\n")
            try:
                s.sendto(data, peer)
            except OSError as e:
                log.write(f"send to {peer[0]} {peer[1]} failed: {e}\n")


if __name__ == "__main__":
    main()
