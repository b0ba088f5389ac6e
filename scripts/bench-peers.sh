#!/usr/bin/env bash
# Benchmarks socksify side by side with the tools users would pick instead
# (proxychains4, Dante's socksify, torsocks) and with a client that speaks SOCKS5
# itself (the limit), through the same local proxies (Dante sockd, microsocks), in a
# test world of its own (issue 6). Peers are interleaved inside each run; every figure
# is the median of BENCH_RUNS runs. Raw numbers go to build/bench-peers/, the tables to
# build/bench-peers/summary.md and between the bench-peers markers of
# docs/BENCHMARKS.md (the text around them is left alone).
#
# Usage (as root): scripts/bench-peers.sh [--no-doc]
# Environment (the defaults take about 4 minutes on 2 vCPUs once the peers are
# installed and the tree is built; raise them on a quiet machine for tighter ranges):
#   BENCH_RUNS (5), BENCH_CONNS connections per connrate run (1500), BENCH_PAIRS
#   socksify/limit pairs per connection case and run for the native-limit targets (3),
#   BENCH_UDP round trips per udprate run (6000), BENCH_BULK_MIB (128),
#   BENCH_DD_COUNT (300000), BENCH_HF_RUNS hyperfine runs per command and round (30),
#   BENCH_PROFILE connections (and operations) of the smaller strace run; the larger
#   has three times as many (100), BENCH_WORLD test world name (sfyb: namespaces
#   sfyb-client/sfyb-proxy, state in build/world-sfyb, so a running default world is
#   not disturbed).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

RUNS=${BENCH_RUNS:-5}
CONNS=${BENCH_CONNS:-1500}
PAIRS=${BENCH_PAIRS:-3}
UDP_RTS=${BENCH_UDP:-6000}
BULK_MIB=${BENCH_BULK_MIB:-128}
DD_COUNT=${BENCH_DD_COUNT:-300000}
HF_RUNS=${BENCH_HF_RUNS:-30}
PROFILE_N=${BENCH_PROFILE:-100}
export SFY_WORLD_NAME=${BENCH_WORLD:-sfyb}
WRITE_DOC=1
[[ ${1:-} == --no-doc ]] && WRITE_DOC=0
[[ $# -eq 0 || ${1:-} == --no-doc ]] || {
    echo "usage: $0 [--no-doc]" >&2
    exit 2
}

# shellcheck source=scripts/world-env.sh
source "$ROOT/scripts/world-env.sh"
# shellcheck source=scripts/pids.sh
source "$ROOT/scripts/pids.sh"
NS_C=$SFY_NS_CLIENT
NS_P=$SFY_NS_PROXY
PROXY=$SFY_PROXY4
DEST=$SFY_DEST4
NAME=$SFY_NAME_ECHO
PORT_ECHO=9007  # build/bench/echosrv, TCP and UDP: the world's echoes bound the rates
PORT_BULK=9000  # build/bench/bulksrv
BULK_BYTES=$((BULK_MIB * 1048576))

OUT=build/bench-peers
RAW=$OUT/raw.tsv       # section, case, tool, run, value
NA=$OUT/na.tsv         # section, case, tool, why the tool cannot do it
CMDS=$OUT/commands.tsv # section, case, tool, the command as run
SFY=build/bin/socksify
LIB=build/lib/libsocksify.so
B=build/bench
PEER_PACKAGES=(proxychains4 dante-client torsocks hyperfine time netcat-openbsd strace)

die() {
    echo "bench-peers: $*" >&2
    exit 1
}
note() { echo "bench-peers: $(date +%H:%M:%S) $*" >&2; }

# --- setup ----------------------------------------------------------------------

install_peers() {
    "$ROOT/scripts/install-deps.sh"
    local missing=() pkg status
    for pkg in "${PEER_PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
        [[ $status == installed ]] || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    note "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >"$OUT/apt.log" 2>&1 ||
        { apt-get update -qq >>"$OUT/apt.log" 2>&1 &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                "${missing[@]}" >>"$OUT/apt.log" 2>&1; } ||
        die "apt-get failed; see $OUT/apt.log"
}

# One configuration per peer and proxy port, as a user would write it.
write_configs() {
    local port
    for port in "$SFY_PORT_DANTE" "$SFY_PORT_MICRO"; do
        printf 'strict_chain\nproxy_dns\nquiet_mode\n[ProxyList]\nsocks5 %s %s\n' \
            "$PROXY" "$port" >"$OUT/proxychains-$port.conf"
        # resolveprotocol must precede the route; "fake" sends names to the proxy.
        cat >"$OUT/dante-$port.conf" <<EOF
resolveprotocol: fake
route {
    from: 0.0.0.0/0 to: 0.0.0.0/0 via: $PROXY port = $port
    proxyprotocol: socks_v5
    method: none
}
EOF
        printf 'TorAddress %s\nTorPort %s\n' "$PROXY" "$port" >"$OUT/torsocks-$port.conf"
    done
}

SERVER_PIDS=()

cleanup() {
    local pid
    for pid in "${SERVER_PIDS[@]}"; do stop_pid "$pid"; done
    "$ROOT/scripts/world.sh" stop || true
}

# start_server NAME PORT COMMAND...: in the proxy namespace, as a new session; waits
# (at most 5 s) until COMMAND listens on TCP PORT.
start_server() {
    local name=$1 port=$2 i
    shift 2
    setsid ip netns exec "$NS_P" "$@" >"$OUT/$name.log" 2>&1 </dev/null &
    SERVER_PIDS+=($!)
    for ((i = 0; i < 50; i++)); do
        [[ -n $(ip netns exec "$NS_P" ss -Hltn "sport = :$port" 2>/dev/null) ]] && return 0
        sleep 0.1
    done
    die "$name did not start; see $OUT/$name.log"
}

start_world() {
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    note "starting test world $SFY_WORLD_NAME"
    "$ROOT/scripts/world.sh" start
    local ns
    for ns in "$NS_C" "$NS_P"; do
        # Connection storms: reuse TIME_WAIT ports, use most of the port space.
        ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1 \
            net.ipv4.ip_local_port_range="1024 65000"
    done
    start_server echosrv "$PORT_ECHO" "$B/echosrv" "$DEST" "$PORT_ECHO"
    start_server bulksrv "$PORT_BULK" "$B/bulksrv" "$DEST" "$PORT_BULK" "$BULK_BYTES"
}

# --- running one measurement ----------------------------------------------------

# set_wrap TOOL PORT: WRAP becomes the prefix that runs a program under TOOL with the
# proxy on PORT; NS the namespace it runs in. "direct" runs on the proxy side, where
# the destination is reachable without a proxy; "bare", "limit" and "nc-proxy" run
# plainly in the client namespace.
set_wrap() {
    NS=$NS_C
    case $1 in
        direct) NS=$NS_P WRAP=() ;;
        bare | limit | limit-pipelined | nc-proxy) WRAP=() ;;
        # The launcher's pipelining verdicts (issue 15) live in the bench's own cache:
        # the first run of each proxy probes it, later runs remember.
        socksify) WRAP=(env XDG_CACHE_HOME="$ROOT/$OUT/xdg" "$SFY" -q -x "socks5h://$PROXY:$2" --) ;;
        socksify-np) WRAP=("$SFY" -q --no-pipeline -x "socks5h://$PROXY:$2" --) ;;
        proxychains4) WRAP=(proxychains4 -q -f "$OUT/proxychains-$2.conf") ;;
        dante) WRAP=(env "SOCKS_CONF=$OUT/dante-$2.conf" /usr/bin/socksify) ;;
        torsocks) WRAP=(env "TORSOCKS_CONF_FILE=$OUT/torsocks-$2.conf" torsocks) ;;
        *) die "unknown tool $1" ;;
    esac
}

