#!/usr/bin/env bash
# The supervisor's cost, side by side in one run (issue 13): a static Go client's
# connection rate and bulk download through the supervisor against the same client
# speaking SOCKS5 itself; a libc client's (build/bench/connrate) connection rate under
# the preload alone and under the preload plus --supervise on, through microsocks.
# The bulk download reads BENCH_BULK_MIB from build/bench/bulksrv in the proxy namespace
# (scripts/bench-lib.sh) through Dante: bound by the path's throughput, so a
# supervisor that touched the data path would show. Also what trapping getpeername
# costs a libc program under --strict (build/bench/peercost: ns per call on a proxied socket,
# which the supervisor answers, and a direct one, which it lets continue, against
# getsockname, the same kernel work untrapped; and the preload alone). Rounds alternate
# the variants; every figure is the median of BENCH_RUNS rounds.
#
# Usage (as root, in a running test world):
#   SFY_WORLD_NAME=NAME scripts/world.sh start; SFY_WORLD_NAME=NAME scripts/bench-supervisor.sh
# Environment: BENCH_RUNS (5), BENCH_CONNS connections per run (500), BENCH_BULK_MIB
#   (1024), BENCH_PEER_CALLS getpeername calls per run (20000).
set -euo pipefail

BENCH_NAME=bench-supervisor
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
bench_echo_setup
SX=("${IN[@]}" build/bin/socksify -q -x "socks5://$SFY_PROXY4:$PORT")
SX_ON=("${IN[@]}" build/bin/socksify -q --supervise on -x "socks5://$SFY_PROXY4:$PORT")
PEER_CALLS=${BENCH_PEER_CALLS:-20000}
make -s build/bench/peercost
SX_STRICT=("${IN[@]}" build/bin/socksify -q --strict -x "socks5h://$SFY_PROXY4:$PORT")
# Bulk through Dante: microsocks copies in small pieces and holds every client near
# 60 MiB/s, where a slower data path in the client would not show.
SXD=("${IN[@]}" build/bin/socksify -q -x "socks5://$SFY_PROXY4:$SFY_PORT_DANTE")


for ((r = 1; r <= RUNS; r++)); do
    o=$("${SX[@]}" "$OUT/connrate-go" -dest "$DEST" -n "$CONNS")
    add go-supervised "$(awk '/conns/ {print $1}' <<<"$o")"
    o=$("${IN[@]}" "$OUT/connrate-go" -dest "$DEST" -n "$CONNS" -proxy "$SFY_PROXY4:$PORT")
    add go-socks-itself "$(awk '/conns/ {print $1}' <<<"$o")"
    o=$("${SXD[@]}" "$OUT/connrate-go" -dest "$DEST" -n 0 -bulk "$BULK" -bulkdest "$BULK_DEST")
    add go-supervised-bulk "$(awk '/MiB/ {print $1}' <<<"$o")"
    o=$("${IN[@]}" "$OUT/connrate-go" -dest "$DEST" -n 0 -bulk "$BULK" -bulkdest "$BULK_DEST" -proxy "$SFY_PROXY4:$SFY_PORT_DANTE")
    add go-socks-itself-bulk "$(awk '/MiB/ {print $1}' <<<"$o")"
    o=$("${SX[@]}" build/bench/connrate "$SFY_DEST4" "$SFY_PORT_ECHO" "$CONNS")
    add libc-preload "$(awk '{print $1}' <<<"$o")"
    o=$("${SX_ON[@]}" build/bench/connrate "$SFY_DEST4" "$SFY_PORT_ECHO" "$CONNS")
    add libc-preload-supervised "$(awk '{print $1}' <<<"$o")"
    o=$("${SX_STRICT[@]}" build/bench/peercost "$SFY_DEST4" "$SFY_PORT_ECHO" "$PEER_CALLS")
    for k in getpeername-proxied getpeername-direct getsockname; do
        add "strict-$k-ns" "$(awk -v k="$k" '$1 == k {print $2}' <<<"$o")"
    done
    o=$("${SX[@]}" build/bench/peercost "$SFY_DEST4" "$SFY_PORT_ECHO" "$PEER_CALLS")
    add preload-getpeername-proxied-ns "$(awk '$1 == "getpeername-proxied" {print $2}' <<<"$o")"
    echo "round $r done" >&2
done

{
    echo "microsocks, $CONNS connections per run, $BULK MiB bulk, median of $RUNS"
    printf '%-26s %12s\n' variant median
    for k in go-supervised go-socks-itself go-supervised-bulk go-socks-itself-bulk libc-preload \
        libc-preload-supervised strict-getpeername-proxied-ns strict-getpeername-direct-ns \
        strict-getsockname-ns preload-getpeername-proxied-ns; do
        printf '%-26s %12s   (%s)\n' "$k" "$(median <<<"${results[$k]}")" "${results[$k]% }"
    done
    ratio "go conns/s ratio supervised/itself" go-supervised go-socks-itself
    ratio "go bulk ratio supervised/itself" go-supervised-bulk go-socks-itself-bulk
    ratio "libc conns/s ratio with/without supervisor" libc-preload-supervised libc-preload
    g=$(median <<<"${results[strict-getsockname-ns]}")
    for k in getpeername-proxied getpeername-direct; do
        s=$(median <<<"${results[strict-$k-ns]}")
        awk -v s="$s" -v g="$g" -v k="$k" \
            'BEGIN {printf "--strict %s / getsockname: %.1fx (+%.0f ns per call)\n", k, s / g, s - g}'
    done
} | tee "$OUT/summary.txt"
