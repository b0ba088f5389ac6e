# Shared helpers for tests/integration/*.sh: result lines, bounded runs, the test
# world's names and addresses. Sourced by a test script, never run on its own.
# Every test prints one line: "PASS <name>", "FAIL <name>: <why>" or "SKIP <name>: <why>";
# scripts/run-tests.sh counts them.
# shellcheck shell=bash disable=SC2034

SFY_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/world-env.sh
source "$SFY_ROOT/scripts/world-env.sh"

SFY_WORLD=$SFY_ROOT/build/$SFY_WORLD_SUBDIR
SFY_LOG=$SFY_WORLD/log
# SOCKSIFY_BIN runs the tests against another launcher (an installed one, say).
SOCKSIFY=${SOCKSIFY_BIN:-$SFY_ROOT/build/bin/socksify}
# The probes, servers and clients the test scripts run (tests by role: scripts here,
# programs there).
PROGRAMS=$SFY_ROOT/tests/programs
PROBE=$PROGRAMS/probe.py
# Debian's interpreter, not whatever a user's PATH puts first.
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)

# The tests choose every setting themselves: nothing from the caller's environment.
unset SOCKSIFY_PROXY SOCKSIFY_PASSWORD SOCKSIFY_DIRECT SOCKSIFY_TIMEOUT SOCKSIFY_PIPELINE \
    SOCKSIFY_LOG SOCKSIFY_SHM SOCKSIFY_STALL_MS SOCKSIFY_DNS SOCKSIFY_DNS_TCP SOCKSIFY_UDP \
    SOCKSIFY_FAKE_NET SOCKSIFY_FAKE_NET6 SOCKSIFY_STRICT SOCKSIFY_POLICY SOCKSIFY_DEFAULT_DENY \
    SOCKSIFY_AUDIT SOCKSIFY_CONFIG SOCKSIFY_SUPERVISOR SOCKSIFY_TEST_OLD_KERNEL LD_PRELOAD \
    ALL_PROXY all_proxy http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy NO_PROXY
# Nor from this machine's ~/.config/socksify/config or /etc/socksify.conf: an empty file.
export SOCKSIFY_CONFIG=/dev/null

SUITE=$(basename "$0" .sh)
_sfy_failed=0

pass() { echo "PASS $SUITE/$1"; }
fail() {
    echo "FAIL $SUITE/$1: $2"
    _sfy_failed=1
}
skip() { echo "SKIP $SUITE/$1: $2"; }

# Ends the script: non-zero when a test failed (the lines above already say which).
finish() { exit "$_sfy_failed"; }

# Command prefixes, as functions for direct use and as arrays for run/timeout.
in_client() { ip netns exec "$SFY_NS_CLIENT" "$@"; }
in_proxy() { ip netns exec "$SFY_NS_PROXY" "$@"; }
IN_CLIENT=(ip netns exec "$SFY_NS_CLIENT")
IN_PROXY=(ip netns exec "$SFY_NS_PROXY")
SFY=(ip netns exec "$SFY_NS_CLIENT" "$SOCKSIFY")  # the launcher in the client namespace

