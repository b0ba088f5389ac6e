#!/usr/bin/env bash
# Address forms (issue 11): the hooks take exactly what the kernel takes. A probe tries
# every family value 0..45 and sockaddr length 0..128 on connect, sendto, sendmsg,
# sendmmsg and Fast Open sends, on TCP and UDP sockets of both families, aimed at a
# listener on the proxy host's other port — reachable from the client, so anything
# that went direct would arrive. Run once without socksify (the kernel's own answers)
# and once under --strict --default-deny --direct '': every call the kernel took must
# be refused (EACCES, one audit record each), every call it refused must get its very
# errno, and the listener and a capture on the client's interface must see nothing.
# Then: a proxied TCP socket dissolved with connect(AF_UNSPEC) follows its real state,
# and records left behind by fclose(fdopen(fd)) do not describe the next object.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher
ensure_scratch
PROBE_BIN=$SFY_ROOT/build/tests/addr_probe
[[ -x $PROBE_BIN ]] || { fail all "$PROBE_BIN not built (make test builds it)"; finish; }
T=60
PORT=4242  # nothing else in the world listens here
LISTEN_LOG=$SFY_TMP/listener.log
IFACE=$(ip -n "$SFY_NS_CLIENT" -o link show | awk -F': ' '$2 != "lo" {sub(/@.*/, "", $2); print $2; exit}')

# Started as plain commands (ip netns exec execs them), so $! is the server's own PID.
"${IN_PROXY[@]}" "$PY" "$PROGRAMS/addr_listener.py" "$LISTEN_LOG" "$PORT" 300 "$SFY_PROXY4" \
    "$SFY_PROXY6" >/dev/null 2>"$SFY_TMP/listener.err" &
LISTENER=$!
TCPDUMP=""
cleanup() {
    kill "$LISTENER" 2>/dev/null || true
    [[ -n $TCPDUMP ]] && kill "$TCPDUMP" 2>/dev/null
    rm -rf "$SFY_TMP"
}
trap cleanup EXIT
for ((i = 0; i < 50; i++)); do
    grep -q listening "$LISTEN_LOG" 2>/dev/null && break
    sleep 0.1
done
heard() { grep -c -E '^(tcp|udp) ' "$LISTEN_LOG" || true; }

# The kernel's answers; the listener hears what went out (proof that it would notice).
run $T "${IN_CLIENT[@]}" "$PROBE_BIN" sweep "$SFY_PROXY4" "$SFY_PROXY6" "$PORT"
cp "$SFY_TMP/out" "$SFY_TMP/kernel.txt"
sleep 0.5
before=$(heard)
if ((RC == 0 && before > 0)); then
    pass kernel-reference-reaches-the-listener
else
    fail kernel-reference-reaches-the-listener "$(why "listener heard $before")"
fi

# The same probe under socksify, with a capture of the client's interface.
PCAP=$SFY_TMP/addr.pcap
"${IN_CLIENT[@]}" tcpdump -i "$IFACE" -n -U -w "$PCAP" "port $PORT" >/dev/null 2>"$SFY_TMP/tcpdump.err" &
TCPDUMP=$!
for ((i = 0; i < 50; i++)); do
    grep -q "listening on" "$SFY_TMP/tcpdump.err" 2>/dev/null && break
    sleep 0.1
done
AUDIT=$SFY_TMP/audit.log
run $T "${IN_CLIENT[@]}" "$SOCKSIFY" -q --strict --default-deny --direct '' --audit "$AUDIT" \
    -x "socks5h://$SFY_PROXY4:$SFY_PORT_DANTE" -- "$PROBE_BIN" sweep "$SFY_PROXY4" "$SFY_PROXY6" "$PORT"
cp "$SFY_TMP/out" "$SFY_TMP/socksify.txt"
sleep 0.5
kill "$TCPDUMP" 2>/dev/null || true
wait "$TCPDUMP" 2>/dev/null || true
TCPDUMP=""
after=$(heard)
if ((RC == 0 && after == before)); then
    pass listener-hears-nothing-under-strict
else
    fail listener-hears-nothing-under-strict "$(why "$((after - before)) connections/datagrams arrived directly")"
fi
packets=$(tcpdump -r "$PCAP" -n -q 2>/dev/null | head -3 || true)
if [[ -z $packets ]]; then
    pass capture-shows-nothing-to-the-target
else
    fail capture-shows-nothing-to-the-target "$(oneline "$packets")"
fi

# Per attempt: taken by the kernel -> EACCES under socksify (a disconnect stays a
# disconnect); refused by the kernel -> the same errno.
verdict=$("$PY" - "$SFY_TMP/kernel.txt" "$SFY_TMP/socksify.txt" <<'EOF'
import sys
kernel = [l.split() for l in open(sys.argv[1])]
shim = [l.split() for l in open(sys.argv[2])]
if len(kernel) != len(shim) or len(kernel) < 100000:
    print(f"lines: kernel {len(kernel)}, socksify {len(shim)}")
    sys.exit()
wrong, taken = [], 0
for k, s in zip(kernel, shim):
    if k[:5] != s[:5]:
        print("order differs at", " ".join(k)); sys.exit()
    disconnect = k[1] == "connect" and k[3] == "0"
    want = k[5]
    if k[5] == "ok" and not disconnect:
        want = "EACCES"
        taken += 1
    if s[5] != want:
        wrong.append(f"{' '.join(k[:5])}: kernel {k[5]}, socksify {s[5]}")
print(f"taken {taken}" if not wrong else f"{len(wrong)} wrong: " + "; ".join(wrong[:6]))
EOF
)
if [[ $verdict == taken* ]]; then
    pass every-form-refused-or-the-kernels-errno
