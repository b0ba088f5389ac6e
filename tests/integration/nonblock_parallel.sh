#!/usr/bin/env bash
# Issue 16, event loops run their connections at once: N connections from one event
# loop — node http.get to the web server by name, Java NIO (SocketChannel + Selector),
# Python asyncio, node net.connect, curl --parallel, and the C poll loop through a
# chain — through the hostile proxy in "gather" mode, a slow SOCKS5 proxy that holds
# every CONNECT reply until all N CONNECTs have arrived (and then waits 500 ms more),
# relaying to the world's servers. Decided by structure, not by a clock: the proxy
# logs how many CONNECTs it had when it answered each one, and every answer must say
# "N of N" — a program frozen in one exchange at a time gets its first answer at
# "1 of N" (after the proxy's 10 s bound). N = 10 and 30: nothing grows with N.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher
require_names

T=40
TOKEN=$(token)
HP=$SFY_ROOT/build/tests/hostile_proxy
PROBE=$SFY_ROOT/build/tests/nb_probe
for b in "$HP" "$PROBE"; do
    if [[ ! -x $b ]]; then
        fail all "$b not built (make all)"
        exit 1
    fi
done
ensure_scratch
HP_PORT=1086 # free in the world
SLOW=socks5h://$SFY_PROXY4:$HP_PORT
MICRO=socks5h://$SFY_PROXY4:$SFY_PORT_MICRO
PLOG=$SFY_TMP/hostile.log
HP_PID=""

stop_hp() {
    [[ -n $HP_PID ]] || return 0
    kill -TERM "$HP_PID" 2>/dev/null || true
    wait "$HP_PID" 2>/dev/null || true
    HP_PID=""
}
trap 'stop_hp; rm -rf "$SFY_TMP"' EXIT

# start_hp N: a fresh proxy (its count starts at 0) gathering N CONNECTs.
start_hp() {
    local i
    stop_hp
    : >"$PLOG"
    "${IN_PROXY[@]}" "$HP" --listen "$SFY_PROXY4:$HP_PORT" "gather-$1+slow-reply-500+relay" 2>>"$PLOG" &
    HP_PID=$!
    for ((i = 0; i < 100; i++)); do
        grep -q 'listening on' "$PLOG" && return 0
        kill -0 "$HP_PID" 2>/dev/null || break
        sleep 0.05
    done
    return 1
}

# gathered NAME N WANT: the program printed WANT, and the proxy answered each of the N
# CONNECTs only once all N had arrived.
gathered() {
    local name=$1 n=$2 want=$3 i lines full
    # The proxy writes a connection's line when it closes: wait (bounded) for N of them.
    for ((i = 0; i < 50; i++)); do
        lines=$(grep -c 'CONNECT ' "$PLOG" || true)
        ((lines >= n)) && break
        sleep 0.1
    done
    full=$(grep -c "answered at $n of $n;" "$PLOG" || true)
    if ((RC == 0 && full == n)) && [[ $OUT == *"$want"* ]]; then
        pass "$name"
    else
        fail "$name" "$(why "want '$want' and $n of $n answers at $n of $n, got $full; proxy: $(grep -o 'answered at [0-9]* of [0-9]*' "$PLOG" | sort | uniq -c | tr '\n' ' ')")"
    fi
}

URL=http://$SFY_NAME_WEB/hello.txt
for n in 10 30; do
    if command -v node >/dev/null; then
        start_hp "$n" || { fail "node-http-get-x$n" "hostile proxy did not start"; continue; }
        run $T "${SFY[@]}" -x "$SLOW" -- node "$PROGRAMS/nb_http.js" "$URL" "$n" "$TOKEN"
        gathered "node-http-get-by-name-x$n" "$n" "ok=$n failed=0"
    else
        skip "node-http-get-x$n" "node not installed"
    fi
done

if command -v javac >/dev/null && run 120 javac -d "$SFY_TMP/java" "$PROGRAMS/NbSelect.java" && ((RC == 0)); then
    start_hp 10 || fail java-nio-x10 "hostile proxy did not start"
    run $T "${SFY[@]}" -x "$SLOW" -- java -cp "$SFY_TMP/java" NbSelect "$SFY_NAME_ECHO" "$SFY_PORT_ECHO" 10
    gathered java-nio-selector-by-name-x10 10 "immediate=0 ok=10 failed=0"
else
    skip java-nio-x10 "javac not installed or failed: $(oneline "$ERR")"
fi

start_hp 10 || fail asyncio-x10 "hostile proxy did not start"
run $T "${SFY[@]}" -x "$SLOW" -- "$PY" "$PROGRAMS/nb_asyncio.py" "$SFY_NAME_ECHO" "$SFY_PORT_ECHO" 10
gathered asyncio-by-name-x10 10 "ok=10"

if command -v node >/dev/null; then
    start_hp 10 || fail node-net-x10 "hostile proxy did not start"
    run $T "${SFY[@]}" -x "$SLOW" -- node "$PROGRAMS/nb_node.js" "$SFY_DEST4" "$SFY_PORT_ECHO" 10
    gathered node-net-connect-by-ip-x10 10 "ok=10"
fi

start_hp 10 || fail curl-parallel-x10 "hostile proxy did not start"
urls=()
for ((i = 0; i < 10; i++)); do urls+=("$URL"); done
run $T "${SFY[@]}" -x "$SLOW" -- curl -sS --parallel --parallel-immediate "${urls[@]}"
bodies=$(grep -o -F -- "$TOKEN" <<<"$OUT" | wc -l)
gathered curl-parallel-by-name-x10 10 "$TOKEN"
((bodies == 10)) || fail curl-parallel-bodies "$bodies of 10 bodies"

# Through a chain (microsocks, then the slow proxy): every hop advanced in the loop.
start_hp 10 || fail chain-x10 "hostile proxy did not start"
run $T "${SFY[@]}" --chain "$MICRO,$SLOW" -- "$PROBE" parallel "$SFY_DEST4" "$SFY_PORT_ECHO" 10
gathered chain-microsocks-slow-c-poll-x10 10 "ok=10"
stop_hp
finish
