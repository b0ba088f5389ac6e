#!/usr/bin/env bash
# TCP CONNECT through the launcher: real programs in the client namespace, which has no
# route to the destinations, reach them through sockd and microsocks; failures come
# back as the errno and exit codes the programs already know. One line per case.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher

T=20  # seconds: the bound for one case
TOKEN=$(token)
ensure_scratch
DIR=$SFY_TMP

declare -A PORT=([dante]=$SFY_PORT_DANTE [micro]=$SFY_PORT_MICRO)
declare -A DEST=([4]=$SFY_DEST4 [6]=$SFY_DEST6)
declare -A PROXY=([4]=$SFY_PROXY4 [6]=$SFY_PROXY6)
# Addresses of the proxy namespace: the whoami server must see one of these.
declare -A PROXY_SIDE=([4]="$SFY_DEST4 $SFY_PROXY4" [6]="$SFY_DEST6 $SFY_PROXY6")

url() { printf 'socks5://%s:%s' "$(urlhost "${PROXY[$2]}")" "${PORT[$1]}"; }

# --- Programs through each proxy to both destination families ----------------------

JAVA_OK=0
if run 120 javac -d "$SFY_WORLD/java" "$PROGRAMS/SocketEcho.java" && ((RC == 0)); then
    JAVA_OK=1
fi
JAVA_WHY=$(why "javac failed")

printf '%s\n' "nc-token" >"$DIR/nc-input"

for proxy in dante micro; do
    u=$(url "$proxy" 4)
    for fam in 4 6; do
        d=${DEST[$fam]}
        h=$(urlhost "$d")
        id=$proxy-v$fam

        run $T "${SFY[@]}" -x "$u" -- curl -sS "http://$h/hello.txt"
        check_out "curl-$id" "$TOKEN"

        run $T "${SFY[@]}" -x "$u" -- wget -q -O - "http://$h/hello.txt"
        check_out "wget-$id" "$TOKEN"

        run $T "${SFY[@]}" -x "$u" -- "$PY" "$PROBE" echo "$d" "$SFY_PORT_ECHO" "py-$id-$TOKEN"
        check_out "python-socket-$id" "py-$id-$TOKEN"

        run $T "${SFY[@]}" -x "$u" -- "$PY" "$PROBE" aecho "$d" "$SFY_PORT_ECHO" "aio-$id-$TOKEN"
        check_out "python-asyncio-$id" "aio-$id-$TOKEN"

        # shellcheck disable=SC2016
        run $T "${SFY[@]}" -x "$u" -- sh -c 'exec nc -W 1 "$0" "$1" <"$2"' \
            "$d" "$SFY_PORT_ECHO" "$DIR/nc-input"
        check_out "nc-$id" "nc-token"

        if ((JAVA_OK)); then
            run $T "${SFY[@]}" -x "$u" -- java -cp "$SFY_WORLD/java" SocketEcho \
                "$d" "$SFY_PORT_ECHO" "java-$id-$TOKEN"
            check_out "java-$id" "java-$id-$TOKEN"
        else
            fail "java-$id" "$JAVA_WHY"
        fi

        run $T "${SFY[@]}" -x "$u" -- node "$PROGRAMS/node_echo.js" "$d" "$SFY_PORT_ECHO" "node-$id-$TOKEN"
        check_out "node-$id" "node-$id-$TOKEN"

        # The destination's peer is the proxy, never the client itself.
        run $T "${SFY[@]}" -x "$u" -- "$PY" "$PROBE" read "$d" "$SFY_PORT_WHOAMI"
        if ((RC == 0)) && [[ -n $OUT && " ${PROXY_SIDE[$fam]} " == *" $OUT "* ]]; then
            pass "whoami-is-proxy-$id"
        else
            fail "whoami-is-proxy-$id" "$(why "expected one of: ${PROXY_SIDE[$fam]}")"
        fi
    done
done

# --- IPv6 proxy address (the other family for IPv4 destinations) ------------------

