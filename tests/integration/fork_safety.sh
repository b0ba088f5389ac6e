#!/usr/bin/env bash
# Issue 11, class 7: fork() while another thread is inside the library — its start-up,
# or a UDP ASSOCIATE (one the proxy never answers; a storm of them through Dante) —
# gives a child that works: every child of the storm finishes within the bound, and
# does its lookups, connections and datagrams. Before the fix such a child spun forever
# on a lock or start-up state whose owner thread does not exist in it.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher
ensure_scratch
PROBE=$SFY_ROOT/build/tests/fork_safety
HP=$SFY_ROOT/build/tests/hostile_proxy
for f in "$PROBE" "$HP"; do
    if [[ ! -x $f ]]; then
        fail all "$f not built (make $f)"
        finish
    fi
done
DANTE=socks5h://$SFY_PROXY4:$SFY_PORT_DANTE

# expect NAME OK: the last run exited 0 with no child stuck, and OK children (a count,
# or "any") did their network calls without error.
expect() {
    local name=$1 want=$2
    if ((RC == 0)) && [[ $OUT =~ children=([0-9]+)\ finished=([0-9]+)\ ok=([0-9]+)\ stuck=0 ]] &&
        [[ $want == any || ${BASH_REMATCH[3]} == "$want" ]]; then
        pass "$name"
    else
        fail "$name" "$(why "expected every child finished, ok=$want")"
    fi
}

# Start-up: the audit log is a FIFO, so the first thread's start-up blocks opening it
# while 16 children are forked; the program sets it and runs itself again (env), so
# the library of that image takes it at load.
FIFO=$SFY_TMP/audit.fifo
mkfifo "$FIFO"
run 60 "${SFY[@]}" -q -x "$DANTE" -- env SOCKSIFY_AUDIT="$FIFO" \
    "$PROBE" startup "$FIFO" "$SFY_NAME_ECHO" "$SFY_PORT_ECHO" 16
expect fork-during-start-up 16

# A UDP association the proxy never answers: 16 children send on the socket whose
# association another thread is opening (each waits for its own, up to --timeout).
HP_PORT=1085
HP_PID=""
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    if [[ -n $HP_PID ]]; then
        kill -TERM "$HP_PID" 2>/dev/null || true
        wait "$HP_PID" 2>/dev/null || true
    fi
    rm -rf "$SFY_TMP"
}
trap cleanup EXIT
# Started as the namespace's own process (not through a shell function, whose subshell
# a kill would leave the proxy behind), with no hold on this script's output.
"${IN_CLIENT[@]}" "$HP" --listen "127.0.0.1:$HP_PORT" stall >/dev/null 2>"$SFY_TMP/hp.log" &
HP_PID=$!
for ((i = 0; i < 100; i++)); do
    grep -q 'listening on' "$SFY_TMP/hp.log" && break
    sleep 0.05
done
run 60 "${SFY[@]}" -q --timeout 2 -x "socks5h://127.0.0.1:$HP_PORT" -- \
    "$PROBE" udp-held "$SFY_DEST4" "$SFY_PORT_UDP_ECHO" 16
expect fork-during-held-udp-associate any

# A storm through Dante: four threads open association after association while 100
# children are forked; each child sends on every socket the threads had open.
run 120 "${SFY[@]}" -q -x "$DANTE" -- "$PROBE" udp-storm "$SFY_DEST4" "$SFY_PORT_UDP_ECHO" 100
expect fork-storm-during-udp-associate 100
finish