declare -A NOT_POSSIBLE=()

record() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RAW"; }

# remember_cmd SECTION CASE TOOL COMMAND...: the first run's command line, for the doc.
remember_cmd() {
    local s=$1 c=$2 t=$3
    shift 3
    awk -F'\t' -v s="$s" -v c="$c" -v t="$t" '$1 == s && $2 == c && $3 == t { found = 1 }
        END { exit !found }' "$CMDS" && return 0
    printf '%s\t%s\t%s\t%s\n' "$s" "$c" "$t" "$(printf '%q ' "$@")" >>"$CMDS"
}

# mark_na SECTION CASE TOOL WHY: the tool cannot do this case; later runs skip it.
mark_na() {
    NOT_POSSIBLE[$1/$2/$3]=1
    printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$NA"
    note "$1 $2 $3: n/a ($4)"
}

skip() { [[ -n ${NOT_POSSIBLE[$1/$2/$3]:-} ]]; }

# run_cmd SECTION CASE TOOL SECONDS COMMAND...: runs COMMAND in $NS under GNU time,
# bounded; stdout in $RUN_OUT, its stderr in $OUT/stderr.tmp, "%e %U %S %M" (wall s,
# user s, system s, peak RSS kB) in $RUN_TIME. Non-zero on failure, with $RUN_ERR.
run_cmd() {
    local s=$1 c=$2 t=$3 limit=$4
    shift 4
    local cmd=(ip netns exec "$NS" "$@")
    remember_cmd "$s" "$c" "$t" "${cmd[@]}"
    if RUN_OUT=$(timeout "$limit" ip netns exec "$NS" /usr/bin/time -f '%e %U %S %M' \
        -o "$OUT/time.tmp" "$@" 2>"$OUT/stderr.tmp"); then
        RUN_TIME=$(tail -n 1 "$OUT/time.tmp")
        return 0
    fi
    RUN_ERR=$(grep -v '^Command exited' "$OUT/stderr.tmp" | tail -n 1)
    [[ -n $RUN_ERR ]] || RUN_ERR="exit status $(head -n 1 "$OUT/time.tmp" 2>/dev/null)"
    return 1
}

