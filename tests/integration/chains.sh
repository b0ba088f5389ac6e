#!/usr/bin/env bash
# Issue 17, chains: each hop reached through the one before, with real servers —
# Dante, microsocks, squid (Basic auth), tinyproxy — in the modes proxychains users
# know: strict, dynamic (dead hop skipped), random and round-robin (spread counted in
# the HTTP proxies' own logs). One line per case.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher
require_names

T=30
TOKEN=$(token)
EP=$PROGRAMS/errno_probe.py
URL=http://$SFY_NAME_WEB/hello.txt
DANTE=socks5h://$SFY_PROXY4:$SFY_PORT_DANTE
MICRO=socks5h://$SFY_PROXY4:$SFY_PORT_MICRO
DOWN=socks5h://$SFY_PROXY4:$SFY_PORT_DOWN
SQUID=http://$SFY_USER:$SFY_PASS@$SFY_PROXY4:$SFY_PORT_SQUID
TINY=http://$SFY_PROXY4:$SFY_PORT_TINYPROXY

if [[ ! -f $SFY_WORLD/run/squid.pid || ! -f $SFY_WORLD/run/tinyproxy.pid ]]; then
    skip all "squid or tinyproxy not in the world (scripts/install-deps.sh, then world.sh start)"
    finish
fi

count() { grep -c "$2" "$SFY_LOG/$1" 2>/dev/null || true; }

# Three hops, the destination by name: squid sees the CONNECT for the name coming from
# the proxy side (microsocks), not from the client.
ensure_scratch
TUNNEL=" $SFY_PROXY4 TCP_TUNNEL/200 .*CONNECT $SFY_NAME_WEB:80 $SFY_USER "
before=$(count squid-access.log "$TUNNEL")
run $T "${SFY[@]}" -x "$DANTE" -x "$MICRO" -x "$SQUID" --audit "$SFY_TMP/audit.json" -v curl -sS -m 20 "$URL"
sleep 0.3
after=$(count squid-access.log "$TUNNEL")
if ((after > before)) && [[ $ERR == *"via $SFY_PROXY4:$SFY_PORT_DANTE > $SFY_PROXY4:$SFY_PORT_MICRO > $SFY_PROXY4:$SFY_PORT_SQUID"* ]]; then
    check_out_noleak chain-dante-microsocks-squid-curl-by-name "$TOKEN"
else
    fail chain-dante-microsocks-squid-curl-by-name "$(why "squid saw no tunnel from the proxy side ($before/$after) or -v did not name the hops")"
fi
if grep -qF "\"proxy\":\"$SFY_PROXY4:$SFY_PORT_DANTE > $SFY_PROXY4:$SFY_PORT_MICRO > $SFY_PROXY4:$SFY_PORT_SQUID\"" "$SFY_TMP/audit.json"; then
    pass chain-audit-names-the-hops
else
    fail chain-audit-names-the-hops "$(oneline "$(cat "$SFY_TMP/audit.json")")"
fi
run $T "${SFY[@]}" --chain "$DANTE,$MICRO,$SQUID" "$PY" -c "
import socket
s = socket.create_connection(('$SFY_NAME_ECHO', $SFY_PORT_ECHO), timeout=10)
s.sendall(b'$TOKEN'); print(s.recv(100).decode())"
check_out_noleak chain-option-python-echo-by-name "$TOKEN"

# Strict: a dead first hop fails the connect with its errno and names it.
run $T "${SFY[@]}" --chain "$DOWN,$MICRO" "$PY" "$EP" tcp "$SFY_NAME_WEB" 80
if [[ $OUT == *"result=ECONNREFUSED "* && $ERR == *"$SFY_PROXY4:$SFY_PORT_DOWN (socks5) does not answer"* ]]; then
    pass chain-strict-first-hop-down-econnrefused
else
    fail chain-strict-first-hop-down-econnrefused "$(why "expected ECONNREFUSED naming the dead hop")"
fi
# Dynamic: the dead hop is skipped.
run $T "${SFY[@]}" --chain "$DOWN,$MICRO,$TINY" --chain-mode dynamic curl -sS -m 20 "$URL"
check_out_noleak chain-dynamic-first-hop-down-skipped "$TOKEN"
run $T "${SFY[@]}" --chain "$DOWN,socks5h://$SFY_PROXY4:1098" --chain-mode dynamic "$PY" "$EP" tcp "$SFY_NAME_WEB" 80
if [[ $OUT == *"result=ECONNREFUSED "* ]]; then pass chain-dynamic-all-down-econnrefused
else fail chain-dynamic-all-down-econnrefused "$(why "expected ECONNREFUSED")"; fi
# A later hop's refusal is that hop's errno: squid without credentials, as hop 2.
run $T "${SFY[@]}" --chain "$DANTE,http://$SFY_PROXY4:$SFY_PORT_SQUID" "$PY" "$EP" tcp "$SFY_NAME_WEB" 80
if [[ $OUT == *"result=EACCES "* && $ERR == *"answered 407"* ]]; then pass chain-hop2-407-eacces
else fail chain-hop2-407-eacces "$(why "expected EACCES and the 407 line")"; fi
# UDP needs a SOCKS5 relay at the end of the chain: refused, never direct
# (udp_upstreams.sh has the chains where it works).
run $T "${SFY[@]}" --chain "$DANTE,$TINY" "$PY" "$EP" udp "$SFY_DEST4" "$SFY_PORT_UDP_ECHO" "$TOKEN"
if [[ $OUT == *"send1=EACCES"* && $ERR == *"speaks http, not socks5"* ]] &&
    ! log_new udpecho | grep -qF "$TOKEN"; then
    pass chain-udp-refused-eacces
else
    fail chain-udp-refused-eacces "$(why "expected send1=EACCES and nothing at the echo")"
fi

# Spread: N connections of one program over {tinyproxy, squid}, one hop each,
# counted in each proxy's own log.
N=20
spread() {
    local mode=$1
    T0=$(count tinyproxy.log "CONNECT $SFY_NAME_ECHO:$SFY_PORT_ECHO")
    S0=$(count squid-access.log "CONNECT $SFY_NAME_ECHO:$SFY_PORT_ECHO")
    run 60 "${SFY[@]}" --chain "$TINY,$SQUID" --chain-mode "$mode" --chain-len 1 "$PY" -c "
import socket
ok = 0
for i in range($N):
    s = socket.create_connection(('$SFY_NAME_ECHO', $SFY_PORT_ECHO), timeout=10)
    s.sendall(b'x'); ok += s.recv(1) == b'x'; s.close()
print('ok', ok)"
    sleep 0.5
    TN=$(($(count tinyproxy.log "CONNECT $SFY_NAME_ECHO:$SFY_PORT_ECHO") - T0))
    SN=$(($(count squid-access.log "CONNECT $SFY_NAME_ECHO:$SFY_PORT_ECHO") - S0))
}
spread round-robin
if [[ $OUT == "ok $N" ]] && ((TN == N / 2 && SN == N / 2)); then pass chain-round-robin-spreads-evenly
else fail chain-round-robin-spreads-evenly "$(why "tinyproxy $TN, squid $SN of $N")"; fi
spread random
# Both see some (all 20 on one side: probability 2^-19), and every connection is counted.
if [[ $OUT == "ok $N" ]] && ((TN > 0 && SN > 0 && TN + SN == N)); then pass chain-random-spreads
else fail chain-random-spreads "$(why "tinyproxy $TN, squid $SN of $N")"; fi

finish
