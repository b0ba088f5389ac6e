#!/usr/bin/env bash
# Issue 16 benchmarks, side by side in one run, in the test world (SFY_WORLD_NAME,
# scripts/world.sh start; as root):
#  1. N connections at once from one event loop (Python asyncio, node net.connect)
#     through a slow SOCKS5 proxy (the hostile proxy answering CONNECT after DELAY ms,
#     relaying to the world's echo server): socksify against proxychains4, wall time
#     in ms and the ratio (target: >= 5x with N=10, DELAY=1000).
#  2. Connections per second of a single-threaded epoll client with INFLIGHT
#     connections in flight through Dante to the echo server: the client under
#     socksify (plain connect) against the same client speaking SOCKS5 itself without
#     the shim.
# Each figure is the median of BENCH_RUNS runs, the tools interleaved in every round.
# Knobs: BENCH_RUNS (5), BENCH_N (10), BENCH_DELAY_MS (1000), BENCH_TOTAL (2000),
# BENCH_INFLIGHT (50). Usage: scripts/bench-nonblock.sh
set -euo pipefail
BENCH_NAME=bench-nonblock
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
RUNS=${BENCH_RUNS:-5}
N=${BENCH_N:-10}
DELAY=${BENCH_DELAY_MS:-1000}
TOTAL=${BENCH_TOTAL:-2000}
INFLIGHT=${BENCH_INFLIGHT:-50}
C=(ip netns exec "$SFY_NS_CLIENT")
P=(ip netns exec "$SFY_NS_PROXY")
SOCKSIFY=$ROOT/build/bin/socksify
HP=$ROOT/build/tests/hostile_proxy
EB=$ROOT/build/tests/nb_epoll_bench
PROGRAMS=$ROOT/tests/programs
for b in "$SOCKSIFY" "$HP" "$EB"; do
    [[ -x $b ]] || { echo "bench-nonblock: $b missing (make all build/tests/hostile_proxy build/tests/nb_epoll_bench)" >&2; exit 1; }
done
bench_require_world
command -v proxychains4 >/dev/null || { echo "bench-nonblock: proxychains4 not installed" >&2; exit 1; }
HP_PORT=1086
DIR=$(mktemp -d)
HP_PID=""
cleanup() {
    if [[ -n $HP_PID ]]; then
        kill -TERM "$HP_PID" 2>/dev/null || true
        wait "$HP_PID" 2>/dev/null || true
    fi
    rm -rf "$DIR"
}
trap cleanup EXIT
: >"$DIR/hp.log"
"${P[@]}" "$HP" --listen "$SFY_PROXY4:$HP_PORT" "slow-reply-$DELAY+relay" 2>>"$DIR/hp.log" &
HP_PID=$!
for ((i = 0; i < 100; i++)); do
    grep -q 'listening on' "$DIR/hp.log" && break
    sleep 0.05
done
grep -q 'listening on' "$DIR/hp.log" || { echo "bench-nonblock: the slow proxy did not start: $(cat "$DIR/hp.log")" >&2; exit 1; }
cat >"$DIR/pc.conf" <<CONF
strict_chain
quiet_mode
tcp_read_time_out 60000
tcp_connect_time_out 8000
[ProxyList]
socks5 $SFY_PROXY4 $HP_PORT
CONF
SFY=("${C[@]}" "$SOCKSIFY" -q -x "socks5://$SFY_PROXY4:$HP_PORT" --timeout 60 --)
PC=("${C[@]}" proxychains4 -q -f "$DIR/pc.conf")
DANTE=(-x "socks5://$SFY_PROXY4:$SFY_PORT_DANTE")

# ms_of FILE-TAG COMMAND...: runs COMMAND, appends its "ms=" figure (or "fail") to DIR/TAG.
ms_of() {
    local tag=$1 out
    shift
    out=$("$@" 2>/dev/null || true)
    if [[ $out == *"ok=$N"* ]]; then
        sed -n 's/.*ms=\([0-9]*\).*/\1/p' <<<"$out" | tail -n 1 >>"$DIR/$tag"
    else
        echo "bench-nonblock: $tag run failed: $(tr '\n' ' ' <<<"$out")" >&2
    fi
}
cps_of() {
    local tag=$1 out
    shift
    out=$("$@" 2>/dev/null || true)
    if [[ $out == *"ok=$TOTAL failed=0"* ]]; then
        sed -n 's/.*conns_per_s=\([0-9.]*\).*/\1/p' <<<"$out" >>"$DIR/$tag"
    else
        echo "bench-nonblock: $tag run failed: $(tr '\n' ' ' <<<"$out")" >&2
    fi
}
HAVE_NODE=0
command -v node >/dev/null && HAVE_NODE=1
for f in py-sfy py-pc node-sfy node-pc ep-sfy ep-native; do : >"$DIR/$f"; done
for ((r = 0; r < RUNS; r++)); do
    ms_of py-sfy "${SFY[@]}" python3 "$PROGRAMS/nb_asyncio.py" "$SFY_DEST4" "$SFY_PORT_ECHO" "$N"
    ms_of py-pc "${PC[@]}" python3 "$PROGRAMS/nb_asyncio.py" "$SFY_DEST4" "$SFY_PORT_ECHO" "$N"
    if ((HAVE_NODE)); then
        ms_of node-sfy "${SFY[@]}" node "$PROGRAMS/nb_node.js" "$SFY_DEST4" "$SFY_PORT_ECHO" "$N"
        ms_of node-pc "${PC[@]}" node "$PROGRAMS/nb_node.js" "$SFY_DEST4" "$SFY_PORT_ECHO" "$N"
    fi
    cps_of ep-sfy "${C[@]}" "$SOCKSIFY" -q "${DANTE[@]}" -- "$EB" plain "$SFY_DEST4" "$SFY_PORT_ECHO" "$TOTAL" "$INFLIGHT"
    cps_of ep-native "${C[@]}" "$EB" socks "$SFY_PROXY4" "$SFY_PORT_DANTE" "$SFY_DEST4" "$SFY_PORT_ECHO" "$TOTAL" "$INFLIGHT"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "n/a" }'; }
m() { median <"$DIR/$1"; }
echo "1. $N connections at once through a proxy answering CONNECT after $DELAY ms (median ms of $RUNS runs):"
printf '   %-22s %10s %14s %18s\n' program socksify proxychains4 "proxychains4 / socksify"
printf '   %-22s %10s %14s %18s\n' "python asyncio" "$(m py-sfy)" "$(m py-pc)" "$(ratio "$(m py-pc)" "$(m py-sfy)")"
if ((HAVE_NODE)); then
    printf '   %-22s %10s %14s %18s\n' "node net.connect" "$(m node-sfy)" "$(m node-pc)" "$(ratio "$(m node-pc)" "$(m node-sfy)")"
fi
echo "2. single-threaded epoll client, $TOTAL connections, $INFLIGHT in flight, through Dante (median conns/s of $RUNS runs):"
printf '   %-36s %10s\n' "under socksify (plain connect)" "$(m ep-sfy)"
printf '   %-36s %10s\n' "speaking SOCKS5 itself, no shim" "$(m ep-native)"
printf '   %-36s %10s\n' "socksify / native" "$(ratio "$(m ep-sfy)" "$(m ep-native)")"
