#!/usr/bin/env bash
# getpeername on a socket the supervisor connected through the proxy gives the
# destination, as it would without a proxy (issue 13), not the proxy: Go's
# conn.RemoteAddr() (filled by getpeername after connect) in a static and a cgo Go
# client, by address and by name (the fake address the program resolved); a static C
# client after connect, on a dup, in a forked child, received over SCM_RIGHTS, with a
# buffer too short (truncated, full length reported, nothing written past it) and an
# empty one, and after connect(AF_UNSPEC) dissolved it (the kernel's ENOTCONN); under
# --strict a libc program (python3, and the same C client dynamic); under --supervise
# on the library's answer and the supervisor's agree. Through Dante and microsocks.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher
require_names

T=30
ensure_scratch
BIN=$SFY_ROOT/build/go
mkdir -p "$BIN"
WEB=$SFY_NAME_WEB
PORT=$SFY_PORT_HTTP
DANTE=socks5h://$SFY_PROXY4:$SFY_PORT_DANTE
MICRO=socks5h://$SFY_PROXY4:$SFY_PORT_MICRO
REPLY='reply "HTTP/1.0 200 OK\r\n"'
capture_start

# --- build (offline, as tests/integration/supervisor.sh does) --------------------------------
export GOCACHE=$BIN/cache GOPATH=$BIN/path GOPROXY=off GOFLAGS='' GO111MODULE=auto
HAVE_GO=1
if ! command -v go >/dev/null; then
    HAVE_GO=0
    skip go "go is not installed (scripts/install-deps.sh installs golang-go)"
else
    CGO_ENABLED=0 go build -o "$BIN/peer-static" "$PROGRAMS/go/peer.go" 2>"$SFY_TMP/go.err" ||
        { fail build-go "$(oneline "$(<"$SFY_TMP/go.err")")"; finish; }
    CGO_ENABLED=1 go build -o "$BIN/peer-cgo" "$PROGRAMS/go/peer.go" 2>"$SFY_TMP/go.err" ||
        { fail build-go-cgo "$(oneline "$(<"$SFY_TMP/go.err")")"; finish; }
fi
HAVE_STATIC_C=1
gcc -static -O2 -Wall -o "$BIN/peer_probe-static" "$PROGRAMS/peer_probe.c" 2>"$SFY_TMP/cc.err" ||
    HAVE_STATIC_C=0
((HAVE_STATIC_C)) || skip static-c "gcc -static failed: $(oneline "$(<"$SFY_TMP/cc.err")")"
gcc -O2 -Wall -o "$BIN/peer_probe-dyn" "$PROGRAMS/peer_probe.c" 2>"$SFY_TMP/cc.err" ||
    { fail build-c "$(oneline "$(<"$SFY_TMP/cc.err")")"; finish; }


