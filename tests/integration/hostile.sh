#!/usr/bin/env bash
# Issue 5, hostile proxy: for each fault build/tests/hostile_proxy plays, a program under
# the launcher gets the errno of docs/ARCHITECTURE.md ("Failure") within --timeout plus 1 s, exits
# normally, leaks no fd, sends nothing on the failed socket, and nothing reaches the
# destination except through the proxy. Runs in its own network namespace (only lo),
# made and deleted here. Writes the fault x errno x time matrix to
# build/test-logs/hostile-matrix.txt (and stderr). One line per case.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ((EUID != 0)); then
    skip all "not root (network namespaces need root)"
    exit 0
fi
if ! unshare --net true 2>/dev/null; then
    skip all "network namespaces unavailable here"
    exit 0
fi
require_launcher
HP=$SFY_ROOT/build/tests/hostile_proxy
EPROBE=$PROGRAMS/errno_probe.py
LIB=$SFY_ROOT/build/lib/libsocksify.so
if [[ ! -x $HP ]]; then
    fail all "$HP not built (make build/tests/hostile_proxy)"
    exit 1
fi

TIMEOUT=2                        # the launcher's --timeout, seconds
LIMIT_MS=$(((TIMEOUT + 1) * 1000))  # every failure within the timeout plus 1 s
PORT=1080
PROXY_IP=127.0.0.1
PROXY=$PROXY_IP:$PORT
DEST=127.0.0.2                   # loopback, proxied because of --direct ''
DPORT=7
USER_NAME=alice
USER_PASS=s3cret-pass
NS=sfy-hostile-$$
IN_NS=(ip netns exec "$NS")

# Our own scratch directory (not build/world, which scripts/world.sh owns).
mkdir -p "$SFY_ROOT/build"
SFY_TMP=$(mktemp -d "$SFY_ROOT/build/hostile.XXXXXX")
DIR=$SFY_TMP
# The matrix is built here and published whole at exit: runs side by side never mix rows.
MATRIX=$DIR/matrix.txt
MATRIX_OUT=${HOSTILE_MATRIX_OUT:-$SFY_ROOT/build/test-logs/hostile-matrix.txt}
REC=$DIR/record.txt

PROXY_PID=""
WATCH_PIDS=()

# stop_pid PID: SIGTERM, up to 5 s, then SIGKILL; always reaped. STOP_RC: its status.
STOP_RC=0
stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    STOP_RC=0
    wait "$pid" 2>/dev/null || STOP_RC=$?
}

# PROXY_RC: the hostile proxy's exit status; 0 when SIGTERM found it alive and well.
PROXY_RC=0
stop_proxy() {
    PROXY_RC=0
    if [[ -n $PROXY_PID ]]; then
        stop_pid "$PROXY_PID"
        PROXY_RC=$STOP_RC
        PROXY_PID=""
    fi
}

# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    stop_proxy
    local pid
    for pid in "${WATCH_PIDS[@]}"; do stop_pid "$pid"; done
    ip netns del "$NS" 2>/dev/null || true
    if [[ -s $MATRIX ]]; then
        mkdir -p "${MATRIX_OUT%/*}"
        cp "$MATRIX" "$MATRIX_OUT.$$" && mv -f "$MATRIX_OUT.$$" "$MATRIX_OUT"
    fi
    rm -rf "$SFY_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! ip netns add "$NS" || ! ip -n "$NS" link set lo up; then
    fail all "could not make network namespace $NS"
    exit 1
fi

# Destinations that must never be reached: TCP and UDP on 127.0.0.2:7 and [::1]:7.
for where in 4:"$DEST" 6:::1; do
    "${IN_NS[@]}" "$PY" "$EPROBE" watch "${where#*:}" "$DPORT" "$DIR/dest${where%%:*}.log" \
        2>>"$DIR/watch.err" &
    WATCH_PIDS+=($!)
done
for ((i = 0; i < 50; i++)); do
    [[ -e $DIR/dest4.log.ready && -e $DIR/dest6.log.ready ]] && break
    sleep 0.1
done
if [[ ! -e $DIR/dest4.log.ready || ! -e $DIR/dest6.log.ready || -s $DIR/watch.err ]]; then
    fail all "destination watchers did not start: $(oneline "$(cat "$DIR/watch.err" 2>/dev/null)")"
    exit 1
