#!/usr/bin/env bash
# Issue 17, UDP through chains and routes, with the world's real servers: Dante (the
# one SOCKS5 server here with a datagram relay), microsocks, tinyproxy, and the
# hostile proxy as a last hop that names a relay this host cannot reach. Through a
# chain the control connection crosses the hops and the datagrams go straight to the
# last hop's relay; where that cannot work (the last hop speaks no SOCKS5, or its relay
# is out of reach) the send fails with EACCES and one line, and nothing leaves. A
# route's upstream carries the datagrams to the destinations it matches. The echo
# server logs each datagram's source: always the proxy side, never the client.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher
require_names

T=20
TOKEN=u$RANDOM$RANDOM  # short: the echo server logs 40 bytes of each payload
EP=$PROGRAMS/errno_probe.py
UDPP=$PROGRAMS/udp_probe.py
HP=$SFY_ROOT/build/tests/hostile_proxy
EPORT=$SFY_PORT_UDP_ECHO
DANTE=socks5h://$SFY_PROXY4:$SFY_PORT_DANTE
DANTE6=socks5h://[$SFY_PROXY6]:$SFY_PORT_DANTE
MICRO=socks5h://$SFY_PROXY4:$SFY_PORT_MICRO
DOWN=socks5h://$SFY_PROXY4:$SFY_PORT_DOWN
TINY=http://$SFY_PROXY4:$SFY_PORT_TINYPROXY
HPORT=1097  # the hostile proxy, on the proxy side
PROXY_SIDE=" $SFY_DEST4 $SFY_DEST6 $SFY_PROXY4 $SFY_PROXY6 "
ensure_scratch

# echo_saw TOKEN: the sources the UDP echo server logged for TOKEN in the last run.
echo_saw() {
    local i got=""
    for ((i = 0; i < 10; i++)); do
        got=$(log_new udpecho | awk -v t="$1" 'index($4, t) {print $1}' | sort -u | tr '\n' ' ')
        [[ -n $got ]] && break
        sleep 0.1
    done
    printf '%s' "$got"
}
# relayed NAME EXPECTED TOKEN: output holds EXPECTED and the echo server saw TOKEN, from
# the proxy side only.
relayed() {
    local src bad="" saw
    saw=$(echo_saw "$3")
    for src in $saw; do [[ $PROXY_SIDE == *" $src "* ]] || bad+="$src "; done
    if ((RC == 0)) && [[ $OUT == *"$2"* && -n $saw && -z $bad ]]; then
        pass "$1"
    else
        fail "$1" "$(why "expected '$2', the echo server to see $3 from the proxy side (saw from: ${saw:-nothing})")"
    fi
}
# refused NAME ERRNO LINE TOKEN: both sends failed with ERRNO, stderr holds LINE, and
# the echo server saw nothing of TOKEN.
refused() {
    local saw
    sleep 0.3
    saw=$(log_new udpecho | grep -cF "$4" || true)
    if [[ $OUT == *"send1=$2 "*"send2=$2 "* && $ERR == *"$3"* ]] && ((saw == 0)); then
        pass "$1"
    else
        fail "$1" "$(why "expected send1=$2 send2=$2, a line with '$3', nothing at the echo (saw $saw)")"
    fi
}

# --- Chains ---------------------------------------------------------------------------

AUDIT=$SFY_TMP/audit.json
# audited NAME PROXY: the last run's audit log has a "udp" record carried by PROXY.
audited() {
    if grep '"kind":"udp"' "$AUDIT" 2>/dev/null | grep -qF "\"proxy\":\"$2\""; then
        pass "$1"
    else
        fail "$1" "audit log: $(oneline "$(cat "$AUDIT" 2>&1)")"
    fi
    rm -f "$AUDIT"
}

tok=chain-micro-dante-$TOKEN
run $T "${SFY[@]}" -v --audit "$AUDIT" --chain "$MICRO,$DANTE" -- "$PY" "$UDPP" echo "$SFY_DEST4" "$EPORT" "$tok"
relayed chain-microsocks-dante-echo "$tok from $SFY_DEST4 $EPORT" "$tok"
audited chain-audit-names-the-hops "$SFY_PROXY4:$SFY_PORT_MICRO > $SFY_PROXY4:$SFY_PORT_DANTE"
if [[ $ERR == *"UDP associate fd "*" via $SFY_PROXY4:$SFY_PORT_MICRO > $SFY_PROXY4:$SFY_PORT_DANTE: ok, relay $SFY_PROXY4:"* ]]; then
    pass chain-association-line-names-hops-and-relay
else
    fail chain-association-line-names-hops-and-relay "$(why)"
