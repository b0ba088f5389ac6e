#!/usr/bin/env bash
# What --audit and a full policy cost a connection, side by side in one run: the same
# connect → 1-byte echo → close loop (build/bench/connrate, 3000 connections) through
# microsocks on loopback, under plain socksify, with --audit, and with --audit plus 64
# rules of which only the last matches (the longest rule walk). Rounds interleave the
# three so that the machine's drift hits them alike; report the medians.
# Usage: scripts/bench-policy.sh [ROUNDS]   (default 9; needs microsocks, make all)
set -euo pipefail
BENCH_NAME=bench-policy
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
B=$ROOT/build
ROUNDS=${1:-9}
make -s all build/bench/connrate build/bench/echosrv  # relative: the Makefile's pattern rule
LOG=$(mktemp /dev/shm/socksify-bench-audit-XXXXXX)
$B/bench/echosrv 127.0.0.2 7007 & E=$!
microsocks -i 127.0.0.1 -p 11080 >/dev/null 2>&1 & M=$!
trap 'kill $E $M; rm -f "$LOG"' EXIT
sleep 0.3
RULES=()
# Rules that never match the destination (the benchmarking range, RFC 2544).
for i in $(seq 0 62); do RULES+=(--allow "198.18.$i.0/24:1-1024"); done
RULES+=(--allow 127.0.0.0/8)
A=() AU=() AR=()
S=($B/bin/socksify --no-pipeline --direct '' -x socks5://127.0.0.1:11080)
for ((r = 1; r <= ROUNDS; r++)); do
  a=$("${S[@]}" -- $B/bench/connrate 127.0.0.2 7007 3000)
  : >"$LOG"
  b=$("${S[@]}" --audit "$LOG" -- $B/bench/connrate 127.0.0.2 7007 3000)
  : >"$LOG"
  c=$("${S[@]}" --audit "$LOG" --default-deny "${RULES[@]}" -- $B/bench/connrate 127.0.0.2 7007 3000)
  echo "round $r: plain $a | audit $b | audit+64rules $c"
  A+=("${a%% *}") AU+=("${b%% *}") AR+=("${c%% *}")
done
ma=$(printf '%s\n' "${A[@]}" | median)
mb=$(printf '%s\n' "${AU[@]}" | median)
mc=$(printf '%s\n' "${AR[@]}" | median)
awk -v a="$ma" -v b="$mb" -v c="$mc" 'BEGIN {
    printf "median conns/s: plain %d, --audit %d (%.2f), --audit + 64 rules %d (%.2f)\n", a, b, b / a, c, c / a }'
