#!/usr/bin/env bash
# UDP ASSOCIATE through the launcher, against Dante sockd (microsocks has no UDP): real
# programs in the client namespace, which has no route to the destinations, exchange
# datagrams with a UDP echo server and a DNS server on the proxy side. The echo server
# logs each datagram's source: it must be the proxy's relay (a proxy-side address),
# never the client itself. One line per case.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher
require_names

T=20  # seconds: the bound for one case
ensure_scratch
DIR=$SFY_TMP
UDPP=$PROGRAMS/udp_probe.py
MMSG=$SFY_ROOT/build/tests/udp_mmsg
TAG=u$RANDOM$RANDOM  # payloads carry it: a log line with it is from this run
EP=$SFY_PORT_UDP_ECHO

declare -A DEST=([4]=$SFY_DEST4 [6]=$SFY_DEST6)
declare -A PROXY=([4]=$SFY_PROXY4 [6]=$SFY_PROXY6)
# Addresses of the proxy namespace, where relayed datagrams may come from.
PROXY_SIDE=" $SFY_DEST4 $SFY_DEST6 $SFY_PROXY4 $SFY_PROXY6 "
url() { printf 'socks5h://%s:%s' "$(urlhost "${PROXY[$1]}")" "$SFY_PORT_DANTE"; }
U4=$(url 4)

# echo_sources TOKEN: the source addresses the echo server logged for datagrams holding
# TOKEN since the last run started (one per line); empty when it saw none.
echo_sources() {
    local i got=""
    for ((i = 0; i < 10; i++)); do
        got=$(log_new udpecho | awk -v t="$1" 'index($4, t) {print $1}')
        [[ -n $got ]] && break
        sleep 0.1
    done
    printf '%s' "$got"
}

# relayed_ok TOKEN: the echo server saw TOKEN, and only from proxy-side addresses.
# Sets SOURCES for a FAIL line.
relayed_ok() {
    local src
    SOURCES=""
    SOURCES=$(echo_sources "$1")
    [[ -n $SOURCES ]] || return 1
    for src in $SOURCES; do
        [[ $PROXY_SIDE == *" $src "* ]] || return 1
    done
}

# check_udp NAME EXPECTED-REGEX TOKEN: the last run exited 0 and printed a match, and the
# echo server saw TOKEN from the proxy side only.
check_udp() {
    local relayed=0
    relayed_ok "$3" && relayed=1
    if ((RC == 0 && relayed)) && [[ $OUT =~ $2 ]]; then
        pass "$1"
    else
        fail "$1" "$(why "expected output matching '$2' and the echo server to see $3 from the proxy side (saw from: $(oneline "${SOURCES:-nothing}"))")"
    fi
}

# running PID: the process exists and is not a zombie (the init of some containers
# reaps orphans late).
running() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}

re() { printf '%s' "${1//./\\.}"; }  # an address as a regex

# --- Controls: without the launcher nothing gets there --------------------------------

run $T "${IN_CLIENT[@]}" "$PY" "$UDPP" echo "$SFY_DEST4" "$EP" "ctl-$TAG"
if ((RC != 0)) && [[ $OUT == *ENETUNREACH* && -z $(echo_sources "ctl-$TAG") ]]; then
    pass "control-no-socksify-udp-unreachable"
else
    fail "control-no-socksify-udp-unreachable" "$(why "expected ENETUNREACH and nothing at the echo server")"
fi
run $T "${IN_CLIENT[@]}" dig +short +time=3 +tries=1 "@$SFY_DEST4" "$SFY_NAME_WEB"
if ((RC != 0)) && ! grep -qxF "$SFY_DEST4" <<<"$OUT" && ! log_new proxy-dns | grep -q 'query\['; then
    pass "control-no-socksify-dig-fails"
else
    fail "control-no-socksify-dig-fails" "$(why "expected dig to get no answer without the launcher")"
fi

# --- dig through the relay to the DNS server that only the proxy side can reach -------

run $T "${SFY[@]}" -x "$U4" -- dig +short +time=3 +tries=1 "@$SFY_DEST4" "$SFY_NAME_WEB"
if ((RC == 0)) && [[ $OUT == "$SFY_DEST4" ]] &&
    log_new proxy-dns | grep -qF "query[A] $SFY_NAME_WEB from $SFY_DEST4"; then
    pass "dig-v4"
else
    fail "dig-v4" "$(why "expected the answer $SFY_DEST4, asked from the proxy side")"