fi
tok=chain-tiny-dante-$TOKEN
run $T "${SFY[@]}" --chain "$TINY,$DANTE" -- "$PY" "$UDPP" cecho "$SFY_DEST4" "$EPORT" "$tok"
relayed chain-tinyproxy-dante-connected-echo "$tok peer $SFY_DEST4 $EPORT" "$tok"
# Three hops, the destination by name (the datagrams carry it: no lookup here).
tok=chain3-name-$TOKEN
run $T "${SFY[@]}" --chain "$TINY,$MICRO,$DANTE" -- "$PY" "$UDPP" echo "$SFY_NAME_ECHO" "$EPORT" "$tok"
leaks=$(dns_leaks)
if [[ -z $leaks ]]; then relayed chain-three-hops-by-name "$tok from " "$tok"
else fail chain-three-hops-by-name "$(why "DNS leaked: $leaks")"; fi
run $T "${SFY[@]}" --chain "$MICRO,$DANTE" -- dig +short +time=3 +tries=1 "@$SFY_DEST4" "$SFY_NAME_WEB"
check_out chain-dig "$SFY_DEST4"
# Dynamic: a dead first hop, and a dead last hop (the one before it becomes the last).
tok=dyn-first-$TOKEN
run $T "${SFY[@]}" --chain "$DOWN,$MICRO,$DANTE" --chain-mode dynamic -- "$PY" "$UDPP" echo "$SFY_DEST4" "$EPORT" "$tok"
relayed chain-dynamic-first-hop-down "$tok from $SFY_DEST4 $EPORT" "$tok"
tok=dyn-last-$TOKEN
run $T "${SFY[@]}" --chain "$MICRO,$DANTE,$DOWN" --chain-mode dynamic -- "$PY" "$UDPP" echo "$SFY_DEST4" "$EPORT" "$tok"
relayed chain-dynamic-last-hop-down "$tok from $SFY_DEST4 $EPORT" "$tok"
# Strict: a dead last hop fails the association with its errno.
run $T "${SFY[@]}" --chain "$MICRO,$DOWN" -- "$PY" "$EP" udp "$SFY_DEST4" "$EPORT" "strict-$TOKEN"
refused chain-strict-last-hop-down ECONNREFUSED "UDP associate fd" "strict-$TOKEN"

# Where it cannot work: EACCES and one line naming why, nothing sent anywhere.
run $T "${SFY[@]}" --chain "$DANTE,$TINY" -- "$PY" "$EP" udp "$SFY_DEST4" "$EPORT" "http-last-$TOKEN"
refused chain-last-hop-http-eacces EACCES "the chain's last hop $SFY_PROXY4:$SFY_PORT_TINYPROXY speaks http, not socks5" "http-last-$TOKEN"
if [[ $(grep -c '^socksify\[' <<<"$ERR") == 2 ]]; then pass chain-refusal-one-line-per-send
else fail chain-refusal-one-line-per-send "$(why)"; fi
# microsocks has no relay: its own refusal (REP 7) is the answer.
run $T "${SFY[@]}" --chain "$DANTE,$MICRO" -- "$PY" "$EP" udp "$SFY_DEST4" "$EPORT" "micro-last-$TOKEN"
refused chain-last-hop-without-relay-eopnotsupp EOPNOTSUPP "Operation not supported" "micro-last-$TOKEN"

# A last hop whose relay this host cannot reach (TEST-NET-3, no route from the client
# side) or that names its own loopback: refused, and its relay receives nothing.
HPID=""
stop_hostile() {
    [[ -n $HPID ]] || return 0
    kill "$HPID" 2>/dev/null || true
    wait "$HPID" 2>/dev/null || true
    HPID=""
}
trap 'stop_hostile; rm -rf "$SFY_TMP"' EXIT
for script in bnd-far bnd-loopback; do
    if [[ ! -x $HP ]]; then
        fail "chain-relay-$script-eacces" "$HP not built (make build/tests/hostile_proxy)"
        continue
    fi
    : >"$SFY_TMP/rec"
    : >"$SFY_TMP/hp.log"
    "${IN_PROXY[@]}" "$HP" --listen "$SFY_PROXY4:$HPORT" --record "$SFY_TMP/rec" "$script" 2>"$SFY_TMP/hp.log" &
    HPID=$!
    for ((i = 0; i < 50; i++)); do
        grep -q listening "$SFY_TMP/hp.log" && break
        sleep 0.1
    done
    run $T "${SFY[@]}" --chain "$MICRO,socks5h://$SFY_PROXY4:$HPORT" -- "$PY" "$EP" udp "$SFY_DEST4" "$EPORT" "$script-$TOKEN"
    stop_hostile
    refused "chain-relay-$script-eacces" EACCES "cannot be reached from here" "$script-$TOKEN"
    if grep -q '^udp ' "$SFY_TMP/rec"; then
        fail "chain-relay-$script-nothing-sent" "the relay received: $(oneline "$(grep '^udp ' "$SFY_TMP/rec")")"
    elif ! grep -q "UDP ASSOCIATE" "$SFY_TMP/hp.log"; then
        fail "chain-relay-$script-nothing-sent" "the hostile proxy saw no UDP ASSOCIATE: $(oneline "$(cat "$SFY_TMP/hp.log")")"
    else
        pass "chain-relay-$script-nothing-sent"
    fi