# rotate N ITEMS...: ITEMS starting at index N mod count (a different order each run).
rotate() {
    local n=$1
    shift
    local items=("$@") i k
    k=${#items[@]}
    for ((i = 0; i < k; i++)); do echo "${items[(n + i) % k]}"; done
}

# --- 1. connections per second ----------------------------------------------------

# The tools of a connection case: no pipelined limit against microsocks, which loses
# pipelined requests (it would hang connrate); socksify both ways there.
conns_tools() {
    if [[ $1 == dante-* ]]; then
        echo direct limit limit-pipelined socksify proxychains4 dante torsocks
    else
        echo direct limit socksify socksify-np proxychains4 dante torsocks
    fi
}

conns_case() {
    local case=$1 run=$2 port host tool rate u s
    port=$SFY_PORT_DANTE
    [[ $case == micro-* ]] && port=$SFY_PORT_MICRO
    host=$DEST
    [[ $case == *-name ]] && host=$NAME
    # shellcheck disable=SC2046
    for tool in $(rotate "$run" $(conns_tools "$case")); do
        skip conns "$case" "$tool" && continue
        set_wrap "$tool" "$port"
        local args=("$host" "$PORT_ECHO" "$CONNS")
        [[ $tool == limit* ]] && args+=("$PROXY" "$port")
        local envs=()
        [[ $tool == limit-pipelined ]] && envs=(env CONNRATE_PIPELINE=1)
        if ! run_cmd conns "$case" "$tool" 300 "${envs[@]}" "${WRAP[@]}" "$B/connrate" "${args[@]}"; then
            mark_na conns "$case" "$tool" "$RUN_ERR"
            continue
        fi
        rate=${RUN_OUT%% *}
        read -r _ u s _ <<<"$RUN_TIME"
        record conns "$case" "$tool" "$run" "$rate"
        record conns_cpu "$case" "$tool" "$run" "$(awk -v u="$u" -v s="$s" -v n="$CONNS" \
            'BEGIN { printf "%.1f", (u + s) * 1e6 / n }')"
    done
}

# The native-limit targets: socksify and its limit (pipelined against Dante, as socksify
# is there; stepwise against microsocks, as socksify learns to be) alternate PAIRS times
# per case and run, one right after the other, so each ratio compares two runs seconds
# apart. One pair per run was not enough here: adjacent runs of one tool differ by up to
# 12%, and five ratios left the median a few percent off either way.
conns_pairs() {
    local case=$1 run=$2 port host limit k tool rate
    port=$SFY_PORT_DANTE limit=limit-pipelined
    [[ $case == micro-* ]] && port=$SFY_PORT_MICRO limit=limit
    host=$DEST
    [[ $case == *-name ]] && host=$NAME
    for ((k = 1; k <= PAIRS; k++)); do
        for tool in socksify "$limit"; do
            skip conns "$case" "$tool" && continue
            set_wrap "$tool" "$port"
            local args=("$host" "$PORT_ECHO" "$CONNS") envs=()
            [[ $tool == limit* ]] && args+=("$PROXY" "$port")
            [[ $tool == limit-pipelined ]] && envs=(env CONNRATE_PIPELINE=1)
            run_cmd conns_pair "$case" "$tool" 300 "${envs[@]}" "${WRAP[@]}" "$B/connrate" "${args[@]}" ||
                continue
            rate=${RUN_OUT%% *}
            record conns_pair "$case" "$tool" "$run.$k" "$rate"
        done
    done
}

# --- 2. start-up ----------------------------------------------------------------------

startup_round() {
    local run=$1 d=$OUT/dante-$SFY_PORT_DANTE.conf t=$OUT/torsocks-$SFY_PORT_DANTE.conf
    local pc=$OUT/proxychains-$SFY_PORT_DANTE.conf url=socks5h://$PROXY:$SFY_PORT_DANTE
    local cmds=(
        bare "/bin/true"
        socksify "$SFY -x $url -- /bin/true"
        proxychains4 "proxychains4 -q -f $pc /bin/true"
        dante "/usr/bin/socksify /bin/true"
        torsocks "torsocks /bin/true"
        env "env SFYB=1 /bin/true"
        lib-socksify "env LD_PRELOAD=$ROOT/$LIB SOCKSIFY_PROXY=$url /bin/true"
        lib-proxychains4 "env LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libproxychains.so.4 PROXYCHAINS_CONF_FILE=$pc PROXYCHAINS_QUIET_MODE=1 /bin/true"
        lib-dante "env LD_PRELOAD=libdsocksd.so.0 /bin/true"
        lib-torsocks "env LD_PRELOAD=/usr/lib/x86_64-linux-gnu/torsocks/libtorsocks.so /bin/true"
    )
    local args=() i
    for ((i = 0; i < ${#cmds[@]}; i += 2)); do
        args+=(-n "${cmds[i]}" "${cmds[i + 1]}")
        ((run == 1)) && printf 'startup\t-\t%s\tSOCKS_CONF=%s TORSOCKS_CONF_FILE=%s hyperfine -N: %s\n' \
            "${cmds[i]}" "$d" "$t" "${cmds[i + 1]}" >>"$CMDS"
    done
    # Dante's and torsocks' launchers take their configuration from the environment.
    SOCKS_CONF=$d TORSOCKS_CONF_FILE=$t timeout 600 hyperfine -N --style none \
        --warmup 20 --runs "$HF_RUNS" --export-csv "$OUT/startup-$run.csv" "${args[@]}" \
        >"$OUT/startup-$run.log" 2>&1 || die "hyperfine failed; see $OUT/startup-$run.log"
    # command,mean,stddev,median,user,system,min,max (seconds)
    awk -F, -v run="$run" 'NR > 1 { printf "startup\t-\t%s\t%s\t%.4f\n", $1, run, $4 * 1000 }' \
        "$OUT/startup-$run.csv" >>"$RAW"
}

# --- 3. bulk TCP ----------------------------------------------------------------------

bulk_cmd() {
    set_wrap "$1" "$SFY_PORT_DANTE"
    BULK=("${WRAP[@]}" nc -d "$DEST" "$PORT_BULK")
    [[ $1 == nc-proxy ]] && BULK=(nc -X 5 -x "$PROXY:$SFY_PORT_DANTE" -d "$DEST" "$PORT_BULK")
    return 0
}

# Once per tool: the whole stream arrives (nc exits 0 on a short stream too).
bulk_check() {
    local tool=$1 got
    bulk_cmd "$tool"
    got=$(timeout 120 ip netns exec "$NS" "${BULK[@]}" 2>/dev/null | wc -c) || true
    [[ $got == "$BULK_BYTES" ]] || mark_na bulk - "$tool" "received $got of $BULK_BYTES bytes"
}

bulk_run() {
    local run=$1 tool t0 t1
    for tool in $(rotate "$run" direct nc-proxy socksify proxychains4 dante torsocks); do
        skip bulk - "$tool" && continue
        bulk_cmd "$tool"
        remember_cmd bulk - "$tool" ip netns exec "$NS" "${BULK[@]}"
        t0=$(date +%s%N)
        if ! timeout 120 ip netns exec "$NS" /usr/bin/time -f '%U %S' -o "$OUT/time.tmp" \
            "${BULK[@]}" >/dev/null 2>"$OUT/stderr.tmp"; then
            mark_na bulk - "$tool" "$(tail -n 1 "$OUT/stderr.tmp")"
            continue
        fi
        t1=$(date +%s%N)
        record bulk - "$tool" "$run" "$(awk -v b="$BULK_BYTES" -v ns=$((t1 - t0)) \
            'BEGIN { printf "%.1f", b / 1048576 / (ns / 1e9) }')"
        record bulk_cpu - "$tool" "$run" "$(awk -v b="$BULK_BYTES" '{ printf "%.0f", ($1 + $2) * 1000 / (b / 1073741824) }' \
            "$OUT/time.tmp")"
    done
}

# --- 4. UDP round trips -----------------------------------------------------------------

udp_run() {
    local run=$1 tool
    for tool in $(rotate "$run" direct limit socksify dante proxychains4 torsocks); do
        skip udp - "$tool" && continue
        set_wrap "$tool" "$SFY_PORT_DANTE"
        local args=("$DEST" "$PORT_ECHO" "$UDP_RTS") u s
        [[ $tool == limit ]] && args+=("$PROXY" "$SFY_PORT_DANTE")
        if ! run_cmd udp - "$tool" 120 "${WRAP[@]}" "$B/udprate" "${args[@]}"; then
            mark_na udp - "$tool" "$RUN_ERR"
            continue
        fi
        record udp - "$tool" "$run" "${RUN_OUT%% *}"
        read -r _ u s _ <<<"$RUN_TIME"
        record udp_cpu - "$tool" "$run" "$(awk -v u="$u" -v s="$s" -v n="$UDP_RTS" \
            'BEGIN { printf "%.2f", (u + s) * 1e6 / n }')"
    done
}

# --- 5. per-call cost on fds the tool does not own ----------------------------------------

dd_run() {
    local run=$1 tool secs
    for tool in $(rotate "$run" bare socksify proxychains4 dante torsocks); do
        skip dd - "$tool" && continue
        set_wrap "$tool" "$SFY_PORT_DANTE"
        if ! run_cmd dd - "$tool" 300 "${WRAP[@]}" env LC_ALL=C dd if=/dev/zero of=/dev/null \
            bs=1 count="$DD_COUNT"; then
            mark_na dd - "$tool" "$RUN_ERR"
            continue
        fi
        secs=$(awk '/copied/ { print $(NF - 3) }' "$OUT/stderr.tmp")
        record dd - "$tool" "$run" "$secs"
    done
}

# --- 6. peak RSS --------------------------------------------------------------------------

rss_run() {
    local run=$1 tool
    for tool in $(rotate "$run" bare socksify proxychains4 dante torsocks); do
        set_wrap "$tool" "$SFY_PORT_DANTE"
        if ! skip rss_time - "$tool"; then
            if run_cmd rss_time - "$tool" 30 "${WRAP[@]}" sleep 0.1; then
                record rss_time - "$tool" "$run" "${RUN_TIME##* }"
            else
                mark_na rss_time - "$tool" "$RUN_ERR"
            fi
        fi
        local c args
        for c in idle ip name; do
            skip rss "$c" "$tool" && continue
            args=()
            [[ $c == ip ]] && args=("$DEST" "$PORT_ECHO")
            [[ $c == name ]] && args=("$NAME" "$PORT_ECHO")
            # Without a socksifier the destination is only reachable from the proxy side.
            [[ $tool == bare && $c != idle ]] && set_wrap direct "$SFY_PORT_DANTE"
            if run_cmd rss "$c" "$tool" 30 "${WRAP[@]}" "$B/peakrss" "${args[@]}"; then
                record rss "$c" "$tool" "$run" "${RUN_OUT%% *}"
            else
                mark_na rss "$c" "$tool" "$RUN_ERR"
            fi
            set_wrap "$tool" "$SFY_PORT_DANTE"
        done
    done
}

# --- profile: system calls per operation ---------------------------------------------

# count_calls TAG TOOL N COMMAND-WITH-@N@...: system calls strace -f -c counts for
# COMMAND, run under TOOL against Dante (microsocks for a micro-* TAG) in the client
# namespace with @N@ replaced by N; the counts stay in $OUT/strace-TAG-TOOL-N.txt.
count_calls() {
    local tag=$1 tool=$2 n=$3 f port=$SFY_PORT_DANTE
    shift 3
    [[ $tag == micro-* ]] && port=$SFY_PORT_MICRO
    set_wrap "$tool" "$port"
    f=$OUT/strace-$tag-$tool-$n.txt
    local cmd=("${@//@N@/$n}")
    timeout 300 ip netns exec "$NS" strace -f -c -o "$f" "${WRAP[@]}" "${cmd[@]}" \
        >/dev/null 2>&1 || return 1
    awk '$NF == "total" { print $4 }' "$f"
}

# profile SECTION CASE TOOL COMMAND-WITH-@N@...: calls per operation, from the
# difference between 3×PROFILE_N and PROFILE_N operations (start-up cancels out).
profile() {
    local s=$1 c=$2 t=$3 a b
    shift 3
    a=$(count_calls "$c" "$t" "$PROFILE_N" "$@") &&
        b=$(count_calls "$c" "$t" $((3 * PROFILE_N)) "$@") || return 0
    record "$s" "$c" "$t" 1 "$(awk -v a="$a" -v b="$b" -v d=$((2 * PROFILE_N)) \
        'BEGIN { printf "%.1f", (b - a) / d }')"
}

# strace counts every call, so these figures do not depend on the machine's load.
syscalls_profile() {
    local case host tool envs port tools
    for case in dante-ip dante-name micro-ip micro-name; do
        host=$DEST
        [[ $case == *-name ]] && host=$NAME
        port=$SFY_PORT_DANTE
        tools="limit limit-pipelined socksify socksify-np proxychains4 dante torsocks"
        if [[ $case == micro-* ]]; then
            port=$SFY_PORT_MICRO
            tools="limit socksify socksify-np proxychains4"
        fi
        for tool in $tools; do
            skip conns "$case" "$tool" && continue
            local args=("$host" "$PORT_ECHO" @N@)
            [[ $tool == limit* ]] && args+=("$PROXY" "$port")
            envs=()
            [[ $tool == limit-pipelined ]] && envs=(env CONNRATE_PIPELINE=1)
            profile syscalls "$case" "$tool" "${envs[@]}" "$B/connrate" "${args[@]}"
        done
    done
    for tool in limit socksify dante; do
        skip udp - "$tool" && continue
        local args=("$DEST" "$PORT_ECHO" @N@)
        [[ $tool == limit ]] && args+=("$PROXY" "$SFY_PORT_DANTE")
        profile syscalls udp "$tool" "$B/udprate" "${args[@]}"
    done
    # dd bs=1: one read and one write per byte.
    for tool in bare socksify proxychains4 dante torsocks; do
        profile syscalls dd "$tool" env LC_ALL=C dd if=/dev/zero of=/dev/null bs=1 count=@N@
    done
}

# --- summary ----------------------------------------------------------------------------

# Medians on stdin (one number a line): prints the median, or nothing.
median_of() {
    sort -g | awk '{ a[NR] = $1 } END {
        if (NR == 0) exit
        print NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# median SECTION CASE TOOL: the median of the recorded runs, or nothing.
median() {
    awk -F'\t' -v s="$1" -v c="$2" -v t="$3" '$1 == s && $2 == c && $3 == t { print $5 }' \
        "$RAW" | median_of
}

# paired_values SECTION CASE A B ratio|diff: A/B (or A-B) for every run that has both,
# each run's A against the same run's B. The host's speed drifts (2x between its quiet
# and busy periods here) and tools measured seconds apart see the same conditions, so
# statistics of these are steadier than ratios of medians.
paired_values() {
    awk -F'\t' -v s="$1" -v c="$2" -v a="$3" -v b="$4" -v op="$5" '
        $1 == s && $2 == c && $3 == a { va[$4] = $5 }
        $1 == s && $2 == c && $3 == b { vb[$4] = $5 }
        END {
            for (r in va)
                if (r in vb && (op == "diff" || vb[r] != 0))
                    print op == "ratio" ? va[r] / vb[r] : va[r] - vb[r]
        }' "$RAW"
}

# paired SECTION CASE A B ratio|diff: the median of the per-run values.
paired() { paired_values "$@" | median_of; }

# paired_range SECTION CASE A B ratio|diff DECIMALS: "min–max" of the per-run values.
paired_range() {
    paired_values "$1" "$2" "$3" "$4" "$5" | sort -g |
        awk -v d="$6" 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) printf "%.*f–%.*f", d, lo, d, hi }'
}

# fmt VALUE DECIMALS: a number, or "n/a".
fmt() { [[ -n $1 ]] && awk -v v="$1" -v d="$2" 'BEGIN { printf "%.*f", d, v }' || echo "n/a"; }
# by VALUE: "1.23×", or "–".
by() { [[ -n $1 ]] && awk -v v="$1" 'BEGIN { printf "%.2f×", v }' || echo "–"; }
# signed VALUE DECIMALS: "+1.2", or "n/a".
signed() { [[ -n $1 ]] && awk -v v="$1" -v d="$2" 'BEGIN { printf "%+.*f", d, v }' || echo "n/a"; }

na_reason() {
    awk -F'\t' -v s="$1" -v c="$2" -v t="$3" '$1 == s && $2 == c && $3 == t { print $4; exit }' "$NA"
}

label() {
    case $1 in
        direct) echo "direct, no proxy (proxy side)" ;;
        limit) echo "**limit**: speaks SOCKS5 itself, one message per round trip" ;;
        limit-pipelined) echo "limit, pipelined (CONNRATE_PIPELINE=1)" ;;
        socksify) echo "**socksify**" ;;
        socksify-np) echo "**socksify --no-pipeline**" ;;
        nc-proxy) echo "**direct through proxy**: nc -X 5 -x" ;;
        *) echo "$1" ;;
    esac
}

