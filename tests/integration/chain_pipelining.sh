#!/usr/bin/env bash
# Issue 17, every hop pipelined where it allows: a SOCKS5 hop after the first gets
# greeting and CONNECT in one write once the launcher knows it keeps early bytes
# (learned as the first proxy's verdict is: from the per-user cache, or probed on a
# connection of the launcher's own through the hops before it). The second hop is the
# hostile proxy on the proxy side, behind Dante; its --record shows the bytes of each
# read. A server that drops early bytes (lossy) is found out and gets one message per
# round trip; --no-pipeline turns it all off. One line per case.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher

T=30
HP=$SFY_ROOT/build/tests/hostile_proxy
EP=$PROGRAMS/errno_probe.py
DANTE=socks5h://$SFY_PROXY4:$SFY_PORT_DANTE
HPORT=1096
HOP2=$SFY_PROXY4:$HPORT
ensure_scratch
if [[ ! -x $HP ]]; then
    fail all "$HP not built (make build/tests/hostile_proxy)"
    finish
fi

HPID=""
stop_hostile() {
    [[ -n $HPID ]] || return 0
    kill "$HPID" 2>/dev/null || true
    wait "$HPID" 2>/dev/null || true
    HPID=""
}
trap 'stop_hostile; rm -rf "$SFY_TMP"' EXIT

# hop2 SCRIPT CACHE [LAUNCHER OPTIONS...]: one connection through Dante and the hostile
# proxy playing SCRIPT, the pipelining cache in directory CACHE. Sets FIRST_READ (the
# hex of the first read of the program's connection at the hostile proxy).
hop2() {
    local script=$1 cache=$2 i conn
    shift 2
    : >"$SFY_TMP/rec"
    : >"$SFY_TMP/hp.log"
    "${IN_PROXY[@]}" "$HP" --listen "$HOP2" --record "$SFY_TMP/rec" "$script" 2>"$SFY_TMP/hp.log" &
    HPID=$!
    for ((i = 0; i < 50; i++)); do
        grep -q listening "$SFY_TMP/hp.log" && break
        sleep 0.1
    done
    run $T "${IN_CLIENT[@]}" env XDG_CACHE_HOME="$cache" "$SOCKSIFY" -v \
        --chain "$DANTE,socks5h://$HOP2" "$@" -- "$PY" "$EP" tcp "$SFY_DEST4" "$SFY_PORT_ECHO" echo "pl-$script"
    stop_hostile
    # The program's connection: the one whose CONNECT names the destination.
    conn=$(sed -n "s/.*conn \([0-9]*\) from .*CONNECT $SFY_DEST4:$SFY_PORT_ECHO.*/\1/p" "$SFY_TMP/hp.log" | head -n 1)
    FIRST_READ=$(awk -v c="$conn" '$1 == "tcp" && $2 == c {print $3; exit}' "$SFY_TMP/rec")
}

# Greeting (no auth) and CONNECT 203.0.113.10:7.
GREETING=050100
REQUEST=05010001cb00710a0007
for script in ok lossy; do
    cache=$SFY_TMP/xdg-$script
    mkdir -m 0700 "$cache"
    hop2 "$script" "$cache"
    if [[ $OUT == *"result=ok "*"echo=pl-$script "* && $ERR == *"pipelining with $HOP2 (hop 2): "*"(probed)"* ]]; then
        pass "hop2-$script-probed-through-hop1"
    else
        fail "hop2-$script-probed-through-hop1" "$(why "expected the echo and a probe of hop 2")"
    fi
    want=safe
    [[ $script == lossy ]] && want=unsafe
    if grep -q "^$HOP2 $want " "$cache/socksify/pipelining" 2>/dev/null; then
        pass "hop2-$script-remembered-$want"
    else
        fail "hop2-$script-remembered-$want" "cache: $(oneline "$(cat "$cache/socksify/pipelining" 2>&1)")"
    fi
    # The next run knows: the safe hop's exchange comes in one read, the lossy one's
    # greeting alone first (and the connection works either way).
    hop2 "$script" "$cache"
    first=$GREETING$REQUEST
    [[ $script == lossy ]] && first=$GREETING
    if [[ $OUT == *"result=ok "*"echo=pl-$script "* && $FIRST_READ == "$first" ]]; then
        pass "hop2-$script-known-$want"
    else
        fail "hop2-$script-known-$want" "$(why "first read at hop 2 '$FIRST_READ', want '$first'")"
    fi
done
hop2 ok "$SFY_TMP/xdg-ok" --no-pipeline
if [[ $OUT == *"result=ok "* && $FIRST_READ == "$GREETING" ]]; then
    pass hop2-no-pipeline-stepwise
else
    fail hop2-no-pipeline-stepwise "$(why "first read at hop 2 '$FIRST_READ', want '$GREETING'")"
fi

finish