for proxy in dante micro; do
    u=$(url "$proxy" 6)
    for fam in 4 6; do
        run $T "${SFY[@]}" -x "$u" -- curl -sS "http://$(urlhost "${DEST[$fam]}")/hello.txt"
        check_out "curl-$proxy-proxy6-v$fam" "$TOKEN"
        run $T "${SFY[@]}" -x "$u" -- "$PY" "$PROBE" echo "${DEST[$fam]}" "$SFY_PORT_ECHO" "p6-$TOKEN"
        check_out "python-socket-$proxy-proxy6-v$fam" "p6-$TOKEN"
    done
done

# --- Isolation: the same program without the proxy cannot get there ---------------

for fam in 4 6; do
    run $T "${IN_CLIENT[@]}" curl -sS "http://$(urlhost "${DEST[$fam]}")/hello.txt"
    if ((RC == 7)) && [[ $OUT != *"$TOKEN"* ]]; then
        pass "control-no-socksify-fails-v$fam"
    else
        fail "control-no-socksify-fails-v$fam" "$(why "expected curl exit 7: the client must have no route")"
    fi
done
# A destination listed as direct is not proxied, so it fails the same way.
run $T "${SFY[@]}" -x "$(url dante 4)" --direct 203.0.113.0/24 -- curl -sS "http://$SFY_DEST4/hello.txt"
if ((RC == 7)) && [[ $OUT != *"$TOKEN"* ]]; then
    pass "control-direct-cidr-goes-direct"
else
    fail "control-direct-cidr-goes-direct" "$(why "expected curl exit 7 for a --direct destination")"
fi

# --- Username/password (RFC 1929) ---------------------------------------------------

printf '%s\n' "$SFY_PASS" >"$DIR/password"
chmod 600 "$DIR/password"
printf '%s\n' "wrongpass" >"$DIR/wrong-password"
chmod 600 "$DIR/wrong-password"
declare -A AUTH_PORT=([micro]=$SFY_PORT_MICRO_AUTH [dante]=$SFY_PORT_DANTE_AUTH)
for proxy in micro dante; do
    hostport=$SFY_PROXY4:${AUTH_PORT[$proxy]}

    run $T "${SFY[@]}" -x "socks5://$SFY_USER:$SFY_PASS@$hostport" -- \
        curl -sS "http://$SFY_DEST4/hello.txt"
    check_out "auth-$proxy-password-in-url" "$TOKEN"

    run $T "${SFY[@]}" -x "socks5://$SFY_USER@$hostport" --password-file "$DIR/password" -- \
        curl -sS "http://$SFY_DEST4/hello.txt"
    check_out "auth-$proxy-password-file" "$TOKEN"

    run $T "${SFY[@]}" -x "socks5://$SFY_USER:wrongpass@$hostport" -- \
        curl -sS "http://$SFY_DEST4/hello.txt"
    if ((RC != 0 && RC != 124 && RC != 137 && MS < 5000)) && [[ $OUT != *"$TOKEN"* ]] &&
        [[ $ERR != *wrongpass* && -n $ERR ]]; then
        pass "auth-$proxy-wrong-password-fails-fast"
    else
        fail "auth-$proxy-wrong-password-fails-fast" \
            "$(why "expected a quick failure with an error and no password on stderr (${MS} ms)")"
    fi

    run $T "${SFY[@]}" -x "socks5://$SFY_USER@$hostport" --password-file "$DIR/wrong-password" \
        -- "$PY" "$PROBE" errno "$SFY_DEST4" "$SFY_PORT_ECHO"
    if ((RC == 0)) && [[ $OUT =~ ^[A-Za-z]+Error\ E[A-Z]+\ ([0-9]+)$ && $ERR != *wrongpass* ]] &&
        ((BASH_REMATCH[1] < 5000)); then
        pass "auth-$proxy-wrong-password-file-errno"
    else
        fail "auth-$proxy-wrong-password-file-errno" "$(why "expected connect() to fail fast")"
    fi
done

# --- Failures map to the errno a program expects ------------------------------------