summary_conns() {
    local case tool v sfy
    echo "### 1. Connections per second (connect → 1-byte echo → close)"
    echo
    echo "$CONNS sequential connections per run (\`build/bench/connrate\`) to build/bench/echosrv"
    echo "on $DEST:$PORT_ECHO, by IP and by name (\`$NAME\`, resolved with getaddrinfo before"
    echo "every connection; the limit sends the name to the proxy instead). conns/s: median of"
    echo "$RUNS runs. × limit and socksify ÷ (socksify's rate over the row's; with microsocks,"
    echo "socksify --no-pipeline's): medians of the per-run ratios. CPU: the client's user+system"
    echo "time per connection (GNU time, 10 ms resolution), median."
    echo
    for case in dante-ip dante-name micro-ip micro-name; do
        local proxy="Dante sockd :$SFY_PORT_DANTE" how="by IP"
        [[ $case == micro-* ]] && proxy="microsocks :$SFY_PORT_MICRO"
        [[ $case == *-name ]] && how="by name"
        sfy=socksify
        [[ $case == micro-* ]] && sfy=socksify-np
        echo "**$proxy, $how**"
        echo
        echo "| tool | conns/s | × limit | socksify ÷ | CPU µs/conn |"
        echo "| --- | ---: | ---: | ---: | ---: |"
        for tool in $(conns_tools "$case"); do
            v=$(median conns "$case" "$tool")
            if [[ -z $v ]]; then
                echo "| $(label "$tool") | n/a: $(na_reason conns "$case" "$tool") | | | |"
                continue
            fi
            echo "| $(label "$tool") | $(fmt "$v" 0) | $(by "$(paired conns "$case" "$tool" limit ratio)")" \
                "| $(by "$(paired conns "$case" "$sfy" "$tool" ratio)")" \
                "| $(fmt "$(median conns_cpu "$case" "$tool")" 1) |"
        done
        echo
    done
}