fi
run $T "${SFY[@]}" -x "$(url 6)" -- dig +short +time=3 +tries=1 "@$SFY_DEST4" "$SFY_NAME_WEB"
check_out "dig-v4-proxy6" "$SFY_DEST4"
# The server by a name only the proxy side knows: dig connects its socket to the fake
# address, so the answers must reach a socket connected to a name.
run $T "${SFY[@]}" -x "$U4" -- dig +short +time=3 +tries=1 "@$SFY_NAME_DNS" "$SFY_NAME_WEB"
leaks=$(dns_leaks)
if ((RC == 0)) && [[ $OUT == "$SFY_DEST4" && -z $leaks ]]; then
    pass "dig-server-by-name"
else
    fail "dig-server-by-name" "$(why "expected the answer $SFY_DEST4 (client resolver saw: ${leaks:-nothing})")"
fi
# dig's IPv6 socket is IPV6_V6ONLY: the relay must be reached over IPv6.
for pfam in 4 6; do
    run $T "${SFY[@]}" -x "$(url $pfam)" -- dig +short +time=3 +tries=1 "@$SFY_DEST6" "$SFY_NAME_WEB6" AAAA
    if ((RC == 0)) && [[ $OUT == "$SFY_DEST6" ]]; then
        pass "dig-v6-server-proxy$pfam"
    else
        fail "dig-v6-server-proxy$pfam" "$(why "expected the answer $SFY_DEST6")"
    fi
done

# --- Python echo: sendto/recvfrom, connected send/recv, sendmsg/recvmsg ---------------

for pfam in 4 6; do
    u=$(url $pfam)
    for fam in 4 6; do
        d=${DEST[$fam]}
        id=v$fam-proxy$pfam
        tok=sendto-$id-$TAG
        run $T "${SFY[@]}" -x "$u" -- "$PY" "$UDPP" echo "$d" "$EP" "$tok"
        check_udp "python-sendto-recvfrom-$id" "^$tok from $(re "$d") $EP$" "$tok"

        tok=conn-$id-$TAG
        run $T "${SFY[@]}" -x "$u" -- "$PY" "$UDPP" cecho "$d" "$EP" "$tok"
        check_udp "python-connected-send-recv-$id" "^$tok peer $(re "$d") $EP$" "$tok"

        tok=msg-$id-$TAG
        run $T "${SFY[@]}" -x "$u" -- "$PY" "$UDPP" msg "$d" "$EP" "$tok"
        check_udp "python-sendmsg-recvmsg-$id" "^$tok from $(re "$d") $EP$" "$tok"
    done
done

# An AF_INET6 socket with IPV6_V6ONLY cannot use a v4-mapped relay address.
for pfam in 4 6; do
    tok=v6only-proxy$pfam-$TAG
    run $T "${SFY[@]}" -x "$(url $pfam)" -- "$PY" "$UDPP" v6only "$SFY_DEST6" "$EP" "$tok"
    check_udp "python-v6only-socket-proxy$pfam" "^$tok from $(re "$SFY_DEST6") $EP$" "$tok"
done

# --- sendmmsg/recvmmsg (C) -------------------------------------------------------------

for fam in 4 6; do
    d=${DEST[$fam]}
    if [[ ! -x $MMSG ]]; then
        fail "c-sendmmsg-recvmmsg-v$fam" "$MMSG not built (make build/tests/udp_mmsg)"
        continue
    fi
    run $T "${SFY[@]}" -x "$U4" -- "$MMSG" "$d" "$EP" 4
    n=$(grep -cE "^msg-[0-3] from $(re "$d")$" <<<"$OUT" || true)
    srcs=$(log_new udpecho | awk '$4 ~ /^msg-[0-3]$/ {print $1}' | sort -u | tr '\n' ' ')
    if ((RC == 0 && n == 4)) && [[ -n $srcs && $PROXY_SIDE == *" ${srcs% } "* ]]; then
        pass "c-sendmmsg-recvmmsg-v$fam"
    else
        fail "c-sendmmsg-recvmmsg-v$fam" "$(why "expected 4 echoes from $d, relayed from the proxy side (echo server saw: ${srcs:-nothing})")"
    fi
done

# --- A name only the proxy side can resolve ---------------------------------------------

# getaddrinfo gives a fake address; the datagram carries the name (DOMAINNAME) and the
# reply reports the true source (the destination's address, or the fake address).
tok=name-$TAG
run $T "${SFY[@]}" -x "$U4" -- "$PY" "$UDPP" echo "$SFY_NAME_ECHO" "$EP" "$tok"
leaks=$(dns_leaks)
relayed=0
relayed_ok "$tok" && relayed=1
if ((RC == 0 && relayed)) && [[ $OUT =~ ^$tok\ from\ ($(re "$SFY_DEST4")|240\.([0-9]|1[0-5])\.[0-9]+\.[0-9]+)\ $EP$ && -z $leaks ]]; then
    pass "python-sendto-by-name"