fi

{
    printf '# hostile proxy matrix: socksify --direct %s --timeout %s, limit %s ms\n' "''" "$TIMEOUT" "$LIMIT_MS"
    printf '# conns: connections the proxy saw (always 1: no retry, however slow the proxy)\n'
    printf '# udp: expected/got are sendto/first recvfrom/second recvfrom (1 s timeout each)\n'
    printf '%-34s %-24s %-9s %-20s %-20s %6s %5s  %s\n' case fault mode expected got ms conns verdict
} >"$MATRIX"

# row CASE FAULT MODE EXPECTED GOT MS CONNS VERDICT
row() { printf '%-34s %-24s %-9s %-20s %-20s %6s %5s  %s\n' "$@" >>"$MATRIX"; }

# Connections the last proxy served (one log line each).
proxy_conns() { grep -c ': conn [0-9]* from' "$DIR/proxy.log" || true; }

# start_proxy SCRIPT [PROXY ARGS...]: the hostile proxy in the namespace, recording.
start_proxy() {
    local i
    : >"$REC"
    : >"$DIR/proxy.log"
    "${IN_NS[@]}" "$HP" --listen "$PROXY" --record "$REC" "$@" 2>>"$DIR/proxy.log" &
    PROXY_PID=$!
    for ((i = 0; i < 100; i++)); do
        grep -q 'listening on' "$DIR/proxy.log" && return 0
        kill -0 "$PROXY_PID" 2>/dev/null || break
        sleep 0.05
    done
    return 1
}

# field KEY: the value of KEY=... in the probe's output line.
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$OUT" | head -n 1; }

# All bytes the proxy received on TCP, as one hex string.
recorded_tcp() { awk '$1 == "tcp" {printf "%s", $3}' "$REC"; }
hexof() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }

DEST_SEEN=0
# dest_clean: the destinations saw nothing since the last call.
dest_clean() {
    local n
    n=$(cat "$DIR/dest4.log" "$DIR/dest6.log" | grep -c . || true)
    if ((n > DEST_SEEN)); then
        DEST_SEEN=$n
        return 1
    fi
    return 0
}
dest_seen() { oneline "$(cat "$DIR/dest4.log" "$DIR/dest6.log" | tail -n 2)"; }