summary_startup() {
    local tool base
    echo "### 2. Start-up: \`X /bin/true\`"
    echo
    echo "hyperfine -N, $HF_RUNS runs after 20 warm-ups per command and round, $RUNS rounds."
    echo "ms: the median of the rounds' medians; over bare: the median of the rounds'"
    echo "differences. The lib-* rows preload the library alone (\`env LD_PRELOAD=… /bin/true\`,"
    echo "no launcher) and are compared with \`env SFYB=1 /bin/true\`."
    echo
    echo "| command | ms | ms over bare | × socksify's |"
    echo "| --- | ---: | ---: | ---: |"
    for tool in bare socksify proxychains4 dante torsocks env lib-socksify lib-proxychains4 lib-dante lib-torsocks; do
        base=bare
        [[ $tool == lib-* ]] && base="env"
        local sfy=socksify
        [[ $tool == lib-* || $tool == env ]] && sfy=lib-socksify
        echo "| $(label "$tool") | $(fmt "$(median startup - "$tool")" 3)" \
            "| $(signed "$(paired startup - "$tool" "$base" diff)" 3)" \
            "| $(by "$(paired startup - "$tool" "$sfy" ratio)") |"
    done
    echo
}

summary_bulk() {
    local tool v
    echo "### 3. Bulk TCP: $BULK_MIB MiB through Dante"
    echo
    echo "build/bench/bulksrv on $DEST:$PORT_BULK writes $BULK_MIB MiB; \`nc -d\` reads it to"
    echo "/dev/null under each tool (each stream's length checked once). Wall time of the whole"
    echo "nc process; MiB/s median of $RUNS runs, ratios medians of per-run ratios; CPU: nc's"
    echo "user+system time (GNU time), median."
    echo
    echo "| tool | MiB/s | × direct through proxy | socksify ÷ | client CPU ms/GiB |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    for tool in direct nc-proxy socksify proxychains4 dante torsocks; do
        v=$(median bulk - "$tool")
        if [[ -z $v ]]; then
            echo "| $(label "$tool") | n/a: $(na_reason bulk - "$tool") | | | |"
            continue
        fi
        echo "| $(label "$tool") | $(fmt "$v" 0) | $(by "$(paired bulk - "$tool" nc-proxy ratio)")" \
            "| $(by "$(paired bulk - socksify "$tool" ratio)") | $(fmt "$(median bulk_cpu - "$tool")" 0) |"
    done
    echo
}

