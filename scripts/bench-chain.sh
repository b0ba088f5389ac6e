#!/usr/bin/env bash
# Connections per second through a two-hop chain (Dante > microsocks) to an echo server
# (build/bench/echosrv, started here in the proxy namespace and stopped by PID),
# socksify --chain against proxychains4 strict_chain with the same hops, taking turns in
# one run; each rate is the median of BENCH_RUNS (9) runs of build/bench/connrate's
# BENCH_CONNS (1000) connect/echo/close rounds, the ratio the median of per-run ratios. Needs a running world
# (SFY_WORLD_NAME, scripts/world.sh start). Usage (as root): scripts/bench-chain.sh
set -euo pipefail
BENCH_NAME=bench-chain
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
RUNS=${BENCH_RUNS:-9}
CONNS=${BENCH_CONNS:-1000}
C=(ip netns exec "$SFY_NS_CLIENT")
B=$ROOT/build/bench
ECHO_PORT=9007  # build/bench/echosrv: the world's socat echo forks per connection and
                # held both tools at the same ~180 connections/s
make -s all "$B/connrate" "$B/echosrv"
DIR=$(mktemp -d)
ECHO_PID=
cleanup() {
    [[ -n $ECHO_PID ]] && kill "$ECHO_PID" 2>/dev/null
    rm -rf "$DIR"
}
trap cleanup EXIT
ip netns exec "$SFY_NS_PROXY" "$B/echosrv" "$SFY_DEST4" "$ECHO_PORT" >/dev/null 2>&1 &
ECHO_PID=$!
for ((i = 0; i < 50; i++)); do
    ip netns exec "$SFY_NS_PROXY" bash -c ">/dev/tcp/$SFY_DEST4/$ECHO_PORT" 2>/dev/null && break
    sleep 0.1
done
cat >"$DIR/pc.conf" <<CONF
strict_chain
quiet_mode
tcp_read_time_out 15000
tcp_connect_time_out 8000
[ProxyList]
socks5 $SFY_PROXY4 $SFY_PORT_DANTE
socks5 $SFY_PROXY4 $SFY_PORT_MICRO
CONF
CHAIN=socks5://$SFY_PROXY4:$SFY_PORT_DANTE,socks5://$SFY_PROXY4:$SFY_PORT_MICRO
rate() { awk '/conns\/s/ {print $1}'; }
: >"$DIR/sfy"
: >"$DIR/pc"
: >"$DIR/ratio"
# The two take turns, the first one alternating; each run's ratio is socksify's rate
# over proxychains4's a few seconds apart.
for ((r = 0; r < RUNS; r++)); do
    for tool in $( ((r % 2)) && echo pc sfy || echo sfy pc); do
        if [[ $tool == sfy ]]; then
            "${C[@]}" "$ROOT/build/bin/socksify" -q --chain "$CHAIN" \
                "$B/connrate" "$SFY_DEST4" "$ECHO_PORT" "$CONNS" | rate >"$DIR/one"
        else
            "${C[@]}" proxychains4 -q -f "$DIR/pc.conf" \
                "$B/connrate" "$SFY_DEST4" "$ECHO_PORT" "$CONNS" | rate >"$DIR/one"
        fi
        [[ -s $DIR/one ]] || bench_die "$tool: no rate"
        cat "$DIR/one" >>"$DIR/$tool"
    done
    paste <(tail -n 1 "$DIR/sfy") <(tail -n 1 "$DIR/pc") | awk '{printf "%.3f\n", $1 / $2}' >>"$DIR/ratio"
done
echo "two-hop chain (Dante > microsocks) to build/bench/echosrv, $CONNS connections x $RUNS runs:"
echo "  socksify --chain      $(median <"$DIR/sfy") conns/s (median)"
echo "  proxychains4 strict   $(median <"$DIR/pc") conns/s (median)"
echo "  socksify / proxychains4, median of per-run ratios: $(median <"$DIR/ratio")" \
    "(range $(sort -g "$DIR/ratio" | head -n 1)-$(sort -g "$DIR/ratio" | tail -n 1))"
