#!/usr/bin/env bash
# What the default mode's supervision of programs started later in a run costs per
# exec (issue 13, "when it runs"): a preloaded shell runs BENCH_EXECS execs in a loop.
#   libc:   /bin/true (the preload serves it; the exec hook also reads its section
#           headers to tell a Go program) — under --supervise auto against off, and
#           without socksify at all;
#   static: busybox true (statically linked) — auto (exec'd through the launcher, which
#           installs a filter and hands its listener to the run's launcher) against off
#           (runs unsupervised) and on (the whole tree is under one filter already).
# Interleaved in every round; medians of BENCH_RUNS rounds in microseconds per exec, and
# the ratios to the "off" column. No proxy is contacted (nothing connects).
#
# Usage: scripts/bench-supervise-exec.sh
# Environment: BENCH_RUNS (11), BENCH_EXECS (300).
set -euo pipefail

BENCH_NAME=bench-supervise-exec
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
RUNS=${BENCH_RUNS:-11}
EXECS=${BENCH_EXECS:-300}
SFY=$ROOT/build/bin/socksify
PROXY=socks5h://127.0.0.1:9  # never reached: the programs do not connect
BUSYBOX=$(command -v busybox || true)

[[ -n $BUSYBOX ]] && file -L "$BUSYBOX" | grep -q "statically linked" ||
    bench_die "needs a statically linked busybox (busybox-static)"
make -s all

# us_per_exec PROGRAM... : microseconds per exec of PROGRAM in a shell loop.
loop() { printf 'i=0; while [ $i -lt %d ]; do %s; i=$((i+1)); done' "$EXECS" "$1"; }
us_per_exec() {
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000 / EXECS))
}

declare -A S=()
cols=(libc-bare libc-off libc-auto static-off static-on static-auto)
for ((r = 0; r < RUNS; r++)); do
    S[libc-bare]+="$(us_per_exec sh -c "$(loop /bin/true)") "
    for m in off auto; do
        S[libc-$m]+="$(us_per_exec "$SFY" -q --supervise $m -x "$PROXY" -- sh -c "$(loop /bin/true)") "
    done
    for m in off on auto; do
        S[static-$m]+="$(us_per_exec "$SFY" -q --supervise $m -x "$PROXY" -- sh -c "$(loop "$BUSYBOX true")") "
    done
done

printf '%-12s %10s %8s\n' case "us/exec" "x off"
for c in "${cols[@]}"; do
    m=$(median <<<"${S[$c]}")
    base=$(median <<<"${S[${c%%-*}-off]}")
    printf '%-12s %10s %8s\n' "$c" "$m" "$(awk -v a="$m" -v b="$base" 'BEGIN {printf "%.2f", a / b}')"
done
echo "($RUNS rounds of $EXECS execs; medians)"