# conclude NAME: PASS, or FAIL with the reasons gathered in WHY (and the last run).
# A case run with KNOWN_BUG set tests what docs/ARCHITECTURE.md asks of a library that does not
# do it yet: it passes once fixed, and until then it is a SKIP naming the bug, not
# a FAIL (this script may not change shim/).
WHY=()
KNOWN_BUG=""
conclude() {
    if ((${#WHY[@]} == 0)); then
        pass "$1"
        return
    fi
    local IFS=';' reasons
    reasons="$(why "${WHY[*]}"); proxy: $(oneline "$(tail -n 3 "$DIR/proxy.log")")"
    if [[ -n $KNOWN_BUG ]]; then
        skip "$1" "known library bug ($KNOWN_BUG): $reasons"
    else
        fail "$1" "$reasons"
    fi
}
verdict() {
    if ((${#WHY[@]} == 0)); then echo ok; elif [[ -n $KNOWN_BUG ]]; then echo "BUG"; else echo FAIL; fi
}

socksify_lines() { grep -c '^socksify\[' <<<"$ERR" || true; }

# The proxy is remembered as keeping pipelined bytes (the launcher's per-user cache,
# as a probe of a correct server leaves it): the default-mode cases below pipeline,
# and the launcher makes no probe connection of its own that the matrix would count.
mkdir -m 0700 -p "$DIR/xdg/socksify"
printf '%s safe %s\n%s safe %s\n' "$PROXY" "$(date +%s)" "$USER_NAME@$PROXY" "$(date +%s)" \
    >"$DIR/xdg/socksify/pipelining"
chmod 0600 "$DIR/xdg/socksify/pipelining"
CACHE_ENV=(XDG_CACHE_HOME="$DIR/xdg")
EXPECT_CONNS=1

# Options for the next cases: extra launcher arguments, proxy arguments, environment.
LAUNCH=()
PROXY_ARGS=()
PROXY_URL=socks5h://$PROXY  # socks5h: names go to the proxy (fake DNS)
ENVS=()
FIRST=""  # bytes the server sends first (early-data): read before the echo
MAX_LINES=1  # socksify lines a failure may log

# tcp_case NAME SCRIPT EXPECTED [MODE [HOST [PORT]]]
#   MODE: nonblock for a non-blocking connect; anything else (block, stepwise) is a
#   blocking connect and only labels the matrix row. SCRIPT "-": no proxy at all.
#   EXPECTED: an errno name, or ok (then TOKEN must echo back).
tcp_case() {
    local name=$1 script=$2 want=$3 mode=${4:-block} host=${5:-$DEST} dport=${6:-$DPORT}
    local token="tok-$name" got ms fds after echo lines conns n
    WHY=()
    if [[ $script != - ]] && ! start_proxy "${PROXY_ARGS[@]}" "$script"; then
        fail "$name" "hostile proxy did not start: $(oneline "$(cat "$DIR/proxy.log")")"
        stop_proxy
        return
    fi
    [[ $script == - ]] && : >"$REC"
    local probe_args=(tcp "$host" "$dport")
    [[ $mode == nonblock ]] && probe_args+=(nonblock)
    [[ -n $FIRST && $want == ok ]] && probe_args+=(first "${#FIRST}")
    probe_args+=(echo "$token")
    run 20 "${IN_NS[@]}" env "${CACHE_ENV[@]}" "${ENVS[@]}" "$SOCKSIFY" -x "$PROXY_URL" --direct '' \
        --timeout "$TIMEOUT" "${LAUNCH[@]}" -- "$PY" "$EPROBE" "${probe_args[@]}"
    stop_proxy
    got=$(field result)
    ms=$(field ms)
    fds=$(field fds)
    after=$(field after)
    echo=$(field echo)
    lines=$(socksify_lines)
    ((RC == 0)) || WHY+=("probe exit status $RC")
    # Non-blocking through the proxy: connect() says EINPROGRESS as the kernel would,
    # the errno comes through SO_ERROR once the exchange is over (issue 16).
    if [[ $mode == nonblock && $script != - && $(field connect) != EINPROGRESS ]]; then
        WHY+=("connect() gave $(field connect), want EINPROGRESS")
    fi
    [[ $got == "$want" ]] || WHY+=("errno ${got:-none}, want $want")
    [[ -n $ms ]] && ((ms <= LIMIT_MS)) || WHY+=("took ${ms:-?} ms > $LIMIT_MS")
    # A silent proxy is given the whole timeout, not less.
    if [[ $script == *stall* || $script == drip ]] && [[ -n $ms ]] && ((ms < TIMEOUT * 1000 - 100)); then
        WHY+=("gave up after $ms ms, before the ${TIMEOUT} s timeout")
    fi
    ((PROXY_RC == 0)) || WHY+=("hostile proxy exit status $PROXY_RC")
    # One attempt per connect, whatever the proxy does or how long it takes (plus the
    # launcher's own probe when the proxy is not remembered: EXPECT_CONNS 2).
    conns=$(proxy_conns)
    if [[ $script == - ]]; then
        conns=0
    else
        ((conns == EXPECT_CONNS)) || WHY+=("the proxy saw $conns connections, want $EXPECT_CONNS")
        if [[ $want == ok && $host == "$DEST" ]]; then
            n=$(grep -c "CONNECT $host:$dport" "$DIR/proxy.log" || true)
            ((n == 1)) || WHY+=("the proxy saw $n CONNECTs to $host:$dport, want 1")
        fi
    fi
    [[ -n $fds && ${fds%/*} == "${fds#*/}" ]] || WHY+=("fd count before/after $fds")
    if [[ $want == ok ]]; then
        [[ $echo == "$token" ]] || WHY+=("echo '$echo'")
        [[ -z $FIRST || $(field first) == "$FIRST" ]] || WHY+=("first bytes '$(field first)', want '$FIRST'")
        ((lines == 0)) || WHY+=("$lines socksify lines on success")
    else
        [[ -n $after && $after != ok ]] || WHY+=("a send on the failed socket gave '${after:-?}'")
        ((lines >= 1 && lines <= MAX_LINES)) || WHY+=("$lines socksify lines, want 1..$MAX_LINES")
    fi
    # The program's bytes after a failure never reach the proxy ("LEAK" in hex).
    [[ $(recorded_tcp) != *4c45414b* ]] || WHY+=("the proxy received the program's LEAK bytes")
    dest_clean || WHY+=("the destination saw: $(dest_seen)")
    row "$name" "$script" "$mode" "$want" "${got:-?}" "${ms:-?}" "$conns" "$(verdict)"
    conclude "$name"
}

# udp_case NAME SCRIPT SEND1 RECV1 SEND2 RECV2 — RECV "echo" means the datagram came
# back from the destination; MIN_DATAGRAMS: how many the relay must have received.
udp_case() {
    # shellcheck disable=SC2034  # the w_* are read through ${!want_var}
    local name=$1 script=$2 w_send1=$3 w_recv1=$4 w_send2=$5 w_recv2=$6 min_dg=${7:-0}
    local token="u-$name" ms fds n got k
    WHY=()
    if ! start_proxy "${PROXY_ARGS[@]}" "$script"; then
        fail "$name" "hostile proxy did not start: $(oneline "$(cat "$DIR/proxy.log")")"
        stop_proxy
        return
    fi
    run 20 "${IN_NS[@]}" env "${CACHE_ENV[@]}" "${ENVS[@]}" "$SOCKSIFY" -x "$PROXY_URL" --direct '' \
        --timeout "$TIMEOUT" "${LAUNCH[@]}" -- "$PY" "$EPROBE" udp "$DEST" "$DPORT" "$token"
    stop_proxy
    [[ $w_recv1 == echo ]] && w_recv1="$token-1@$DEST:$DPORT"
    [[ $w_recv2 == echo ]] && w_recv2="$token-2@$DEST:$DPORT"
    ms=$(field ms)
    fds=$(field fds)
    ((RC == 0)) || WHY+=("probe exit status $RC")
    for k in send1 recv1 send2 recv2; do
        local want_var=w_$k
        [[ $(field $k) == "${!want_var}" ]] || WHY+=("$k=$(field $k), want ${!want_var}")
    done
    [[ -n $ms ]] && ((ms <= LIMIT_MS)) || WHY+=("first sendto took ${ms:-?} ms > $LIMIT_MS")
    ((PROXY_RC == 0)) || WHY+=("hostile proxy exit status $PROXY_RC")
    [[ -n $fds && ${fds%/*} == "${fds#*/}" ]] || WHY+=("fd count before/after $fds")
    n=$(grep -c '^udp ' "$REC" || true)
    ((n >= min_dg)) || WHY+=("the relay received $n datagrams, want $min_dg")
    dest_clean || WHY+=("the destination saw: $(dest_seen)")
    # In the matrix: sendto/first recvfrom/second recvfrom, an echo shown as "echo".
    local short='s/^u-[^@]*@.*/echo/'
    got="$(field send1)/$(field recv1 | sed "$short")/$(field recv2 | sed "$short")"
    row "$name" "$script" udp "$w_send1/$(sed "$short" <<<"$w_recv1")/$(sed "$short" <<<"$w_recv2")" \
        "$got" "${ms:-?}" "$(proxy_conns)" "$(verdict)"
    conclude "$name"
}

# hostile_upstreams.sh sources this file for the harness above and plays its own cases.
if [[ -n ${HOSTILE_HARNESS_ONLY:-} ]]; then return 0; fi

# --- TCP CONNECT, no authentication, pipelined (the default) -----------------------

tcp_case ok ok ok
# What the client sent: greeting (no auth) and CONNECT 127.0.0.2:7 in one write.
if [[ $(recorded_tcp) == 050100050100017f0000020007* ]]; then
    pass ok-bytes-sent
else
    fail ok-bytes-sent "the proxy received $(oneline "$(cat "$REC")")"
fi
tcp_case proxy-down - ECONNREFUSED
# Greeting (3 bytes) + CONNECT 127.0.0.2:7 (10 bytes) in; method (2) + reply (10) out.
for ((n = 0; n < 13; n++)); do tcp_case "close-read-$n" "close-read-$n" ECONNABORTED; done
tcp_case close-read-13 close-read-13 ok  # the whole exchange read: a working proxy
for ((n = 0; n < 12; n++)); do tcp_case "close-write-$n" "close-write-$n" ECONNABORTED; done
tcp_case close-write-12 close-write-12 ok
tcp_case bad-version bad-version ECONNABORTED
tcp_case method-unknown method-unknown ECONNABORTED  # a method never offered
tcp_case method-unoffered method-unoffered ECONNABORTED
tcp_case method-ff method-ff EACCES
declare -A REP_ERRNO=([1]=ECONNREFUSED [2]=EACCES [3]=ENETUNREACH [4]=EHOSTUNREACH
    [5]=ECONNREFUSED [6]=ETIMEDOUT [7]=EOPNOTSUPP [8]=EAFNOSUPPORT
    [9]=ECONNABORTED [127]=ECONNABORTED [255]=ECONNABORTED)
for rep in 1 2 3 4 5 6 7 8 9 127 255; do tcp_case "rep-$rep" "rep-$rep" "${REP_ERRNO[$rep]}"; done
for f in reply-bad-version reply-bad-rsv atyp-unknown domain-len-0 domain-longer-than-sent \
    truncated-bnd; do
    tcp_case "$f" "$f" ECONNABORTED
done
for f in truncated-bnd-stall stall stall-after-method drip; do tcp_case "$f" "$f" ETIMEDOUT; done
tcp_case reset reset ECONNRESET
tcp_case reset-at-accept reset-at-accept ECONNRESET
# A failure reply cut short: once VER and REP are in, REP decides (handshake.cpp).
for ((n = 2; n < 12; n++)); do
    want=EACCES
    ((n < 4)) && want=ECONNABORTED
    tcp_case "rep-2+close-write-$n" "rep-2+close-write-$n" "$want"
done
# A proxy that answers CONNECT only once its own connect to the destination is done.
tcp_case slow-reply-900 slow-reply-900 ok
# Slower still, inside the 2 s timeout: waited for on the one connection, never
# mistaken for lost bytes.
tcp_case slow-reply-1500 slow-reply-1500 ok

# --- Non-blocking connect: EINPROGRESS, then the same errno through SO_ERROR ---------

for c in ok:ok proxy-down:ECONNREFUSED rep-5:ECONNREFUSED rep-8:EAFNOSUPPORT \
    close-write-5:ECONNABORTED atyp-unknown:ECONNABORTED stall:ETIMEDOUT drip:ETIMEDOUT \
    reset:ECONNRESET; do
    f=${c%%:*}
    s=$f
    [[ $f == proxy-down ]] && s=-
    tcp_case "nonblock-$f" "$s" "${c#*:}" nonblock
done

# --- IPv6 socket to [::1] (ATYP 4) and a name (socks5h: DOMAINNAME) -----------------

tcp_case v6-ok ok ok block ::1
tcp_case v6-rep-4 rep-4 EHOSTUNREACH block ::1
tcp_case v6-stall stall ETIMEDOUT block ::1
tcp_case name-ok ok ok block dest.hostile.test
# CONNECT with ATYP 3, length 17, the name, port 7.
if [[ $(recorded_tcp) == *0501000311"$(hexof dest.hostile.test)"0007* ]]; then
    pass name-sent-to-proxy
else
    fail name-sent-to-proxy "the proxy did not receive the name: $(oneline "$(cat "$REC")")"
fi
tcp_case name-rep-4 rep-4 EHOSTUNREACH block dest.hostile.test

# --- One message per round trip (--no-pipeline) ------------------------------------

LAUNCH=(--no-pipeline)
for ((n = 0; n < 13; n++)); do tcp_case "stepwise-close-read-$n" "close-read-$n" ECONNABORTED stepwise; done
for ((n = 0; n < 12; n++)); do tcp_case "stepwise-close-write-$n" "close-write-$n" ECONNABORTED stepwise; done
tcp_case stepwise-ok ok ok stepwise
tcp_case stepwise-method-ff method-ff EACCES stepwise
tcp_case stepwise-rep-2 rep-2 EACCES stepwise
tcp_case stepwise-stall stall ETIMEDOUT stepwise
tcp_case stepwise-drip drip ETIMEDOUT stepwise
tcp_case stepwise-reset reset ECONNRESET stepwise
for ((n = 2; n < 12; n++)); do
    want=EACCES
    ((n < 4)) && want=ECONNABORTED
    tcp_case "stepwise-rep-2+close-write-$n" "rep-2+close-write-$n" "$want" stepwise
done
LAUNCH=()

# --- Username/password (RFC 1929) ---------------------------------------------------

PROXY_ARGS=(--user "$USER_NAME" --pass "$USER_PASS")
PROXY_URL=socks5h://$USER_NAME@$PROXY
ENVS=(SOCKSIFY_PASSWORD="$USER_PASS")
tcp_case auth-ok ok ok
# RFC 1929 sub-negotiation as the proxy received it, after a user/pass-only greeting.
AUTH_HEX=050102$(printf '01%02x' ${#USER_NAME})$(hexof "$USER_NAME")$(printf '%02x' ${#USER_PASS})$(hexof "$USER_PASS")
if [[ $(recorded_tcp) == "$AUTH_HEX"050100017f0000020007* ]]; then
    pass auth-bytes-sent
else
    fail auth-bytes-sent "want $AUTH_HEX..., the proxy received $(oneline "$(cat "$REC")")"
fi
tcp_case auth-bad-status auth-bad-status EACCES
tcp_case auth-bad-version auth-bad-version ECONNABORTED
tcp_case auth-method-unoffered method-unoffered ECONNABORTED  # "no auth" to a user/pass offer
ENVS=(SOCKSIFY_PASSWORD=wrong-pass)
tcp_case auth-wrong-password ok EACCES
ENVS=(SOCKSIFY_PASSWORD="$USER_PASS")
# Greeting 3 + auth 3+5+11 + request 10 = 32 bytes in; method 2 + status 2 + reply 10 out.
for ((n = 0; n < 32; n++)); do tcp_case "auth-close-read-$n" "close-read-$n" ECONNABORTED; done
for ((n = 0; n < 14; n++)); do tcp_case "auth-close-write-$n" "close-write-$n" ECONNABORTED; done
LAUNCH=(--no-pipeline)
tcp_case auth-stepwise-ok ok ok stepwise
tcp_case auth-stepwise-bad-status auth-bad-status EACCES stepwise
tcp_case auth-stepwise-bad-version auth-bad-version ECONNABORTED stepwise
for n in 3 5 20 31; do tcp_case "auth-stepwise-close-read-$n" "close-read-$n" ECONNABORTED stepwise; done
for n in 1 2 3 4 13; do tcp_case "auth-stepwise-close-write-$n" "close-write-$n" ECONNABORTED stepwise; done
LAUNCH=()
PROXY_ARGS=()
PROXY_URL=socks5h://$PROXY
ENVS=()

# --- Pipelining is learned, never guessed from the time a reply takes --------------
# A correct proxy whose CONNECT reply comes 0, 1.5 or 3 s late (a Tor circuit), under a
# 5 s timeout: one connection, the program's, and no second attempt, both when the
# proxy is remembered as keeping pipelined bytes and when it is not known yet (the
# launcher then probes on a connection of its own: UDP ASSOCIATE 0.0.0.0:0, answered
# at once, and the program's connect goes one message per round trip meanwhile).
SAVED_TIMEOUT=$TIMEOUT
TIMEOUT=5
LIMIT_MS=$(((TIMEOUT + 1) * 1000))
for d in ok slow-reply-1500 slow-reply-3000; do tcp_case "learned-safe-$d" "$d" ok; done
EXPECT_CONNS=2
for d in ok slow-reply-1500 slow-reply-3000 lossy; do
    CACHE_ENV=(XDG_CACHE_HOME="$DIR/xdg-$d")
    tcp_case "unknown-proxy-$d" "$d" ok
    [[ $ERR != *"lost pipelined"* ]] || fail "unknown-proxy-$d-no-lost-line" "$(why)"
done
# What the probe found is remembered per user: the lossy server is not probed again,
# and its connection goes one message per round trip.
EXPECT_CONNS=1
CACHE_ENV=(XDG_CACHE_HOME="$DIR/xdg-lossy")
if grep -q "^$PROXY unsafe " "$DIR/xdg-lossy/socksify/pipelining" 2>/dev/null; then
    pass lossy-proxy-remembered-unsafe
else
    fail lossy-proxy-remembered-unsafe "cache: $(oneline "$(cat "$DIR/xdg-lossy/socksify/pipelining" 2>&1)")"
fi
tcp_case lossy-second-run lossy ok
for d in ok slow-reply-1500; do
    if grep -q "^$PROXY safe " "$DIR/xdg-$d/socksify/pipelining" 2>/dev/null; then
        pass "$d-proxy-remembered-safe"
    else
        fail "$d-proxy-remembered-safe" "cache: $(oneline "$(cat "$DIR/xdg-$d/socksify/pipelining" 2>&1)")"
    fi
done
# A cache file another user could have written is not trusted: probed again.
mkdir -m 0700 -p "$DIR/xdg-foreign/socksify"
printf '%s safe %s\n' "$PROXY" "$(date +%s)" >"$DIR/xdg-foreign/socksify/pipelining"
chmod 0666 "$DIR/xdg-foreign/socksify/pipelining"
CACHE_ENV=(XDG_CACHE_HOME="$DIR/xdg-foreign")
EXPECT_CONNS=2
tcp_case lossy-foreign-cache-ignored lossy ok
EXPECT_CONNS=1
CACHE_ENV=(XDG_CACHE_HOME="$DIR/xdg")
TIMEOUT=$SAVED_TIMEOUT
LIMIT_MS=$(((TIMEOUT + 1) * 1000))

# --- socksify --check against the hostile proxy --------------------------------------

# check_case NAME SCRIPT STATUS PATTERN...: --check's exit status and each line in turn.
check_case() {
    local name=$1 script=$2 want_rc=$3 i line
    shift 3
    WHY=()
    if ! start_proxy "$script"; then
        fail "check-$name" "hostile proxy did not start"
        stop_proxy
        return
    fi
    run 20 "${IN_NS[@]}" env XDG_CACHE_HOME="$DIR/xdg-check" "$SOCKSIFY" --timeout 1 \
        --check "socks5h://$PROXY"
    stop_proxy
    ((RC == want_rc)) || WHY+=("exit status $RC, want $want_rc")
    mapfile -t lines <<<"$OUT"
    ((${#lines[@]} == $#)) || WHY+=("${#lines[@]} lines, want $#")
    i=0
    for pat in "$@"; do
        line=${lines[i]:-}
        [[ $line =~ $pat ]] || WHY+=("line $((i + 1)) '$line' does not match '$pat'")
        i=$((i + 1))
    done
    conclude "check-$name"
}
CK_PROXY="^proxy $PROXY: reachable, connect [0-9.]+ ms\$"
CK_NONE="^methods: none accepted; username/password refused\$"
CK_REFUSED="answered: connection refused \\(REP 5\\)\$"
CK_FAKE="^fake-dns: [0-9]+ names at once, .* per name\$"
check_case ok ok 0 "$CK_PROXY" "$CK_NONE" \
    "^connect by address $PROXY_IP:0: $CK_REFUSED" "^connect by name localhost:0: $CK_REFUSED" \
    "^udp associate: offered, relay 127\.0\.0\.1:[0-9]+\$" \
    "^pipelining: safe \(first reply REP 0\)\$" \
    "^settings: dns remote, udp on, pipelined, timeout 1000 ms\$" "$CK_FAKE" "^usable\$"
check_case lossy lossy 0 "$CK_PROXY" "$CK_NONE" \
    "^connect by address $PROXY_IP:0: $CK_REFUSED" "^connect by name localhost:0: $CK_REFUSED" \
    "^udp associate: offered, relay 127\.0\.0\.1:[0-9]+\$" \
    "^pipelining: unsafe \(first reply REP [3-6]\)\$" \
    "^settings: dns remote, udp on, one message per round trip, timeout 1000 ms\$" "$CK_FAKE" "^usable\$"
check_case rep-5 rep-5 0 "$CK_PROXY" "$CK_NONE" \
    "^connect by address $PROXY_IP:0: answered: connection refused \(REP 5\)\$" \
    "^connect by name localhost:0: answered: connection refused \(REP 5\)\$" \
    "^udp associate: refused: connection refused \(REP 5\)\$" \
    "^pipelining: unsafe \(first reply REP 5\)\$" \
    "^settings: dns remote, udp on, one message per round trip, timeout 1000 ms\$" "$CK_FAKE" "^usable\$"
check_case method-ff method-ff 1 "$CK_PROXY" \
    "^methods: none refused; username/password refused \(no method this client speaks\)\$" \
    "^connect by address $PROXY_IP:0: failed: Permission denied\$" \
    "^connect by name localhost:0: failed: Permission denied\$" \
    "^udp associate: failed: Permission denied\$" \
    "^pipelining: unknown \(Permission denied\)\$" \
    "^settings: dns remote, udp on, one message per round trip, timeout 1000 ms\$" "$CK_FAKE" "^not usable\$"
check_case stall stall 1 "$CK_PROXY" \
    "^methods: none refused; username/password refused \(Connection timed out\)\$" \
    "^connect by address $PROXY_IP:0: failed: Connection timed out\$" \
    "^connect by name localhost:0: failed: Connection timed out\$" \
    "^udp associate: failed: Connection timed out\$" \
    "^pipelining: unknown \(Connection timed out\)\$" \
    "^settings: dns remote, udp on, one message per round trip, timeout 1000 ms\$" "$CK_FAKE" "^not usable\$"
run 20 "${IN_NS[@]}" "$SOCKSIFY" --timeout 1 --check "socks5h://$PROXY"
if ((RC == 1)) && [[ $OUT == "proxy $PROXY: unreachable: Connection refused" ]]; then
    pass check-proxy-down
else
    fail check-proxy-down "$(why "want exit 1 and one 'unreachable' line")"
fi

# --- UDP ASSOCIATE -------------------------------------------------------------------

udp_case udp-ok ok ok echo ok echo 2
udp_case bnd-zeros bnd-zeros ok echo ok echo 2
udp_case bnd-other-family bnd-other-family EAFNOSUPPORT - EAFNOSUPPORT -
udp_case frag-nonzero frag-nonzero ok timeout ok echo 2
udp_case bad-rsv bad-rsv ok timeout ok echo 2
udp_case spoofed-source spoofed-source ok timeout ok echo 2
udp_case udp-rep-1 rep-1 ECONNREFUSED - ECONNREFUSED -
udp_case udp-rep-7 rep-7 EOPNOTSUPP - EOPNOTSUPP -
udp_case udp-close-write-5 close-write-5 ECONNABORTED - ECONNABORTED -
udp_case udp-atyp-unknown atyp-unknown ECONNABORTED - ECONNABORTED -
udp_case udp-stall stall ETIMEDOUT - ETIMEDOUT -

# --- A bad SOCKSIFY_* value, library preloaded by hand ------------------------------
# Default direct list (loopback direct): a fallback to a direct connection would reach
# the destination watcher, so its silence proves there was none.

if start_proxy ok; then
    run 20 "${IN_NS[@]}" env LD_PRELOAD="$LIB" SOCKSIFY_PROXY="socks5://$PROXY" \
        SOCKSIFY_TIMEOUT=abc "$PY" "$EPROBE" tcp "$DEST" "$DPORT" echo tok
    stop_proxy
    got=$(field result)
    WHY=()
    ((RC == 0)) || WHY+=("probe exit status $RC")
    [[ $got == EACCES ]] || WHY+=("errno ${got:-none}, want EACCES")
    lines=$(socksify_lines)
    named=$(grep -c '^socksify\[.*SOCKSIFY_TIMEOUT' <<<"$ERR" || true)
    ((lines >= 1 && named == lines)) ||
        WHY+=("$lines socksify lines, $named naming SOCKSIFY_TIMEOUT: want every line to name it")
    [[ ! -s $REC ]] || WHY+=("the proxy got bytes")
    dest_clean || WHY+=("the destination was reached directly")
    fds=$(field fds)
    [[ -n $fds && ${fds%/*} == "${fds#*/}" ]] || WHY+=("fd count before/after $fds")
    row bad-env-timeout "(SOCKSIFY_TIMEOUT=abc)" "preload" EACCES "${got:-?}" "$(field ms)" \
        "$(proxy_conns)" "$(verdict)"
    conclude bad-env-timeout
    # Issue 5: "refuses every proxied connection with EACCES and one log line".
    WHY=()
    ((lines == 1)) || WHY+=("$lines socksify lines for one refused connect, want 1")
    conclude bad-env-timeout-one-line
else
    fail bad-env-timeout "hostile proxy did not start"
    stop_proxy
fi

cat "$MATRIX" >&2
finish
