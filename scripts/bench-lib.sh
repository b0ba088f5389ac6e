# shellcheck shell=bash
# Shared by the scripts/bench-*.sh scripts, sourced after `set -euo pipefail` with
# BENCH_NAME set (and SFY_WORLD_NAME, where a script picks its own world):
#   BENCH_NAME=bench-x
#   source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
# It sets ROOT and makes it the working directory, takes the test world's names from
# scripts/world-env.sh, and defines:
#   bench_die MESSAGE...          "BENCH_NAME: MESSAGE" on stderr, exit 1
#   bench_require_world           dies unless the world SFY_WORLD_NAME is running
#   bench_go_connrate DIR         builds the static Go client (tests/bench/go/connrate.go)
#                                 as DIR/connrate-go
#   bench_echo_setup              for the benches that time build/bench/connrate and
#                                 the Go client against the world's echo through
#                                 microsocks: RUNS, CONNS, BULK (BENCH_RUNS 5,
#                                 BENCH_CONNS 500, BENCH_BULK_MIB 1024), PORT (microsocks),
#                                 OUT (build/BENCH_NAME, with connrate-go), IN (the
#                                 client namespace), DEST (the echo), BULK_DEST (a
#                                 build/bench/bulksrv writing BULK MiB per connection,
#                                 started in the proxy namespace and stopped by PID on
#                                 exit) and results, filled by add KEY VALUE
#   median                        the median of the numbers on stdin (split on white
#                                 space: one a line, or median <<<"$list"); "-" for none

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
# shellcheck source=scripts/world-env.sh
source "$ROOT/scripts/world-env.sh"

bench_die() {
    echo "${BENCH_NAME:-bench}: $*" >&2
    exit 1
}

bench_require_world() {
    [[ -e /run/netns/$SFY_NS_CLIENT ]] ||
        bench_die "world $SFY_WORLD_NAME is not running (SFY_WORLD_NAME=$SFY_WORLD_NAME scripts/world.sh start)"
}

bench_go_connrate() {
    mkdir -p "$1"
    GOCACHE=$ROOT/build/go/cache GOPATH=$ROOT/build/go/path GOPROXY=off GOFLAGS='' GO111MODULE=auto \
        CGO_ENABLED=0 go build -o "$1/connrate-go" tests/bench/go/connrate.go
}

bench_echo_setup() {
    # shellcheck disable=SC2034  # read by the script that sources this
    {
        RUNS=${BENCH_RUNS:-5}
        CONNS=${BENCH_CONNS:-500}
        BULK=${BENCH_BULK_MIB:-1024}
        PORT=$SFY_PORT_MICRO
        bench_require_world
        OUT=$ROOT/build/$BENCH_NAME
        bench_go_connrate "$OUT"
        make -s all build/bench/connrate
        IN=(ip netns exec "$SFY_NS_CLIENT")
        DEST=$SFY_DEST4:$SFY_PORT_ECHO
        declare -gA results=()
    }
    bench_bulk_server
}

# The bulk source: a C server writing BULK MiB and closing, so neither the sender nor a
# reply bounds the transfer (the world's echo stalls on full-duplex streams).
bench_bulk_server() {
    local port=9000 i
    make -s build/bench/bulksrv
    BULK_DEST=$SFY_DEST4:$port
    ip netns exec "$SFY_NS_PROXY" build/bench/bulksrv "$SFY_DEST4" "$port" "$((BULK << 20))" \
        >/dev/null 2>&1 &
    BULK_PID=$!
    trap 'kill "$BULK_PID" 2>/dev/null || true' EXIT
    for ((i = 0; i < 50; i++)); do
        ip netns exec "$SFY_NS_PROXY" bash -c ">/dev/tcp/$SFY_DEST4/$port" 2>/dev/null && return 0
        sleep 0.1
    done
    bench_die "bulksrv did not start on $BULK_DEST"
}
add() { results[$1]+="$2 "; }

# The per-round ratios pair two variants measured seconds apart; the machine's speed
# drifts between rounds (±10% here), which a ratio of medians mixes in.
ratio() {
    local a b per
    a=$(median <<<"${results[$2]}")
    b=$(median <<<"${results[$3]}")
    per=$(paste <(tr -s ' ' '\n' <<<"${results[$2]}" | grep .) \
        <(tr -s ' ' '\n' <<<"${results[$3]}" | grep .) | awk '{printf "%.4f\n", $1 / $2}' | median)
    awk -v a="$a" -v b="$b" -v per="$per" -v what="$1" \
        'BEGIN {printf "%s: %.3f (medians), %.3f (median of per-round ratios)\n", what, a / b, per}'
}

median() {
    tr -s '[:space:]' '\n' | grep . | sort -g |
        awk '{a[NR] = $1} END {if (NR == 0) print "-"; else print a[int((NR + 1) / 2)]}'
}
