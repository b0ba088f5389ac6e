#!/usr/bin/env bash
# Issue 16, event loops never freeze: a non-blocking connect() through the proxy returns
# EINPROGRESS and its SOCKS exchange runs while the program waits in poll, select or
# epoll (level, edge, one-shot, two sets). Through build/tests/hostile_proxy answering
# CONNECT after 1 s: the program is told "writable" only once the exchange is over,
# SO_ERROR is 0, getpeername is the destination, the bytes echo through the tunnel, and
# nothing it sends early reaches the proxy; also for a socket put in epoll sets before
# its connect(). Ten connections at once (C poll, Python
# asyncio, node net.connect) take about one proxy delay, not ten, and a timer in the
# same loop keeps firing. Faults reached this way give their errno through SO_ERROR.
# Runs in its own network namespace (only lo), made and deleted here.
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
PROBE=$SFY_ROOT/build/tests/nb_probe
for b in "$HP" "$PROBE"; do
    if [[ ! -x $b ]]; then
        fail all "$b not built (make all)"
        exit 1
    fi
done
NS=sfy-nb-$$
IN_NS=(ip netns exec "$NS")
PROXY=127.0.0.1:1080
DEST=127.0.0.2 # loopback, proxied because of --direct ''
DELAY=1000     # ms the proxy waits before its CONNECT reply
mkdir -p "$SFY_ROOT/build"
DIR=$(mktemp -d "$SFY_ROOT/build/nonblock.XXXXXX")
SFY_TMP=$DIR # run() uses it as is: our cleanup stays the EXIT trap
REC=$DIR/record.txt
PROXY_PID=""

stop_proxy() {
    [[ -n $PROXY_PID ]] || return 0
    kill -TERM "$PROXY_PID" 2>/dev/null || true
    wait "$PROXY_PID" 2>/dev/null || true
    PROXY_PID=""
}
cleanup() {
    stop_proxy
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$DIR"
}
trap cleanup EXIT
ip netns add "$NS"
"${IN_NS[@]}" ip link set lo up

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

# under TIMEOUT_S COMMAND...: COMMAND under the launcher in the namespace.
under() {
    local t=$1
    shift
    run 30 "${IN_NS[@]}" env XDG_CACHE_HOME="$DIR/xdg" "$SOCKSIFY" -x "socks5://$PROXY" \
        --direct '' --timeout "$t" -- "$@"
}

# expect NAME FACT...: every FACT (key=value) is in the last run's output.
expect() {
    local name=$1 f missing=()
    shift
    for f in "$@"; do
        grep -qx -- "$f" <<<"$(tr ' ' '\n' <<<"$OUT")" || missing+=("$f")
    done
    if ((RC == 0 && ${#missing[@]} == 0)); then
        pass "$name"
    else
        fail "$name" "$(why "missing ${missing[*]}")"
    fi
}

start_proxy "slow-reply-$DELAY" || {
    fail all "hostile proxy did not start: $(oneline "$(cat "$DIR/proxy.log")")"
    exit 1
}
OKF=(connect=EINPROGRESS waited=1 so_error=0 "peer=$DEST:7" echo=ok)
for mode in poll select epoll; do
    under 5 "$PROBE" "$mode" "$DEST" 7
    expect "$mode" "${OKF[@]}"
done
# Level-triggered poll woke up (100 ms slices) while the exchange ran: it was not
# blocked inside connect().
under 5 "$PROBE" poll "$DEST" 7
w=$(sed -n 's/^wakeups=//p' <<<"$OUT")
if ((${w:-0} >= 5)); then pass poll-wakes-during-exchange; else fail poll-wakes-during-exchange "$(why "wakeups=${w:-none}")"; fi
under 5 "$PROBE" epoll-et "$DEST" 7
expect epoll-edge "${OKF[@]}" events_out=1 again=0
under 5 "$PROBE" epoll-oneshot "$DEST" 7
expect epoll-oneshot "${OKF[@]}" events_out=1 again=0
under 5 "$PROBE" epoll-two "$DEST" 7
expect epoll-two-sets "${OKF[@]}" events_out=1 second_set_out=1
# Put in the epoll set(s) before connect() (epoll_ctl, then connect, as libuv and Java
# NIO may do): the registration is found and held back until the exchange is over.
under 5 "$PROBE" pre-epoll "$DEST" 7
expect epoll-before-connect-level "${OKF[@]}" events_out=1
under 5 "$PROBE" pre-epoll-et "$DEST" 7
expect epoll-before-connect-edge "${OKF[@]}" events_out=1 again=0
under 5 "$PROBE" pre-epoll-oneshot "$DEST" 7
expect epoll-before-connect-oneshot "${OKF[@]}" events_out=1 again=0
under 5 "$PROBE" pre-epoll-two "$DEST" 7
expect epoll-before-connect-two-sets "${OKF[@]}" events_out=1 second_set_out=1
under 5 "$PROBE" close "$DEST" 7
expect close-mid-exchange "${OKF[@]}" reused_ready=1
under 5 "$PROBE" early "$DEST" 7
expect early-io "${OKF[@]}" early_send=EAGAIN early_recv=EAGAIN early_peer=ENOTCONN
if grep -q "$(printf early | od -An -tx1 | tr -d ' \n')" "$REC"; then
    fail early-bytes-held "bytes sent before the exchange ended reached the proxy"
else
    pass early-bytes-held
fi

# Ten at once: about one proxy delay in total (blocking: ten).
concurrent() {
    local name=$1 ms ticks
    shift
    under 5 "$@"
    ms=$(sed -n 's/.*ms=\([0-9]*\).*/\1/p' <<<"$OUT" | tail -n 1)
    ticks=$(sed -n 's/.*ticks=\([0-9]*\).*/\1/p' <<<"$OUT" | tail -n 1)
    if ((RC == 0)) && [[ $OUT == *ok=10* ]] && ((${ms:-99999} < 2 * DELAY)) &&
        [[ -z $ticks || $ticks -ge 5 ]]; then
        pass "$name"
    else
        fail "$name" "$(why "want ok=10, ms < $((2 * DELAY)), ticks >= 5")"
    fi
}
concurrent c-poll-x10 "$PROBE" parallel "$DEST" 7 10
concurrent asyncio-x10 "$PY" "$PROGRAMS/nb_asyncio.py" "$DEST" 7 10
if command -v node >/dev/null; then
    concurrent node-x10 node "$PROGRAMS/nb_node.js" "$DEST" 7 10
else
    skip node-x10 "node not installed"
fi
stop_proxy

# Faults through the non-blocking path: EINPROGRESS, then the errno of the blocking
# path (docs/ARCHITECTURE.md, Failure) through SO_ERROR, for each readiness call.
for c in rep-5:ECONNREFUSED rep-2:EACCES rep-4:EHOSTUNREACH rep-8:EAFNOSUPPORT \
    close-write-5:ECONNABORTED atyp-unknown:ECONNABORTED reset:ECONNRESET stall:ETIMEDOUT; do
    f=${c%%:*}
    if ! start_proxy "$f"; then
        fail "fault-$f" "hostile proxy did not start"
        continue
    fi
    for mode in poll epoll select; do
        under 1 "$PROBE" "$mode" "$DEST" 7
        expect "fault-$f-$mode" connect=EINPROGRESS waited=1 "so_error=${c#*:}"
    done
    stop_proxy
done
finish
