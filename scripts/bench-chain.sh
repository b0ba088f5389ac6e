#!/usr/bin/env bash
# Connections per second through a two-hop chain (Dante > microsocks) to the world's
# echo server, socksify --chain against proxychains4 strict_chain with the same hops,
# interleaved in one run; each figure is the median of BENCH_RUNS runs of BENCH_CONNS
# connect/echo/close rounds in one python process. Needs a running world
# (SFY_WORLD_NAME, scripts/world.sh start). Usage (as root): scripts/bench-chain.sh
set -euo pipefail
BENCH_NAME=bench-chain
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
RUNS=${BENCH_RUNS:-5}
CONNS=${BENCH_CONNS:-500}
C=(ip netns exec "$SFY_NS_CLIENT")
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
cat >"$DIR/pc.conf" <<CONF
strict_chain
quiet_mode
tcp_read_time_out 15000
tcp_connect_time_out 8000
[ProxyList]
socks5 $SFY_PROXY4 $SFY_PORT_DANTE
socks5 $SFY_PROXY4 $SFY_PORT_MICRO
CONF
LOOP="
import socket, time
t = time.monotonic()
for i in range($CONNS):
    s = socket.create_connection(('$SFY_DEST4', $SFY_PORT_ECHO), timeout=10)
    s.sendall(b'x'); assert s.recv(1) == b'x'; s.close()
print('%.1f' % ($CONNS / (time.monotonic() - t)))"
: >"$DIR/sfy"
: >"$DIR/pc"
for ((r = 0; r < RUNS; r++)); do
    "${C[@]}" "$ROOT/build/bin/socksify" -q --chain "socks5://$SFY_PROXY4:$SFY_PORT_DANTE,socks5://$SFY_PROXY4:$SFY_PORT_MICRO" \
        python3 -c "$LOOP" >>"$DIR/sfy"
    "${C[@]}" proxychains4 -q -f "$DIR/pc.conf" python3 -c "$LOOP" >>"$DIR/pc"
done
echo "two-hop chain, $CONNS connections x $RUNS runs (median conns/s):"
echo "  socksify --chain      $(median <"$DIR/sfy")"
echo "  proxychains4 strict   $(median <"$DIR/pc")"