else
    fail "python-sendto-by-name" "$(why "expected the echo by name (client resolver saw: ${leaks:-nothing}; echo server saw from: ${SOURCES:-nothing})")"
fi
tok=cname-$TAG
run $T "${SFY[@]}" -x "$U4" -- "$PY" "$UDPP" cecho "$SFY_NAME_ECHO" "$EP" "$tok"
leaks=$(dns_leaks)
relayed=0
relayed_ok "$tok" && relayed=1
if ((RC == 0 && relayed)) && [[ $OUT =~ ^$tok\ peer\ 240\.([0-9]|1[0-5])\.[0-9]+\.[0-9]+\ $EP$ && -z $leaks ]]; then
    pass "python-connected-by-name"
else
    fail "python-connected-by-name" "$(why "expected the echo on a socket connected to the fake address (client resolver saw: ${leaks:-nothing}; echo server saw from: ${SOURCES:-nothing})")"
fi

# --- --udp off / SOCKSIFY_UDP=off: EACCES, nothing leaves -------------------------------

run $T "${SFY[@]}" -x "$U4" --udp off -- "$PY" "$UDPP" errno "$SFY_DEST4" "$EP"
if ((RC == 0)) && [[ $OUT == "PermissionError EACCES" && -z $(log_new udpecho) ]]; then
    pass "udp-off-option-EACCES"
else
    fail "udp-off-option-EACCES" "$(why "expected PermissionError EACCES and nothing at the echo server")"
fi
run $T "${IN_CLIENT[@]}" env SOCKSIFY_UDP=off "$SOCKSIFY" -x "$U4" -- "$PY" "$UDPP" errno "$SFY_DEST4" "$EP"
if ((RC == 0)) && [[ $OUT == "PermissionError EACCES" && -z $(log_new udpecho) ]]; then
    pass "udp-off-env-EACCES"
else
    fail "udp-off-env-EACCES" "$(why "expected PermissionError EACCES and nothing at the echo server")"
fi
run $T "${SFY[@]}" -x "$U4" --udp off -- dig +short +time=2 +tries=1 "@$SFY_DEST4" "$SFY_NAME_WEB"
if ((RC != 0)) && [[ $OUT == *"permission denied"* ]] && ! grep -qxF "$SFY_DEST4" <<<"$OUT" &&
    ! log_new proxy-dns | grep -q 'query\['; then
    pass "udp-off-dig-permission-denied"
else
    fail "udp-off-dig-permission-denied" "$(why "expected dig to fail with 'permission denied' and the DNS server to see nothing")"
fi
# Direct destinations are not affected.
tok=off-direct-$TAG
run $T "${SFY[@]}" -x "$U4" --udp off -- "$PY" "$UDPP" echo "$SFY_LOCAL_UDP_ECHO" "$EP" "$tok"
check_out "udp-off-direct-destination-still-works" "$tok from $SFY_LOCAL_UDP_ECHO $EP"

# --- One socket, a direct and a proxied destination at once -----------------------------

tok=mixed-$TAG
run $T "${SFY[@]}" -x "$U4" -- "$PY" "$UDPP" mixed "$SFY_DEST4" "$EP" "$SFY_LOCAL_UDP_ECHO" "$EP" "$tok"
want="$tok-direct from $SFY_LOCAL_UDP_ECHO $EP"$'\n'"$tok-proxied from $SFY_DEST4 $EP"
local_src=$(log_new udpecho-local | awk -v t="$tok" 'index($4, t) {print $1}' | sort -u | tr '\n' ' ')
relayed=0
relayed_ok "$tok-proxied" && relayed=1
if ((RC == 0 && relayed)) && [[ $OUT == "$want" && $local_src == "$SFY_LOCAL_UDP_ECHO " ]]; then
    pass "direct-and-proxied-on-one-socket"
else
    fail "direct-and-proxied-on-one-socket" "$(why "expected both echoes; local echo saw from: ${local_src:-nothing}; remote from: ${SOURCES:-nothing}")"
fi

# --- Truncation: what the program would see without the shim -----------------------------

run $T "${IN_CLIENT[@]}" "$PY" "$UDPP" trunc "$SFY_LOCAL_UDP_ECHO" "$EP"
baseline=$OUT
want="recv=aaaaaaaaaa recvmsg=bbbbbbbbbb trunc=1 recv_trunc_len=100"
if [[ $baseline != "$want" ]]; then
    fail "truncation-like-without-shim" "$(why "the baseline without the launcher printed something else than '$want'")"
else
    run $T "${SFY[@]}" -x "$U4" -- "$PY" "$UDPP" trunc "$SFY_DEST4" "$EP"
    check_out "truncation-like-without-shim" "$baseline"
