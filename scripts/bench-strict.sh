#!/usr/bin/env bash
# What --strict costs (issue 14), side by side in one run through microsocks: a libc
# client's (build/bench/connrate) connection rate with and without --strict (under
# --strict the supervisor makes every connect and the SOCKS exchange itself), bulk TCP
# (BENCH_BULK_MIB downloaded from build/bench/bulksrv through Dante, bound by
# throughput: by a libc reader, build/bench/bulkread, which has the preload alone
# without --strict and the preload under the supervisor's filter with it — what
# --strict adds to a libc program's data path —, and by the static Go client,
# tests/bench/go/connrate.go, supervised in both runs) with and without --strict, the
# start-up of /bin/true bare, under socksify and under socksify --strict, and UDP echo
# round trips through Dante's relay (build/bench/udprate, one datagram in flight; under
# --strict the supervisor makes every datagram itself).
# Rounds alternate the variants; every figure is the median of BENCH_RUNS rounds, with
# the ratios strict/plain.
#
# Usage (as root, in a running test world):
#   SFY_WORLD_NAME=NAME scripts/world.sh start; SFY_WORLD_NAME=NAME scripts/bench-strict.sh
# Environment: BENCH_RUNS (5), BENCH_CONNS connections per run (500), BENCH_BULK_MIB
#   (1024), BENCH_STARTS /bin/true runs per round (50), BENCH_UDP round trips per run (2000).
set -euo pipefail

BENCH_NAME=bench-strict
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
bench_echo_setup
STARTS=${BENCH_STARTS:-50}
UDP=${BENCH_UDP:-2000}
make -s build/bench/udprate build/bench/bulkread
# socks5h: --strict refuses local DNS (the destinations here are addresses anyway).
SX=("${IN[@]}" build/bin/socksify -q -x "socks5h://$SFY_PROXY4:$PORT")
SX_STRICT=("${IN[@]}" build/bin/socksify -q --strict -x "socks5h://$SFY_PROXY4:$PORT")
# UDP needs Dante (microsocks has no UDP ASSOCIATE); bulk goes through Dante too
# (microsocks copies in small pieces and holds every client near 60 MiB/s).
UX=("${IN[@]}" build/bin/socksify -q -x "socks5h://$SFY_PROXY4:$SFY_PORT_DANTE")
UX_STRICT=("${IN[@]}" build/bin/socksify -q --strict -x "socks5h://$SFY_PROXY4:$SFY_PORT_DANTE")

# Milliseconds per start of COMMAND..., over STARTS runs.
starts() {
    local t0 t1 i
    t0=$(date +%s%N)
    for ((i = 0; i < STARTS; i++)); do "$@" >/dev/null; done
    t1=$(date +%s%N)
    awk -v ns=$((t1 - t0)) -v n="$STARTS" 'BEGIN {printf "%.2f", ns / n / 1e6}'
}

for ((r = 1; r <= RUNS; r++)); do
    o=$("${SX[@]}" build/bench/connrate "$SFY_DEST4" "$SFY_PORT_ECHO" "$CONNS")
    add libc-conns "$(awk '{print $1}' <<<"$o")"
    o=$("${SX_STRICT[@]}" build/bench/connrate "$SFY_DEST4" "$SFY_PORT_ECHO" "$CONNS")
    add libc-conns-strict "$(awk '{print $1}' <<<"$o")"
    o=$("${UX[@]}" "$OUT/connrate-go" -dest "$DEST" -n 0 -bulk "$BULK" -bulkdest "$BULK_DEST")
    add bulk-mib-s "$(awk '/MiB/ {print $1}' <<<"$o")"
    o=$("${UX_STRICT[@]}" "$OUT/connrate-go" -dest "$DEST" -n 0 -bulk "$BULK" -bulkdest "$BULK_DEST")
    add bulk-mib-s-strict "$(awk '/MiB/ {print $1}' <<<"$o")"
    o=$("${UX[@]}" build/bench/bulkread "${BULK_DEST%:*}" "${BULK_DEST##*:}" "$BULK")
    add libc-bulk-mib-s "$(awk '/MiB/ {print $1}' <<<"$o")"
    o=$("${UX_STRICT[@]}" build/bench/bulkread "${BULK_DEST%:*}" "${BULK_DEST##*:}" "$BULK")
    add libc-bulk-mib-s-strict "$(awk '/MiB/ {print $1}' <<<"$o")"
    o=$("${UX[@]}" build/bench/udprate "$SFY_DEST4" "$SFY_PORT_UDP_ECHO" "$UDP")
    add udp-rts "$(awk '{print $1}' <<<"$o")"
    o=$("${UX_STRICT[@]}" build/bench/udprate "$SFY_DEST4" "$SFY_PORT_UDP_ECHO" "$UDP")
    add udp-rts-strict "$(awk '{print $1}' <<<"$o")"
    add start-ms-bare "$(starts "${IN[@]}" /bin/true)"
    add start-ms "$(starts "${SX[@]}" /bin/true)"
    add start-ms-strict "$(starts "${SX_STRICT[@]}" /bin/true)"
    echo "round $r done" >&2
done

{
    echo "microsocks, $CONNS connections per run, $BULK MiB bulk, $STARTS starts, median of $RUNS"
    printf '%-20s %12s\n' variant median
    for k in libc-conns libc-conns-strict bulk-mib-s bulk-mib-s-strict libc-bulk-mib-s \
        libc-bulk-mib-s-strict udp-rts udp-rts-strict \
        start-ms-bare start-ms start-ms-strict; do
        printf '%-20s %12s   (%s)\n' "$k" "$(median <<<"${results[$k]}")" "${results[$k]% }"
    done
    ratio "libc conns/s ratio strict/plain" libc-conns-strict libc-conns
    ratio "bulk ratio strict/plain (static Go: supervised in both)" bulk-mib-s-strict bulk-mib-s
    ratio "libc bulk ratio strict/plain (preload alone / preload under the filter)" \
        libc-bulk-mib-s-strict libc-bulk-mib-s
    ratio "UDP round trips ratio strict/plain (Dante, $UDP per run)" udp-rts-strict udp-rts
    ratio "start-up ratio strict/plain" start-ms-strict start-ms
} | tee "$OUT/summary.txt"