else
    fail every-form-refused-or-the-kernels-errno "$(oneline "$verdict")"
fi
# One refusal record per call the kernel would have taken.
taken=${verdict#taken }
denied=$(grep -c '"verdict":"deny"' "$AUDIT" 2>/dev/null || true)
if [[ $verdict == taken* && $denied == "$taken" ]]; then
    pass audit-one-refusal-per-taken-form
else
    fail audit-one-refusal-per-taken-form "audit deny records: $denied, calls the kernel took: $taken"
fi

# A proxied connection dissolved with connect(AF_UNSPEC): getpeername says ENOTCONN, and
# a Fast Open send to the listener goes through the proxy (it arrives from the proxy's
# external address, never from the client's) or, under strict with a deny, nowhere.
before=$(heard)
run $T "${SFY[@]}" -q --direct '' -x "socks5h://$SFY_PROXY4:$SFY_PORT_DANTE" -- \
    "$PROBE_BIN" dissolve "$SFY_DEST4" "$SFY_PORT_ECHO" "$SFY_PROXY4" "$PORT"
sleep 0.5
from_client=$(tail -n +"$((before + 2))" "$LISTEN_LOG" | grep -c " $SFY_CLIENT4\$" || true)
if [[ $OUT == *"echo ok"*"dissolve ok"*"getpeername ENOTCONN"*"tfo ok"* ]] && ((from_client == 0)) &&
    [[ $(heard) -gt $before ]]; then
    pass dissolved-socket-fast-open-goes-through-the-proxy
else
    fail dissolved-socket-fast-open-goes-through-the-proxy "$(why "direct arrivals: $from_client")"
fi
before=$(heard)
run $T "${SFY[@]}" -q --strict --default-deny --allow "$SFY_DEST4:$SFY_PORT_ECHO" --direct '' \
    -x "socks5h://$SFY_PROXY4:$SFY_PORT_DANTE" -- \
    "$PROBE_BIN" dissolve "$SFY_DEST4" "$SFY_PORT_ECHO" "$SFY_PROXY4" "$PORT"
sleep 0.5
if [[ $OUT == *"echo ok"*"getpeername ENOTCONN"*"tfo EACCES"* ]] && [[ $(heard) == "$before" ]]; then
    pass dissolved-socket-fast-open-refused-under-strict
else
    fail dissolved-socket-fast-open-refused-under-strict "$(why "listener heard $(($(heard) - before))")"
fi

# A socket the hooks cannot route (raw ICMP), inherited from before the library was
# loaded: under strict a send on it is refused and audited, never passed to libc.
cat >"$SFY_TMP/raw_send.py" <<'EOF'
import errno, socket, sys
s = socket.socket(fileno=int(sys.argv[1]))
try:
    s.sendto(b"\x08\x00\xf7\xff\x00\x00\x00\x00", (sys.argv[2], 0))
    print("raw sent")
except OSError as e:
    print("raw", errno.errorcode[e.errno])
EOF
RAW_AUDIT=$SFY_TMP/raw-audit.log
run $T "${IN_CLIENT[@]}" "$PY" -c '
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.set_inheritable(True)
launcher, proxy, py, script, audit, dest = sys.argv[1:]
os.execv(launcher, [launcher, "-q", "--strict", "--direct", "", "--audit", audit, "-x", proxy,
                    "--", py, script, str(s.fileno()), dest])
' "$SOCKSIFY" "socks5h://$SFY_PROXY4:$SFY_PORT_DANTE" "$PY" "$SFY_TMP/raw_send.py" "$RAW_AUDIT" \
    "$SFY_PROXY4"
if [[ $OUT == "raw EACCES" ]] && grep -q '"kind":"refusal".*"verdict":"deny","reason":"strict"' "$RAW_AUDIT"; then
    pass inherited-raw-socket-refused-under-strict
else
    fail inherited-raw-socket-refused-under-strict "$(why)"
fi

# fclose(fdopen(sock)) closes behind the library: the next objects on those numbers (a
# socketpair end, a pipe) are themselves, not the old proxied sockets.
run $T "${SFY[@]}" -q -x "socks5h://$SFY_PROXY4:$SFY_PORT_DANTE" -- \
    "$PROBE_BIN" stale "$SFY_DEST4" "$SFY_PORT_ECHO" "$SFY_DEST4" "$SFY_PORT_UDP_ECHO"
if [[ $OUT == *"tcp-echo ok"*"socketpair-peer family-1"*"udp-echo ok"*"pipe-peer ENOTSOCK"*"pipe-write ok pipe-read ok"*"udp2-echo ok"*"pipe2-write ok pipe2-read ok"* ]]; then
    pass records-left-by-fclose-are-not-trusted
else
    fail records-left-by-fclose-are-not-trusted "$(why)"
fi
finish
