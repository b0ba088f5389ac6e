#!/usr/bin/env bash
# Whole-program cost of resolving many unique names (issue 19): one process resolves
# COUNT new names with getaddrinfo (build/tests/fake_names bench) under socksify and
# under proxychains4 (proxy_dns, remote_dns_subnet 224), side by side in one run, the
# tools' order rotated each round. Reports medians of BENCH_RUNS rounds: wall time,
# peak RSS (GNU time's %M: the largest of the launcher and the program), the program's
# own VmHWM and the shared memory resident in it (the fake-DNS table), and the
# socksify/proxychains4 ratios. COUNT 0 is the baseline: the program resolving nothing.
# No connection is made, so the proxy address in the configurations (loopback) is
# never contacted and no server runs.
#
# socksify runs with its default range (240.0.0.0/12, 1,048,574 names) up to that
# count, with --fake-net 240.0.0.0/8 above it. proxychains4 runs up to BENCH_PEER_MAX
# names (its table is a list searched in full for every new name).
#
# Usage: scripts/bench-fake-dns.sh [COUNT...]   (default: 0 10000 1000000 10000000)
# Environment: BENCH_RUNS (3), BENCH_TIMEOUT seconds per run (1800), BENCH_PEER_MAX
# (1000000), BENCH_OUT (the results folder, build/bench-fake-dns).
set -euo pipefail

BENCH_NAME=bench-fake-dns
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
RUNS=${BENCH_RUNS:-3}
LIMIT=${BENCH_TIMEOUT:-1800}
PEER_MAX=${BENCH_PEER_MAX:-1000000}
COUNTS=("$@")
((${#COUNTS[@]} > 0)) || COUNTS=(0 10000 1000000 10000000)
OUT=${BENCH_OUT:-build/bench-fake-dns}
SFY=$ROOT/build/bin/socksify
PROBE=$ROOT/build/tests/fake_names
DEFAULT_CAPACITY=1048574

command -v proxychains4 >/dev/null || bench_die "proxychains4 is not installed (scripts/install-deps.sh)"
[[ -x /usr/bin/time ]] || bench_die "GNU time (/usr/bin/time) is not installed"
make -s all build/tests/fake_names
rm -rf "$OUT"
mkdir -p "$OUT"
printf 'strict_chain\nproxy_dns\nremote_dns_subnet 224\nquiet_mode\n[ProxyList]\nsocks5 127.0.0.1 1080\n' \
    >"$OUT/proxychains.conf"

# one TOOL COUNT: "ms peak_kB hwm_kB shm_kB resolved" for one run, or dashes on failure.
one() {
    local tool=$1 n=$2 pre=()
    case $tool in
        socksify)
            pre=("$SFY" -q -x socks5h://127.0.0.1:1080)
            ((n <= DEFAULT_CAPACITY)) || pre+=(--fake-net 240.0.0.0/8)
            pre+=(--)
            ;;
        proxychains4) pre=(proxychains4 -q -f "$OUT/proxychains.conf") ;;
    esac
    local t0 t1 line
    t0=$(date +%s%N)
    if ! timeout -k 2 "$LIMIT" /usr/bin/time -f 'peak=%M' -o "$OUT/time" "${pre[@]}" "$PROBE" bench "$n" \
        >"$OUT/out" 2>"$OUT/err"; then
        echo "- - - - -"
        return
    fi
    t1=$(date +%s%N)
    line=$(<"$OUT/out")
    # key=value fields of the probe's line
    local resolved hwm shm
    resolved=$(field resolved "$line")
    hwm=$(field vmhwm_kb "$line")
    shm=$(field rss_shmem_kb "$line")
    printf '%s %s %s %s %s\n' "$(((t1 - t0) / 1000000))" "$(sed -n 's/^peak=//p' "$OUT/time")" \
        "${hwm:--}" "${shm:--}" "${resolved:--}"
}

# field KEY LINE: the value of KEY=… in LINE, empty if absent.
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }


# col COUNT TOOL FIELD: the median of one column of the rounds (failed runs left out).
col() {
    awk -v n="$1" -v t="$2" -v f="$3" '$1 == n && $2 == t && $f != "-" {print $f}' "$OUT/rounds" | median
}

printf '%-10s %-13s %9s %10s %10s %10s %10s\n' count tool ms peak_kB hwm_kB shm_kB resolved
for n in "${COUNTS[@]}"; do
    TOOLS=(socksify)
    ((n > PEER_MAX)) || TOOLS+=(proxychains4)
    for ((run = 1; run <= RUNS; run++)); do
        for ((k = 0; k < ${#TOOLS[@]}; k++)); do
            tool=${TOOLS[$(((run + k) % ${#TOOLS[@]}))]}
            read -r ms kb hwm shm got < <(one "$tool" "$n")
            echo "$n $tool $run $ms $kb $hwm $shm $got" >>"$OUT/rounds"
        done
    done
    for tool in "${TOOLS[@]}"; do
        ms=$(col "$n" "$tool" 4)
        kb=$(col "$n" "$tool" 5)
        printf '%-10s %-13s %9s %10s %10s %10s %10s\n' "$n" "$tool" "$ms" "$kb" \
            "$(col "$n" "$tool" 6)" "$(col "$n" "$tool" 7)" "$(col "$n" "$tool" 8)"
        eval "MS_$tool=$ms KB_$tool=$kb"
    done
    ((${#TOOLS[@]} == 2)) || continue
    # shellcheck disable=SC2154
    if [[ $MS_socksify != - && $MS_proxychains4 != - ]]; then
        awk -v a="$MS_socksify" -v b="$MS_proxychains4" -v c="$KB_socksify" -v d="$KB_proxychains4" \
            -v n="$n" 'BEGIN {printf "%-10s socksify/proxychains4: time %.3fx, peak RSS %.2fx\n", n, (b ? a / b : 0), c / d}'
    else
        echo "$n: a tool failed or ran past ${LIMIT}s (see $OUT/rounds: '-')"
    fi
done
echo "rounds: $OUT/rounds (count tool round ms peak_kB hwm_kB shm_kB resolved)"