summary_udp() {
    local tool v name
    echo "### 4. UDP echo round trips per second through Dante"
    echo
    echo "$UDP_RTS round trips of 32 bytes per run (\`build/bench/udprate\`), one in flight, to"
    echo "build/bench/echosrv's UDP echo on $DEST:$PORT_ECHO. Median of $RUNS runs, ratios"
    echo "medians of per-run ratios; CPU: client user+system time per round trip."
    echo
    echo "| tool | round trips/s | × limit | socksify ÷ | CPU µs/rt |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    for tool in direct limit socksify dante proxychains4 torsocks; do
        v=$(median udp - "$tool")
        name=$(label "$tool")
        [[ $tool == limit ]] && name="**limit**: udprate speaks SOCKS5 UDP itself"
        if [[ -z $v ]]; then
            echo "| $name | n/a: $(na_reason udp - "$tool") | | | |"
            continue
        fi
        echo "| $name | $(fmt "$v" 0) | $(by "$(paired udp - "$tool" limit ratio)")" \
            "| $(by "$(paired udp - socksify "$tool" ratio)")" \
            "| $(fmt "$(median udp_cpu - "$tool")" 2) |"
    done
    echo
}

summary_dd() {
    local tool per
    echo "### 5. Per-call cost on fds the tool does not own"
    echo
    echo "\`dd if=/dev/zero of=/dev/null bs=1 count=$DD_COUNT\` ($((DD_COUNT * 2)) read and write"
    echo "calls); the time dd itself reports, median of $RUNS runs; ratios and differences are"
    echo "medians of per-run ones."
    echo
    echo "| tool | s | × bare | ns per call over bare | × socksify's |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    for tool in bare socksify proxychains4 dante torsocks; do
        per=$(paired dd - "$tool" bare diff)
        [[ -n $per ]] && per=$(awk -v d="$per" -v n=$((DD_COUNT * 2)) 'BEGIN { print d * 1e9 / n }')
        echo "| $(label "$tool") | $(fmt "$(median dd - "$tool")" 3) | $(by "$(paired dd - "$tool" bare ratio)")" \
            "| $(signed "$per" 1) | $(by "$(paired dd - "$tool" socksify ratio)") |"
    done
    echo
}