down=socks5://$SFY_PROXY4:$SFY_PORT_DOWN
run $T "${SFY[@]}" -x "$down" -- curl -sS "http://$SFY_DEST4/hello.txt"
if ((RC == 7)); then pass "proxy-down-curl-exit-7"; else fail "proxy-down-curl-exit-7" "$(why)"; fi
run $T "${SFY[@]}" -x "$down" -- "$PY" "$PROBE" errno "$SFY_DEST4" "$SFY_PORT_ECHO"
check_out "proxy-down-python-ConnectionRefusedError" "ConnectionRefusedError ECONNREFUSED"

for proxy in dante micro; do
    run $T "${SFY[@]}" -x "$(url "$proxy" 4)" -- "$PY" "$PROBE" errno "$SFY_DEST4" "$SFY_PORT_CLOSED"
    check_out "dest-refused-$proxy-python-errno-111" "ConnectionRefusedError ECONNREFUSED"
    run $T "${SFY[@]}" -x "$(url "$proxy" 4)" -- curl -sS "http://$SFY_DEST4:$SFY_PORT_CLOSED/"
    if ((RC == 7)); then pass "dest-refused-$proxy-curl-exit-7"; else fail "dest-refused-$proxy-curl-exit-7" "$(why)"; fi

    run $T "${SFY[@]}" -x "$(url "$proxy" 4)" --timeout 2 -- \
        "$PY" "$PROBE" errno "$SFY_BLACKHOLE4" "$SFY_PORT_ECHO"
    if ((RC == 0)) && [[ $OUT =~ ^TimeoutError\ ETIMEDOUT\ ([0-9]+)$ ]] &&
        ((BASH_REMATCH[1] >= 1500 && BASH_REMATCH[1] <= 4000)); then
        pass "timeout-$proxy-python-errno-110"
    else
        fail "timeout-$proxy-python-errno-110" "$(why "expected 'TimeoutError ETIMEDOUT' after 1500-4000 ms")"
    fi
done

# --- Verbose log --------------------------------------------------------------------

run $T "${SFY[@]}" -v -x "$(url dante 4)" -- "$PY" "$PROBE" loop "$SFY_DEST4" "$SFY_PORT_ECHO" 3 vlog
lines=$(grep -c "$SFY_DEST4:$SFY_PORT_ECHO" <<<"$ERR" || true)
if ((RC == 0)) && [[ $OUT == ms=* ]] && ((lines == 3)); then
    pass "verbose-one-line-per-connection"
else
    fail "verbose-one-line-per-connection" "$(why "expected 3 stderr lines naming $SFY_DEST4:$SFY_PORT_ECHO, got $lines")"
fi
run $T "${SFY[@]}" -v -x "socks5://$SFY_USER:$SFY_PASS@$SFY_PROXY4:$SFY_PORT_MICRO_AUTH" -- \
    "$PY" "$PROBE" echo "$SFY_DEST4" "$SFY_PORT_ECHO" "v-$TOKEN"
if ((RC == 0)) && [[ $OUT == "v-$TOKEN" && -n $ERR && $ERR != *"$SFY_PASS"* ]]; then
    pass "verbose-never-logs-password"
else
    fail "verbose-never-logs-password" "$(why "expected a log line without the password")"
fi
run $T "${SFY[@]}" -x "$(url dante 4)" -- "$PY" "$PROBE" echo "$SFY_DEST4" "$SFY_PORT_ECHO" "q-$TOKEN"
if ((RC == 0)) && [[ $OUT == "q-$TOKEN" && -z $ERR ]]; then
    pass "default-silent-on-success"
else
    fail "default-silent-on-success" "$(why "expected nothing on stderr")"
fi

# --- Socket semantics the program can observe ---------------------------------------