fi

# --- A dead control connection is noticed and the association re-opened ------------------

# The probe echoes once, signals READY, and after GO waits 1.5 s and echoes again on the
# same socket; meanwhile sockd is restarted (stopped by PID, started again).
tok=again-$TAG
rm -f "$DIR/ready" "$DIR/go"
mark_logs
timeout -k 2 40 "${SFY[@]}" -x "$U4" -- "$PY" "$UDPP" again "$SFY_DEST4" "$EP" "$tok" \
    "$DIR/ready" "$DIR/go" >"$DIR/again.out" 2>"$DIR/again.err" </dev/null &
again_pid=$!
for ((i = 0; i < 100; i++)); do
    [[ -e $DIR/ready ]] && break
    alive=$(kill -0 "$again_pid" 2>/dev/null && echo 1 || echo 0)
    ((alive)) || break
    sleep 0.1
done
restart_ok=0
restart_err="the probe never signalled READY"
if [[ -e $DIR/ready ]]; then
    old_pid=$(cat "$SFY_WORLD/run/danted.pid" 2>/dev/null || true)
    if restart_err=$("$SFY_ROOT/scripts/world.sh" restart danted 2>&1); then
        new_pid=$(cat "$SFY_WORLD/run/danted.pid" 2>/dev/null || true)
        if [[ -n $old_pid && -n $new_pid && $old_pid != "$new_pid" ]] && ! running "$old_pid"; then
            restart_ok=1
        else
            restart_err="sockd's PID did not change ($old_pid -> $new_pid)"
        fi
    fi
fi
touch "$DIR/go"
RC=0
wait "$again_pid" || RC=$?
OUT=$(<"$DIR/again.out")
ERR=$(<"$DIR/again.err")
want="$tok-1 from $SFY_DEST4 $EP"$'\n'"$tok-2 from $SFY_DEST4 $EP"
relayed=0
relayed_ok "$tok-2" && relayed=1
if ((restart_ok && RC == 0 && relayed)) && [[ $OUT == "$want" ]]; then
    pass "proxy-restart-association-reopened"
elif ((!restart_ok)); then
    fail "proxy-restart-association-reopened" "$(why "the restart of sockd did not happen: $(oneline "$restart_err")")"
else
    fail "proxy-restart-association-reopened" "$(why "expected both echoes, the second after the restart")"
fi

# --- Where the datagrams came from, over the whole script ----------------------------------

all=$(awk -v t="$TAG" 'index($4, t) {print $1}' "$SFY_LOG/udpecho.log" | sort -u | tr '\n' ' ')
bad=""
for src in $all; do
    [[ $PROXY_SIDE == *" $src "* ]] || bad+="$src "
done
if [[ -n $all && -z $bad ]]; then
    pass "echo-server-saw-only-proxy-side-sources"
else
    fail "echo-server-saw-only-proxy-side-sources" "sources: ${all:-none}; not proxy-side: ${bad:-none}"
fi

# --- A proxy that refuses UDP ASSOCIATE (microsocks: REP 7) -------------------------
run 20 "${IN_CLIENT[@]}" "$SOCKSIFY" -q -x "socks5://$SFY_PROXY4:$SFY_PORT_MICRO" -- "$PY" -c '
import errno, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(b"x", ("'"$SFY_DEST4"'", 7))
    print("sent")
except OSError as e:
    print(errno.errorcode[e.errno])
'
# EOPNOTSUPP and ENOTSUP are one value (95) on Linux; python names it ENOTSUP.
check_out udp-associate-refused-is-eopnotsupp ENOTSUP

TOKEN=$(token)
# A reader thread already blocked in recvfrom when the first datagram is sent (the
# association opens under it): it gets the payload and the true source, no header.
run $T "${SFY[@]}" -x "$U4" -- "$PY" -c '
import socket, sys, threading, time
dest = (sys.argv[1], int(sys.argv[2]))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 0))     # blocking: the reader sits in recvfrom itself, not in poll
got = []
def reader():
    data, src = s.recvfrom(200)
    got.append((data, src))
t = threading.Thread(target=reader, daemon=True)
t.start()
time.sleep(0.3)          # the reader is blocked before anything was sent
s.sendto(sys.argv[3].encode(), dest)
t.join(12)
data, src = got[0] if got else (b"", ("none", 0))
print(data.decode(errors="replace"), src[0], src[1])
' "$SFY_DEST4" "$SFY_PORT_UDP_ECHO" "early-$TOKEN"
check_out reader-blocked-before-first-send-gets-unwrapped "early-$TOKEN $SFY_DEST4 $SFY_PORT_UDP_ECHO"

finish