# go_by_name NAME: the last run printed "resolved A..." and "remote ADDR:PORT" with ADDR
# one of the fake addresses it resolved, and the reply came through.
go_by_name() {
    local resolved remote host
    resolved=$(awk '$1 == "resolved" { $1 = ""; print }' <<<"$OUT")
    remote=$(awk '$1 == "remote" { print $2 }' <<<"$OUT")
    host=${remote%:*}
    host=${host#[}
    host=${host%]}
    if ((RC == 0)) && [[ -n $host && " $resolved " == *" $host "* && ${remote##*:} == "$PORT" &&
        $OUT == *"$REPLY"* && -z $(dns_leaks) ]] && is_fake "$host"; then
        pass "$1"
    else
        fail "$1" "$(why "want remote = a fake address resolved ('$resolved'), port $PORT, leaks '$(dns_leaks)'")"
    fi
}

# --- Go: conn.RemoteAddr() -------------------------------------------------------------------
if ((HAVE_GO)); then
    for px in "dante|$DANTE" "microsocks|$MICRO"; do
        name=${px%%|*}
        for kind in static cgo; do
            run $T "${SFY[@]}" -x "${px#*|}" -- "$BIN/peer-$kind" "$SFY_DEST4:$PORT"
            if ((RC == 0)) && [[ $OUT == *"remote $SFY_DEST4:$PORT"* && $OUT == *"$REPLY"* ]]; then
                pass "go-$kind-remote-addr-by-ip-$name"
            else
                fail "go-$kind-remote-addr-by-ip-$name" "$(why "want remote $SFY_DEST4:$PORT")"
            fi
            run $T "${SFY[@]}" -x "${px#*|}" -- "$BIN/peer-$kind" "$WEB:$PORT"
            go_by_name "go-$kind-remote-addr-by-name-$name"
        done
    done
    run $T "${SFY[@]}" -x "$DANTE" -- "$BIN/peer-static" "[$SFY_DEST6]:$PORT"
    if ((RC == 0)) && [[ $OUT == *"remote [$SFY_DEST6]:$PORT"* && $OUT == *"$REPLY"* ]]; then
        pass go-static-remote-addr-by-ipv6
    else
        fail go-static-remote-addr-by-ipv6 "$(why "want remote [$SFY_DEST6]:$PORT")"
    fi
fi

# --- C: getpeername after connect, on a dup, in a child; short buffers ----------------------
# c_peer NAME ADDR-TEXT LEN HEX4: the probe's lines for a destination it connected to.
c_peer() {
    local want
    want=$(printf 'connect %s len %s\ndup %s len %s\nfork %s len %s\nscm %s len %s\nshort %s %s kept\nzero %s\nunspec errno ENOTCONN' \
        "$2" "$3" "$2" "$3" "$2" "$3" "$2" "$3" "$3" "$4" "$3")
    if ((RC == 0)) && [[ $OUT == "$want" ]]; then
        pass "$1"
    else
        fail "$1" "$(why "want: $(oneline "$want")")"
    fi
}
# The first 4 bytes of a sockaddr_in/sockaddr_in6 for port 80: the family (host
# order, little-endian here), then the port.
HEX4=020000$(printf '%02x' "$PORT")
HEX6=0a0000$(printf '%02x' "$PORT")
if ((HAVE_STATIC_C)); then
    for px in "dante|$DANTE" "microsocks|$MICRO"; do
        run $T "${SFY[@]}" -x "${px#*|}" -- "$BIN/peer_probe-static" "$SFY_DEST4" "$PORT"
        c_peer "static-c-getpeername-${px%%|*}" "$SFY_DEST4:$PORT" 16 "$HEX4"
    done
    run $T "${SFY[@]}" -x "$DANTE" -- "$BIN/peer_probe-static" "$SFY_DEST6" "$PORT"
    c_peer static-c-getpeername-ipv6 "[$SFY_DEST6]:$PORT" 28 "$HEX6"
fi

# --- --strict: libc programs are under the filter too ----------------------------------------
for px in "dante|$DANTE" "microsocks|$MICRO"; do
    name=${px%%|*}
    run $T "${SFY[@]}" --strict -x "${px#*|}" -- "$BIN/peer_probe-dyn" "$SFY_DEST4" "$PORT"
    c_peer "strict-libc-getpeername-$name" "$SFY_DEST4:$PORT" 16 "$HEX4"
    run $T "${SFY[@]}" --strict -x "${px#*|}" -- "$PY" -c "
import socket, sys
for host in sys.argv[1:]:
    s = socket.create_connection((host, $PORT), timeout=20)
    print(host, socket.getaddrinfo(host, $PORT, socket.AF_INET, socket.SOCK_STREAM)[0][4][0], *s.getpeername())
    s.close()
" "$SFY_DEST4" "$WEB"
    resolved=$(awk -v w="$WEB" '$1 == w { print $2 }' <<<"$OUT")
    if ((RC == 0)) && [[ $OUT == *"$SFY_DEST4 $SFY_DEST4 $SFY_DEST4 $PORT"* &&
        $OUT == *"$WEB $resolved $resolved $PORT"* && -z $(dns_leaks) ]] && is_fake "$resolved"; then
        pass "strict-python-getpeername-$name"
    else
        fail "strict-python-getpeername-$name" "$(why "want the destination and the fake address '$resolved'")"
    fi
done

# --supervise on without --strict: the library proxies a libc program's connects itself
# (its connect to the proxy continues under the filter) and answers getpeername from
# its own record; the supervisor, which has none, lets the call through: they agree.
run $T "${SFY[@]}" --supervise on -x "$DANTE" -- "$PY" -c "
import os, socket
s = socket.create_connection(('$WEB', $PORT), timeout=20)
print(*s.getpeername(), *socket.socket(fileno=os.dup(s.fileno())).getpeername())
"
read -r a1 p1 a2 p2 <<<"$OUT"
if ((RC == 0)) && is_fake "$a1" && [[ $a1 == "$a2" && $p1 == "$PORT" && $p2 == "$PORT" ]]; then
    pass supervise-on-libc-library-and-supervisor-agree
else
    fail supervise-on-libc-library-and-supervisor-agree "$(why "want the fake address twice")"
fi

capture_stop nothing-but-the-proxy-on-the-wire
finish
