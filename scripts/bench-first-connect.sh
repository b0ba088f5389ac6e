#!/usr/bin/env bash
# Time to the first byte of one `curl` run through each local proxy (Dante sockd and
# microsocks): socksify on a user's first run (nothing known about the proxy: the
# launcher probes it while curl starts), on a later run (the verdict remembered),
# with --no-pipeline, and proxychains4 — interleaved in every round, medians of
# BENCH_RUNS rounds, ratios per round. This is the first connection a user sees; it
# used to pay a 1 s stall guess with microsocks (issue 15).
#
# Usage (as root): scripts/bench-first-connect.sh
# Environment: BENCH_RUNS (15), BENCH_WORLD test world name (sfyf).
set -euo pipefail

RUNS=${BENCH_RUNS:-15}
export SFY_WORLD_NAME=${BENCH_WORLD:-sfyf}
BENCH_NAME=bench-first-connect
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
OUT=build/bench-first-connect
SFY=$ROOT/build/bin/socksify
URL=http://$SFY_NAME_WEB:$SFY_PORT_HTTP/

((EUID == 0)) || bench_die "must run as root (network namespaces)"
command -v proxychains4 >/dev/null || apt-get install -y proxychains4 >/dev/null
make -s all
rm -rf "$OUT"
mkdir -p "$OUT"
cleanup() { "$ROOT/scripts/world.sh" stop >/dev/null 2>&1 || true; }
trap cleanup EXIT
"$ROOT/scripts/world.sh" start >"$OUT/world.log" 2>&1 || bench_die "world did not start: $OUT/world.log"
for port in "$SFY_PORT_DANTE" "$SFY_PORT_MICRO"; do
    printf 'strict_chain\nproxy_dns\nquiet_mode\n[ProxyList]\nsocks5 %s %s\n' \
        "$SFY_PROXY4" "$port" >"$OUT/proxychains-$port.conf"
done

# ttfb TOOL PORT: seconds to curl's first byte (time_starttransfer), one run.
ttfb() {
    local tool=$1 port=$2 pre=()
    case $tool in
        first) rm -rf "$OUT/xdg-first"; pre=(env XDG_CACHE_HOME="$OUT/xdg-first" "$SFY" -q -x "socks5h://$SFY_PROXY4:$port" --) ;;
        later) pre=(env XDG_CACHE_HOME="$OUT/xdg-later-$port" "$SFY" -q -x "socks5h://$SFY_PROXY4:$port" --) ;;
        nopipe) pre=(env XDG_CACHE_HOME="$OUT/xdg-np" "$SFY" -q --no-pipeline -x "socks5h://$SFY_PROXY4:$port" --) ;;
        proxychains4) pre=(proxychains4 -q -f "$OUT/proxychains-$port.conf") ;;
    esac
    ip netns exec "$SFY_NS_CLIENT" "${pre[@]}" curl -s -o /dev/null -w '%{time_starttransfer}' "$URL"
}

TOOLS=(first later nopipe proxychains4)
for port in "$SFY_PORT_DANTE" "$SFY_PORT_MICRO"; do
    # The "later" cache learns the proxy once, outside the measured rounds.
    ttfb later "$port" >/dev/null
done
for ((run = 1; run <= RUNS; run++)); do
    for port in "$SFY_PORT_DANTE" "$SFY_PORT_MICRO"; do
        # Rotate the order each round: no tool always goes first.
        for ((k = 0; k < ${#TOOLS[@]}; k++)); do
            tool=${TOOLS[(k + run) % ${#TOOLS[@]}]}
            printf '%s\t%s\t%s\t%s\n' "$port" "$tool" "$run" "$(ttfb "$tool" "$port")" >>"$OUT/raw.tsv"
        done
    done
done

# Medians of the times, and medians of the per-round ratios against --no-pipeline and
# proxychains4.
python3 - "$OUT/raw.tsv" "$SFY_PORT_DANTE" "$SFY_PORT_MICRO" <<'PY' | tee "$OUT/summary.md"
import statistics, sys
rows = [l.split('\t') for l in open(sys.argv[1]).read().splitlines()]
t = {}
for port, tool, run, sec in rows:
    t.setdefault((port, tool), {})[run] = float(sec) * 1000
names = {sys.argv[2]: "Dante", sys.argv[3]: "microsocks"}
print("| proxy | socksify, first run (ms) | socksify, later run | --no-pipeline | proxychains4 | first ÷ --no-pipeline | later ÷ proxychains4 |")
print("|---|---|---|---|---|---|---|")
for port in (sys.argv[2], sys.argv[3]):
    med = {tool: statistics.median(t[(port, tool)].values()) for tool in ("first", "later", "nopipe", "proxychains4")}
    def ratio(a, b):
        return statistics.median(t[(port, a)][r] / t[(port, b)][r] for r in t[(port, a)])
    print(f"| {names[port]} | {med['first']:.2f} | {med['later']:.2f} | {med['nopipe']:.2f} | "
          f"{med['proxychains4']:.2f} | {ratio('first', 'nopipe'):.3f} | {ratio('later', 'proxychains4'):.3f} |")
PY