done

# --- Routes ---------------------------------------------------------------------------

# The default proxy (microsocks) has no relay; the route to Dante carries DEST4.
tok=route-$TOKEN
run $T "${SFY[@]}" -v --audit "$AUDIT" -x "$MICRO" --route "$SFY_DEST4/32=$DANTE" -- "$PY" "$UDPP" echo "$SFY_DEST4" "$EPORT" "$tok"
relayed route-socks5-associates-with-its-upstream "$tok from $SFY_DEST4 $EPORT" "$tok"
audited route-audit-names-the-upstream "$SFY_PROXY4:$SFY_PORT_DANTE (route)"
if [[ $ERR == *"via $SFY_PROXY4:$SFY_PORT_DANTE (route): ok"* ]]; then pass route-association-line-names-route
else fail route-association-line-names-route "$(why)"; fi
run $T "${SFY[@]}" -x "$MICRO" --route "$SFY_DEST4/32=$DANTE" -- "$PY" "$EP" udp "$SFY_DEST6" "$EPORT" "unrouted-$TOKEN"
refused route-unmatched-uses-default-proxy EOPNOTSUPP "via $SFY_PROXY4:$SFY_PORT_MICRO:" "unrouted-$TOKEN"
tok=route-name-$TOKEN
run $T "${SFY[@]}" -x "$MICRO" --route "$SFY_NAME_ECHO=$DANTE" -- "$PY" "$UDPP" echo "$SFY_NAME_ECHO" "$EPORT" "$tok"
leaks=$(dns_leaks)
if [[ -z $leaks ]]; then relayed route-by-name "$tok from " "$tok"
else fail route-by-name "$(why "DNS leaked: $leaks")"; fi
run $T "${SFY[@]}" -x "$DANTE" --route "$SFY_DEST4/32=$TINY" -- "$PY" "$EP" udp "$SFY_DEST4" "$EPORT" "rhttp-$TOKEN"
refused route-http-eacces EACCES "UDP refused: the upstream $SFY_PROXY4:$SFY_PORT_TINYPROXY (route) of $SFY_DEST4:$EPORT speaks http, not socks5" "rhttp-$TOKEN"
run $T "${SFY[@]}" -x "$DANTE" --route "$SFY_DEST4/32=socks4://$SFY_PROXY4:$SFY_PORT_DANTE" -- "$PY" "$EP" udp "$SFY_DEST4" "$EPORT" "rs4-$TOKEN"
refused route-socks4-eacces EACCES "speaks socks4, not socks5" "rs4-$TOKEN"
# direct: the client's own loopback echo, which only a direct datagram reaches (the
# direct list is emptied, so without the route loopback goes to the proxy).
tok=rdirect-$TOKEN
run $T "${SFY[@]}" -x "$DANTE" --direct '' -- "$PY" "$EP" udp "$SFY_LOCAL_UDP_ECHO" "$EPORT" "$tok-ctl"
ctl=$OUT
run $T "${SFY[@]}" -x "$DANTE" --direct '' --route "127.0.0.0/8=direct" -- "$PY" "$EP" udp "$SFY_LOCAL_UDP_ECHO" "$EPORT" "$tok"
if [[ $ctl == *"recv1=timeout"* && $OUT == *"recv1=$tok-1@$SFY_LOCAL_UDP_ECHO:$EPORT"* ]] &&
    log_new udpecho-local | grep -qF "$tok"; then
    pass route-direct-goes-direct
else
    fail route-direct-goes-direct "$(why "without the route: $ctl")"
fi
# One socket, one upstream: a send to a destination routed elsewhere is refused (the
# association's replies would be lost); a connect to one re-opens the association.
run $T "${SFY[@]}" -x "$DANTE6" --route "$SFY_DEST4/32=$DANTE" -- "$PY" -c "
import errno, socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(b'one-$TOKEN', ('::ffff:$SFY_DEST4', $EPORT)); print('routed', s.recvfrom(100)[0].decode())
try:
    s.sendto(b'two-$TOKEN', ('$SFY_DEST6', $EPORT)); print('default sent')
except OSError as e:
    print('default', errno.errorcode[e.errno])
s.connect(('$SFY_DEST6', $EPORT)); s.send(b'three-$TOKEN'); print('connected', s.recv(100).decode())
"
want="routed one-$TOKEN"$'\n'"default EACCES"$'\n'"connected three-$TOKEN"
sleep 0.3
if [[ $OUT == "$want" && $ERR == *"associated through another upstream"* ]] &&
    ! log_new udpecho | grep -qF "two-$TOKEN"; then
    pass route-one-upstream-per-socket
else
    fail route-one-upstream-per-socket "$(why "expected: $(oneline "$want")")"
fi

finish