# Non-blocking connect: 0 or EINPROGRESS, then writable, and still O_NONBLOCK.
for c in "dante 4 4" "dante 4 6" "micro 4 4" "micro 4 6" "dante 6 4"; do
    read -r proxy pfam fam <<<"$c"
    run $T "${SFY[@]}" -x "$(url "$proxy" "$pfam")" -- "$PY" "$PROBE" nonblock "${DEST[$fam]}" "$SFY_PORT_ECHO" "nb-$TOKEN"
    if ((RC == 0)) && [[ $OUT =~ ^connect_ex=(0|EINPROGRESS)\ nonblock=1\ echo=nb-$TOKEN$ ]]; then
        pass "nonblocking-$proxy-proxy$pfam-v$fam"
    else
        fail "nonblocking-$proxy-proxy$pfam-v$fam" "$(why)"
    fi
done

# FD_CLOEXEC kept, blocking stays blocking, getpeername is the destination (also when
# the proxy's family differs from the socket's, and for a v4-mapped destination).
for c in "dante 4 4 4" "dante 4 6 6" "dante 6 4 4" "dante 6 6 6" "dante 4 4 6" "dante 6 4 6" \
    "micro 4 4 4" "micro 4 4 6"; do
    read -r proxy pfam fam sockfam <<<"$c"
    d=${DEST[$fam]}
    if [[ $sockfam == 6 ]]; then
        [[ $fam == 4 ]] && d=::ffff:$d
        expect="cloexec=1->1 nonblock=0->0 family=inet6 peer=$d:$SFY_PORT_ECHO"
    else
        expect="cloexec=1->1 nonblock=0->0 family=inet peer=$d:$SFY_PORT_ECHO"
    fi
    run $T "${SFY[@]}" -x "$(url "$proxy" "$pfam")" -- "$PY" "$PROBE" flags "${DEST[$fam]}" "$SFY_PORT_ECHO" "$sockfam"
    if ((RC == 0)) && [[ $OUT == "$expect" ]]; then
        pass "flags-peer-$proxy-proxy$pfam-v$fam-sock$sockfam"
    else
        fail "flags-peer-$proxy-proxy$pfam-v$fam-sock$sockfam" "$(why "expected '$expect'")"
    fi
done

# A bind() before connect() survives: same local address, and the proxy saw that port.
for c in "dante 4 4 $SFY_CLIENT4" "dante 6 6 $SFY_CLIENT6" "micro 4 4 $SFY_CLIENT4"; do
    read -r proxy pfam fam addr <<<"$c"
    name="bind-kept-$proxy-v$fam"
    run $T "${SFY[@]}" -x "$(url "$proxy" "$pfam")" -- "$PY" "$PROBE" bind "${DEST[$fam]}" "$SFY_PORT_ECHO" "$addr"
    if ! ((RC == 0)) || ! [[ $OUT =~ ^before=([^ ]+):([0-9]+)\ after=([^ ]+):([0-9]+)$ ]]; then
        fail "$name" "$(why)"
        continue
    fi
    if [[ ${BASH_REMATCH[1]} != "$addr" || ${BASH_REMATCH[3]} != "$addr" ||
        ${BASH_REMATCH[2]} != "${BASH_REMATCH[4]}" ]]; then
        fail "$name" "$(why "local address changed")"
        continue
    fi
    bound_port=${BASH_REMATCH[2]}
    if [[ $proxy == dante ]]; then
        # sockd logs "<client>.<port> <proxy>.<port>" for every session it accepts.
        seen=0
        for ((i = 0; i < 20; i++)); do
            if grep -qF "$addr.$bound_port ${PROXY[$pfam]}.$SFY_PORT_DANTE" "$SFY_WORLD/log/danted.log"; then
                seen=1
                break
            fi
            sleep 0.1
        done
        if ((!seen)); then
            fail "$name" "danted.log has no session from $addr.$bound_port"
            continue
        fi
    fi
    pass "$name"
done