summary_rss() {
    local tool c row
    echo "### 6. Peak RSS added to a small program"
    echo
    echo "GNU time %M of \`X sleep 0.1\` (the larger of the launcher and the program), and"
    echo "build/bench/peakrss's own VmHWM: idle, and after one connection by IP and by name"
    echo "through Dante (bare: direct, from the proxy side). kB: median of $RUNS runs; added:"
    echo "median of the per-run differences to bare."
    echo
    echo "| tool | time %M kB | added | VmHWM idle | added | after 1 conn by IP | added | by name | added |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for tool in bare socksify proxychains4 dante torsocks; do
        row="| $(label "$tool") | $(fmt "$(median rss_time - "$tool")" 0) | $(signed "$(paired rss_time - "$tool" bare diff)" 0)"
        for c in idle ip name; do
            if [[ -z $(median rss "$c" "$tool") ]]; then
                row+=" | n/a | "
            else
                row+=" | $(fmt "$(median rss "$c" "$tool")" 0) | $(signed "$(paired rss "$c" "$tool" bare diff)" 0)"
            fi
        done
        echo "$row |"
    done
    echo
}

summary_syscalls() {
    local tool a b
    echo "### Profile: system calls (strace -f -c; $((3 * PROFILE_N)) operations minus $PROFILE_N, over $((2 * PROFILE_N)))"
    echo
    echo "| tool | per connection through Dante, by IP | by name | through microsocks, by IP | by name |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    local c d
    for tool in limit limit-pipelined socksify socksify-np proxychains4 dante torsocks; do
        a=$(median syscalls dante-ip "$tool")
        b=$(median syscalls dante-name "$tool")
        c=$(median syscalls micro-ip "$tool")
        d=$(median syscalls micro-name "$tool")
        [[ -z $a && -z $b && -z $c && -z $d ]] && continue
        echo "| $(label "$tool") | ${a:-n/a} | ${b:-n/a} | ${c:-n/a} | ${d:-n/a} |"
    done
    echo
    echo "| tool | per UDP round trip |"
    echo "| --- | ---: |"
    for tool in limit socksify dante; do
        a=$(median syscalls udp "$tool")
        [[ -n $a ]] || continue
        if [[ $tool == limit ]]; then
            echo "| udprate speaking SOCKS5 UDP itself | $a |"
        else
            echo "| $(label "$tool") | $a |"
        fi
    done
    echo
    echo "| tool | per byte of dd bs=1 (a read and a write) |"
    echo "| --- | ---: |"
    for tool in bare socksify proxychains4 dante torsocks; do
        a=$(median syscalls dd "$tool")
        [[ -n $a ]] && echo "| $(label "$tool") | $a |"
    done
    echo
}

summary_targets() {
    echo "### socksify against the targets of issues 6 and 15"
    echo
    echo "Medians of per-run ratios (differences for time and memory), and their range over"
    echo "the $RUNS runs; the native-limit rows take the $((RUNS * PAIRS)) socksify/limit pairs"
    echo "($PAIRS a run, each pair's two runs back to back) instead."
    echo
    echo "| target | measured | runs' range | met |"
    echo "| --- | ---: | ---: | --- |"
    target() { # TEXT SECTION CASE A B ratio|diff >=|<= THRESHOLD DECIMALS
        local v met
        v=$(paired "$2" "$3" "$4" "$5" "$6")
        met=$(awk -v v="$v" -v t="$8" -v c="$7" 'BEGIN {
            if (v == "") { print "n/a"; exit }
            ok = c == ">=" ? v + 0 >= t + 0 : v + 0 <= t + 0
            print ok ? "yes" : "**no**" }')
        echo "| $1 | $(fmt "$v" "$9") | $(paired_range "$2" "$3" "$4" "$5" "$6" "$9") | $met |"
    }
    # Against Dante socksify pipelines by default, as does the pipelined limit.
    target "conns/s by IP ≥ 0.97× limit (Dante, both pipelined)" \
        conns_pair dante-ip socksify limit-pipelined ratio ">=" 0.97 3
    target "conns/s by name ≥ 0.95× limit (Dante, both pipelined)" \
        conns_pair dante-name socksify limit-pipelined ratio ">=" 0.95 3
    target "conns/s by IP ≥ 0.97× limit (Dante, socksify pipelined, limit stepwise)" \
        conns dante-ip socksify limit ratio ">=" 0.97 3
    target "conns/s by name ≥ 0.95× limit (Dante, socksify pipelined, limit stepwise)" \
        conns dante-name socksify limit ratio ">=" 0.95 3
    # Default settings on microsocks too: the launcher finds it drops pipelined bytes
    # and goes one message per round trip, as the (stepwise) limit does.
    target "conns/s by IP ≥ 0.97× limit (microsocks, default settings)" \
        conns_pair micro-ip socksify limit ratio ">=" 0.97 3
    target "conns/s by name ≥ 0.95× limit (microsocks, default settings)" \
        conns_pair micro-name socksify limit ratio ">=" 0.95 3
    # Issue 15: against the tool users pick instead, by name, default settings.
    target "conns/s by name ≥ 1.2× proxychains4 (Dante)" \
        conns dante-name socksify proxychains4 ratio ">=" 1.2 3
    target "conns/s by name ≥ 1.2× proxychains4 (microsocks)" \
        conns micro-name socksify proxychains4 ratio ">=" 1.2 3
    target "start-up ≤ 0.3 ms over bare, launcher (ms)" startup - socksify bare diff "<=" 0.3 3
    target "start-up ≤ 0.3 ms over bare, library alone (ms)" \
        startup - lib-socksify env diff "<=" 0.3 3
    target "dd bs=1 ≤ 1.02× bare" dd - socksify bare ratio "<=" 1.02 3
    target "UDP ≥ 0.9× limit" udp - socksify limit ratio ">=" 0.9 3
    target "UDP ≥ 1.5× Dante" udp - socksify dante ratio ">=" 1.5 3
    target "bulk equal to direct through proxy (≥ 0.97×)" bulk - socksify nc-proxy ratio ">=" 0.97 3
    target "≤ 1 MiB RSS added: VmHWM after 1 connection by name (kB)" \
        rss name socksify bare diff "<=" 1024 0
    target "≤ 1 MiB RSS added: time %M, launcher included (kB)" \
        rss_time - socksify bare diff "<=" 1024 0
    echo
}

