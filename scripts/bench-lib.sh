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
#                                 BENCH_CONNS 500, BENCH_BULK_MIB 16), PORT (microsocks),
#                                 OUT (build/BENCH_NAME, with connrate-go), IN (the
#                                 client namespace), DEST (the echo) and results,
#                                 filled by add KEY VALUE
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
        BULK=${BENCH_BULK_MIB:-16}
        PORT=$SFY_PORT_MICRO
        bench_require_world
        OUT=$ROOT/build/$BENCH_NAME
        bench_go_connrate "$OUT"
        make -s all build/bench/connrate
        IN=(ip netns exec "$SFY_NS_CLIENT")
        DEST=$SFY_DEST4:$SFY_PORT_ECHO
        declare -gA results=()
    }
}
add() { results[$1]+="$2 "; }

median() {
    tr -s '[:space:]' '\n' | grep . | sort -g |
        awk '{a[NR] = $1} END {if (NR == 0) print "-"; else print a[int((NR + 1) / 2)]}'
}