# Through syscall(2): socket, connect and sendto by number reach the hooks too.
run $T "${SFY[@]}" -x "$(url dante 4)" -- "$PY" -c '
import ctypes, os, socket, struct, sys
nr = {"x86_64": (41, 42, 44), "aarch64": (198, 203, 206)}[os.uname().machine]
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
fd = libc.syscall(nr[0], socket.AF_INET, socket.SOCK_STREAM, 0)
addr = struct.pack("!HH4s8x", socket.AF_INET, int(sys.argv[2]), socket.inet_aton(sys.argv[1]))
addr = struct.pack("=H", socket.AF_INET) + addr[2:]
rc = libc.syscall(nr[1], fd, addr, len(addr))
if rc != 0:
    print("connect", os.strerror(ctypes.get_errno())); sys.exit(1)
msg = sys.argv[3].encode() + b"\n"
libc.syscall(nr[2], fd, msg, len(msg), 0, None, 0)
print(os.read(fd, 200).decode().strip())
' "$SFY_DEST4" "$SFY_PORT_ECHO" "sys-$TOKEN"
check_out syscall-socket-connect-sendto-proxied "sys-$TOKEN"

# An fd closed where the shim cannot see it (fclose() of an fdopen()ed socket closes
# inside libc): the next socket under that number is a new one, neither "already
# connected" nor tied to the old UDP association.
run $T "${SFY[@]}" -x "$(url dante 4)" -- "$PY" -c '
import ctypes, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.fdopen.restype = ctypes.c_void_p
libc.fclose.argtypes = [ctypes.c_void_p]
dest, port, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def unseen_close(s):
    fd = s.detach()
    libc.fclose(libc.fdopen(fd, b"r+"))
    return fd
def echo(s, text):
    s.settimeout(10)
    s.sendall(text.encode() + b"\n")
    return s.recv(200).decode().strip()
a = socket.create_connection((dest, port), timeout=10)   # proxied TCP
old = unseen_close(a)
b = socket.socket()
print("reused" if b.fileno() == old else "other", end=" ")
b.connect((dest, port))
print(echo(b, "tcp-" + token), end=" ")
b.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)       # UDP with an association
u.sendto(b"x", (dest, 7))
old = unseen_close(u)
c = socket.socket()
print("reused" if c.fileno() == old else "other", end=" ")
c.connect((dest, port))
print(echo(c, "udp-" + token))
' "$SFY_DEST4" "$SFY_PORT_ECHO" "$TOKEN"
check_out unseen-close-leaves-no-stale-record "reused tcp-$TOKEN reused udp-$TOKEN"

# A second connect, to a proxied address, on a socket the program connected directly
# (loopback) fails with EISCONN; no SOCKS bytes go into the first connection, which
# keeps working.
run $T "${SFY[@]}" -x "$(url dante 4)" -- "$PY" -c '
import errno, socket, sys, threading
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
got = []
def serve():
    conn, _ = srv.accept()
    conn.settimeout(10)
    got.append(conn.recv(100))
t = threading.Thread(target=serve)
t.start()
s = socket.create_connection(srv.getsockname(), timeout=10)
try:
    s.connect((sys.argv[1], 80))
    print("connected again")
except OSError as e:
    print(errno.errorcode[e.errno], end=" ")
s.sendall(b"still-here")
t.join(10)
print(got[0].decode() if got else "nothing")
' "$SFY_DEST4"
check_out second-connect-on-a-direct-socket-is-eisconn "EISCONN still-here"

# --- The proxy given by host name: resolved once, locally (client /etc/hosts) -----
for fam in 4 6; do
    run $T "${SFY[@]}" -x "socks5://proxy$fam.sfy.lan:$SFY_PORT_DANTE" -- curl -sS --max-time 10 \
        "http://$SFY_DEST4/hello.txt"
    check_out "proxy-by-hostname-ipv$fam" "$TOKEN"
done
# The library preloaded by hand resolves the name itself at start-up.
run $T "${IN_CLIENT[@]}" env LD_PRELOAD="$SFY_ROOT/build/lib/libsocksify.so" \
    SOCKSIFY_PROXY="socks5://proxy4.sfy.lan:$SFY_PORT_DANTE" curl -sS --max-time 10 \
    "http://$SFY_DEST4/hello.txt"
check_out proxy-by-hostname-preloaded-by-hand "$TOKEN"

finish
