#!/usr/bin/env bash
# Whole-program cost of resolving many unique names (issue 19): one process resolves
# COUNT new names with getaddrinfo under socksify (fake DNS sized by --fake-net) and
# under proxychains4 (proxy_dns, remote_dns_subnet 224), side by side. Reports the
# wall time and the peak RSS (GNU time's %M: the larger of the launcher and the
# program), medians of BENCH_RUNS rounds with the tools' order rotated, and the
# socksify/proxychains4 ratios. No connection is made: only name lookups, so the
# proxy address in the configurations is never contacted.
#
# Usage: scripts/bench-fake-dns.sh [COUNT...]   (default: 10000 1000000)
# Environment: BENCH_RUNS (5), BENCH_TIMEOUT seconds per run (600).
set -euo pipefail

BENCH_NAME=bench-fake-dns
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
RUNS=${BENCH_RUNS:-5}
LIMIT=${BENCH_TIMEOUT:-600}
COUNTS=("$@")
((${#COUNTS[@]} > 0)) || COUNTS=(10000 1000000)
OUT=build/bench-fake-dns
SFY=$ROOT/build/bin/socksify
PROBE=$ROOT/build/tests/fake_names

command -v proxychains4 >/dev/null || bench_die "proxychains4 is not installed (scripts/install-deps.sh)"
[[ -x /usr/bin/time ]] || bench_die "GNU time (/usr/bin/time) is not installed"
make -s all "$PROBE"
rm -rf "$OUT"
mkdir -p "$OUT"
printf 'strict_chain\nproxy_dns\nremote_dns_subnet 224\nquiet_mode\n[ProxyList]\nsocks5 127.0.0.1 1080\n' \
    >"$OUT/proxychains.conf"

# one TOOL COUNT: "seconds peak_kB resolved" for one run, or "- - -" on failure.
one() {
    local tool=$1 n=$2 pre=()
    case $tool in
        # The smallest range that holds n names (at least the default /15): the table's
        # hash index costs 8 bytes per address of the range once a few thousand names
        # are in, so a user sizes the range to the job.
        socksify)
            local bits=17
            while (((1 << bits) - 2 < n)); do bits=$((bits + 1)); done
            pre=("$SFY" -q -x socks5h://127.0.0.1:1080 --fake-net "100.0.0.0/$((32 - bits))" --)
            ;;
        proxychains4) pre=(proxychains4 -q -f "$OUT/proxychains.conf") ;;
    esac
    local t0 t1 line
    t0=$(date +%s%N)
    if ! timeout -k 2 "$LIMIT" /usr/bin/time -f 'peak=%M' -o "$OUT/time" "${pre[@]}" "$PROBE" bench "$n" \
        >"$OUT/out" 2>"$OUT/err"; then
        echo "- - -"
        return
    fi
    t1=$(date +%s%N)
    line=$(<"$OUT/out")
    local resolved=${line#resolved=}
    resolved=${resolved%% *}
    printf '%s %s %s\n' "$(((t1 - t0) / 1000000))" "$(sed -n 's/^peak=//p' "$OUT/time")" "$resolved"
}


TOOLS=(socksify proxychains4)
printf '%-10s %-13s %10s %12s %10s\n' count tool ms peak_kB resolved
for n in "${COUNTS[@]}"; do
    for ((run = 1; run <= RUNS; run++)); do
        for ((k = 0; k < ${#TOOLS[@]}; k++)); do
            tool=${TOOLS[$(((run + k) % ${#TOOLS[@]}))]}
            read -r ms kb got < <(one "$tool" "$n")
            echo "$n $tool $run $ms $kb $got" >>"$OUT/rounds"
        done
    done
    for tool in "${TOOLS[@]}"; do
        ms=$(awk -v n="$n" -v t="$tool" '$1 == n && $2 == t && $4 != "-" {print $4}' "$OUT/rounds" | median)
        kb=$(awk -v n="$n" -v t="$tool" '$1 == n && $2 == t && $5 != "-" {print $5}' "$OUT/rounds" | median)
        got=$(awk -v n="$n" -v t="$tool" '$1 == n && $2 == t && $6 != "-" {print $6}' "$OUT/rounds" | median)
        printf '%-10s %-13s %10s %12s %10s\n' "$n" "$tool" "$ms" "$kb" "$got"
        eval "MS_$tool=$ms KB_$tool=$kb"
    done
    # shellcheck disable=SC2154
    if [[ $MS_socksify != - && $MS_proxychains4 != - ]]; then
        awk -v a="$MS_socksify" -v b="$MS_proxychains4" -v c="$KB_socksify" -v d="$KB_proxychains4" \
            -v n="$n" 'BEGIN {printf "%-10s socksify/proxychains4: time %.2fx, peak RSS %.2fx\n", n, a / b, c / d}'
    else
        echo "$n: a tool failed or ran past ${LIMIT}s (see $OUT/rounds: '-')"
    fi
done
echo "rounds: $OUT/rounds (count tool round ms peak_kB resolved)"