version_of() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "not installed"; }

summary_header() {
    local rev
    rev=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
    echo "Generated by \`scripts/bench-peers.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); raw numbers in"
    echo "\`build/bench-peers/\` (raw.tsv: section, case, tool, run, value)."
    echo
    echo "- Machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)," \
        "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r)"
    echo "- Load average at start / end: $LOAD_START / $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- socksify $rev; proxychains4 $(version_of proxychains4), dante-client" \
        "$(version_of dante-client) (libdsocksd0 $(version_of libdsocksd0)), torsocks" \
        "$(version_of torsocks); proxies: dante-server $(version_of dante-server), microsocks" \
        "$(version_of microsocks); hyperfine $(version_of hyperfine), netcat-openbsd" \
        "$(version_of netcat-openbsd)"
    echo "- Test world \`$SFY_WORLD_NAME\` (scripts/world.sh): client namespace $NS_C with no route to"
    echo "  $DEST; Dante sockd on $PROXY:$SFY_PORT_DANTE, microsocks on $PROXY:$SFY_PORT_MICRO;"
    echo "  tcp_tw_reuse=1, ip_local_port_range 1024–65000 and at most 64 sockets in TIME_WAIT in both namespaces."
    echo "- $RUNS runs of everything; within a run the tools take turns, in a rotated order."
    echo
}

summary_commands() {
    echo "### Commands"
    echo
    echo "The first run's command lines (relative to the repository; configurations in"
    echo "\`build/bench-peers/\`). The system-call profile runs the conns (Dante), udp and dd"
    echo "commands under \`strace -f -c\` with $PROFILE_N and $((3 * PROFILE_N)) operations."
    echo
    echo '```'
    sort -s -t $'\t' -k1,2 "$CMDS" | awk -F'\t' '{ printf "%s %s %s: %s\n", $1, $2, $3, $4 }'
    echo '```'
    echo
    echo "Configurations:"
    echo
    local f
    for f in proxychains-$SFY_PORT_DANTE.conf dante-$SFY_PORT_DANTE.conf torsocks-$SFY_PORT_DANTE.conf; do
        echo "\`$OUT/$f\`:"
        echo '```'
        cat "$OUT/$f"
        echo '```'
    done
    echo
}

write_summary() {
    {
        summary_header
        summary_targets
        summary_conns
        summary_startup
        summary_bulk
        summary_udp
        summary_dd
        summary_rss
        summary_syscalls
        summary_commands
    } >"$OUT/summary.md"
}

# Replaces the text between the markers of docs/BENCHMARKS.md (appends them when absent).
update_doc() {
    local doc=docs/BENCHMARKS.md begin='<!-- bench-peers:begin -->' end='<!-- bench-peers:end -->'
    mkdir -p docs
    [[ -f $doc ]] || printf '# Benchmarks\n' >"$doc"
    if ! grep -qF "$begin" "$doc"; then
        printf '\n## Side by side with the peers (scripts/bench-peers.sh)\n\n%s\n%s\n' \
            "$begin" "$end" >>"$doc"
    fi
    awk -v b="$begin" -v e="$end" -v f="$OUT/summary.md" '
        $0 == b { print; while ((getline line < f) > 0) print line; skipping = 1; next }
        $0 == e { skipping = 0 }
        !skipping { print }' "$doc" >"$doc.tmp"
    mv "$doc.tmp" "$doc"
}

# --- main -------------------------------------------------------------------------------

main() {
    ((EUID == 0)) || die "must run as root (network namespaces)"
    mkdir -p "$OUT"
    install_peers
    note "building"
    make -s all "$B/connrate" "$B/udprate" "$B/echosrv" "$B/bulksrv" "$B/peakrss" >/dev/null
    rm -f "$RAW" "$NA" "$CMDS" "$OUT"/startup-*.csv "$OUT"/strace-*.txt
    : >"$RAW"
    : >"$NA"
    : >"$CMDS"
    LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
    write_configs
    start_world
    local tool run case
    for tool in direct nc-proxy socksify proxychains4 dante torsocks; do bulk_check "$tool"; done
    for ((run = 1; run <= RUNS; run++)); do
        note "run $run of $RUNS"
        for case in $(rotate "$run" dante-ip dante-name micro-ip micro-name); do
            conns_case "$case" "$run"
            conns_pairs "$case" "$run"
        done
        startup_round "$run"
        bulk_run "$run"
        udp_run "$run"
        dd_run "$run"
        rss_run "$run"
    done
    note "profiling system calls"
    syscalls_profile
    write_summary
    ((WRITE_DOC)) && update_doc
    note "done: $OUT/summary.md$( ((WRITE_DOC)) && echo ", docs/BENCHMARKS.md")"
}

main