# One line, at most 300 bytes, for a FAIL reason.
oneline() {
    local s
    s=$(printf '%s' "$1" | tr '\n\t' '  ' | tr -s ' ')
    ((${#s} > 300)) && s="${s:0:300}..."
    printf '%s' "$s"
}

SFY_TMP=""
# Makes SFY_TMP, a scratch directory for this script that is removed at exit.
ensure_scratch() {
    [[ -n $SFY_TMP ]] && return 0
    mkdir -p "$SFY_WORLD"
    SFY_TMP=$(mktemp -d "$SFY_WORLD/tmp.$SUITE.XXXXXX")
    trap 'rm -rf "$SFY_TMP"' EXIT
}

# Logs of the world's servers that tests read: the part written since the last run
# started is what that run caused (log_new).
SFY_WATCHED_LOGS=(client-dns proxy-dns udpecho udpecho-local)
declare -A SFY_LOG_MARK=()

# mark_logs: remembers where each watched log ends now (run does this itself).
mark_logs() {
    local name size
    for name in "${SFY_WATCHED_LOGS[@]}"; do
        size=$(stat -c %s "$SFY_LOG/$name.log" 2>/dev/null) || size=0
        SFY_LOG_MARK[$name]=$size
    done
}

# log_new NAME: what build/world/log/NAME.log got since the last mark_logs (or run).
log_new() {
    tail -c +"$((${SFY_LOG_MARK[$1]:-0} + 1))" "$SFY_LOG/$1.log" 2>/dev/null || true
}

# client_dns_log_has NAME: the client side's resolver was asked for NAME since the last
# run started. Polls for up to a second: dnsmasq writes its log as it answers.
client_dns_log_has() {
    local i
    for ((i = 0; i < 10; i++)); do
        log_new client-dns | grep -E 'query\[[A-Z0-9]+\] ' | grep -qiF " $1 from " && return 0
        sleep 0.1
    done
    return 1
}

# dns_leaks: the client resolver's query lines for any test name (*.socks.test) since
# the last run started, on one line; empty when no test name reached it.
dns_leaks() {
    log_new client-dns | grep -E 'query\[[A-Z0-9]+\] ' | grep -iF ".$SFY_TEST_DOMAIN" |
        sed 's/^.*dnsmasq\[[0-9]*\]: //' | tr '\n' ';' || true
}

# check_out_noleak NAME EXPECTED: check_out, and the client resolver saw no test name.
check_out_noleak() {
    local leaks
    leaks=$(dns_leaks)
    if ((RC == 0)) && [[ $OUT == *"$2"* && -z $leaks ]]; then
        pass "$1"
    elif [[ -n $leaks ]]; then
        fail "$1" "$(why "DNS leaked to the client resolver: $(oneline "$leaks")")"
    else
        fail "$1" "$(why "expected output '$2'")"
    fi
}

# Stops the script with one FAIL line when the world has no name service (a world
# started by an older scripts/world.sh): every "no leak" check would pass vacuously.
require_names() {
    if [[ ! -f $SFY_LOG/client-dns.log || ! -f /etc/netns/$SFY_NS_CLIENT/resolv.conf ]]; then
        fail all "the test world has no client resolver log (restart it: scripts/world.sh start)"
        exit 1
    fi
}

# run SECONDS COMMAND...: runs COMMAND with stdin from /dev/null, killed after SECONDS
# (KILL 2 s later). Sets RC (124/137 = timed out), OUT, ERR and MS (wall time), and
# marks the watched logs first (log_new).
run() {
    local secs=$1 t0 t1
    shift
    ensure_scratch
    mark_logs
    RC=0
    t0=$(date +%s%N)
    timeout -k 2 "$secs" "$@" >"$SFY_TMP/out" 2>"$SFY_TMP/err" </dev/null || RC=$?
    t1=$(date +%s%N)
    MS=$(((t1 - t0) / 1000000))
    OUT=$(<"$SFY_TMP/out")
    ERR=$(<"$SFY_TMP/err")
}

# What went wrong with the last run, for a FAIL line.
why() {
    local msg="rc=$RC"
    ((RC == 124 || RC == 137)) && msg="timed out"
    [[ -n ${1:-} ]] && msg="$1; $msg"
    [[ -n $OUT ]] && msg+="; stdout: $(oneline "$OUT")"
    [[ -n $ERR ]] && msg+="; stderr: $(oneline "$ERR")"
    printf '%s' "$msg"
}

# check_out NAME EXPECTED: the last run exited 0 and its stdout contains EXPECTED.
check_out() {
    if ((RC == 0)) && [[ $OUT == *"$2"* ]]; then
        pass "$1"
    else
        fail "$1" "$(why "expected output '$2'")"
    fi
}

# Stops the script with one SKIP line when the world is not there, and with one FAIL
# line when the launcher is missing (make test builds it first).
require_world() {
    if [[ -n ${SFY_WORLD_SKIP:-} ]]; then
        skip all "$SFY_WORLD_SKIP"
        exit 0
    fi
    if ((EUID != 0)); then
        skip all "not root (network namespaces need root)"
        exit 0
    fi
    if [[ ! -e /run/netns/$SFY_NS_CLIENT || ! -e /run/netns/$SFY_NS_PROXY ]]; then
        skip all "test world not running (scripts/world.sh start)"
        exit 0
    fi
}

require_launcher() {
    if [[ ! -x $SOCKSIFY || (-z ${SOCKSIFY_BIN:-} && ! -f $SFY_ROOT/build/lib/libsocksify.so) ]]; then
        fail all "$SOCKSIFY or build/lib/libsocksify.so not built (make all)"
        exit 1
    fi
}

# The token build/world/www/hello.txt holds for this run of the world.
# The token the web server's file holds; never empty, or every "*$TOKEN*" check
# would pass on any output.
token() {
    local t
    t=$(tr -d '\n' <"$SFY_WORLD/www/hello.txt" 2>/dev/null || true)
    if [[ -z $t ]]; then
        # stdout is the caller's $(...): the FAIL line goes to stderr, which the
        # runner reads too, and set -e stops the script at the assignment.
        echo "FAIL $SUITE/token: $SFY_WORLD/www/hello.txt is missing or empty" >&2
        exit 1
    fi
    printf '%s' "$t"
}

# URL host form of an address: brackets around IPv6.
urlhost() { if [[ $1 == *:* ]]; then printf '[%s]' "$1"; else printf '%s' "$1"; fi; }

# capture_start: a packet capture on the client namespace's only interface until
# capture_stop (stopped by PID; needs ensure_scratch). CAPTURE_OK=0 when tcpdump is
# missing or did not start.
CAPTURE_OK=0
capture_start() {
    CAPTURE_OK=0
    command -v tcpdump >/dev/null || return 0
    local iface i
    iface=$(ip -n "$SFY_NS_CLIENT" -o link show | awk -F': ' '$2 != "lo" {sub(/@.*/, "", $2); print $2; exit}')
    CAPTURE_PCAP=$SFY_TMP/capture.pcap
    # ip netns exec execs tcpdump: $! is tcpdump itself.
    "${IN_CLIENT[@]}" tcpdump -i "$iface" -n -U -w "$CAPTURE_PCAP" >/dev/null 2>"$SFY_TMP/tcpdump.err" &
    CAPTURE_PID=$!
    trap 'kill "$CAPTURE_PID" 2>/dev/null || true; rm -rf "$SFY_TMP"' EXIT
    for ((i = 0; i < 50; i++)); do
        grep -q "listening on" "$SFY_TMP/tcpdump.err" 2>/dev/null && { CAPTURE_OK=1; return 0; }
        sleep 0.1
    done
}

# capture_stop NAME: stops the capture; NAME passes when it holds IP packets and all
# of them are TCP with a SOCKS port of the proxies (link-local chatter and IPv6
# neighbour discovery aside: the kernel's unicast reachability probes between a global
# and a link-local address carry nothing of the program's).
capture_stop() {
    if ((!CAPTURE_OK)); then
        skip "$1" "tcpdump is not installed or did not start"
        return 0
    fi
    kill "$CAPTURE_PID" 2>/dev/null || true
    wait "$CAPTURE_PID" 2>/dev/null || true
    local p='198\.51\.100\.[12]' ports="$SFY_PORT_DANTE|$SFY_PORT_MICRO" all bad
    all=$(tcpdump -r "$CAPTURE_PCAP" -n -q 2>/dev/null | awk '$2 == "IP" || $2 == "IP6"' || true)
    bad=$(grep -vE " $p\.[0-9]+ > $p\.($ports): tcp| $p\.($ports) > $p\.[0-9]+: tcp" <<<"$all" |
        grep -vE " fe80::[0-9a-f:.]+ > (ff02|fe80)::| :: > ff02::" |
        grep -vE ": ICMP6, (neighbor|router) (solicitation|advertisement)" | grep . || true)
    if [[ -n $all && -z $bad ]]; then
        pass "$1"
    else
        fail "$1" "$(oneline "${bad:-no packets captured}")"
    fi
}

# A fake address of the default ranges (240.0.0.0/12, fd53:4f43:4b53::/96): one place
# for the scripts that check an answer came from the fake-DNS table.
is_fake() { [[ $1 =~ ^240\.([0-9]|1[0-5])\. || $1 == fd53:4f43:4b53::* ]]; }
