#!/usr/bin/env bash
# System calls per proxied connection (issue 15): strace -f -c counts every call of
# build/bench/connrate (connect → 1-byte echo → close, sequentially) under the
# launcher, for N1 and for N2 connections; the difference over N2 - N1 is what one
# connection costs, start-up cancelled out. A count, not a timer: it does not depend
# on the machine's speed — except for the calls that wait (poll, and a recv that
# finds the proxy's answer not there yet), whose number depends on whether the reply
# came before the shim read. Those are bounded apart, with some slack.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher

CONNRATE=$SFY_ROOT/build/bench/connrate
if [[ ! -x $CONNRATE ]]; then
    fail all "$CONNRATE not built (make build/bench/connrate)"
    finish
fi
if ! command -v strace >/dev/null; then
    skip all "strace not installed (scripts/install-deps.sh installs it)"
    finish
fi
ensure_scratch
N1=20
N2=80
T=120 # seconds: the bound for one strace run
# The launcher's pipelining verdict for each proxy, learned by a first run and read
# back by every measured one: both runs of a pair do the same start-up.
export XDG_CACHE_HOME=$SFY_TMP/xdg-syscalls
mkdir -p "$XDG_CACHE_HOME"

# calls FILE: "<calls> <waiting calls>" from strace -c's table (its columns: % time,
# seconds, usecs/call, calls, errors (may be empty), syscall).
calls() {
    awk '$NF != "total" && $NF != "syscall" && $4 ~ /^[0-9]+$/ {
            n = $4; e = NF == 6 ? $5 : 0
            all += n
            if ($NF == "poll" || $NF == "ppoll") wait += n
            else if ($NF == "recvfrom" || $NF == "recvmsg" || $NF == "read") wait += e
        } END { print all + 0, wait + 0 }' "$1"
}

# per_conn NAME COMMAND...: runs COMMAND (with @N@ for the connection count) under
# strace for N1 and N2; sets FIXED and WAITS (per connection, one decimal) or fails.
per_conn() {
    local name=$1 n a_all a_wait b_all b_wait
    shift
    local counts=()
    for n in $N1 $N2; do
        run "$T" "${IN_CLIENT[@]}" strace -f -c -o "$SFY_TMP/strace-$name-$n" "${@//@N@/$n}"
        if ((RC != 0)) || [[ $OUT != *"conns/s"* ]]; then
            fail "$name" "$(why "connrate under strace failed")"
            return 1
        fi
        counts+=("$(calls "$SFY_TMP/strace-$name-$n")")
    done
    read -r a_all a_wait <<<"${counts[0]}"
    read -r b_all b_wait <<<"${counts[1]}"
    FIXED=$(awk -v a="$((a_all - a_wait))" -v b="$((b_all - b_wait))" -v d=$((N2 - N1)) \
        'BEGIN { printf "%.1f", (b - a) / d }')
    WAITS=$(awk -v a="$a_wait" -v b="$b_wait" -v d=$((N2 - N1)) 'BEGIN { printf "%.1f", (b - a) / d }')
}

# check NAME FIXED WAITS PROXY-URL HOST [LAUNCHER OPTION...]: connections through the
# launcher cost at most FIXED calls besides the waiting ones, and at most WAITS of those.
check() {
    local name=$1 bound=$2 wait_bound=$3 url=$4 host=$5
    shift 5
    local sfy=("$SOCKSIFY" -q "$@" -x "$url" --)
    # Learn the proxy first (a run of its own, not measured).
    run "$T" "${IN_CLIENT[@]}" "${sfy[@]}" "$CONNRATE" "$host" "$SFY_PORT_ECHO" 1
    if ((RC != 0)); then
        fail "$name" "$(why "connrate through the launcher failed")"
        return
    fi
    per_conn "$name" "${sfy[@]}" "$CONNRATE" "$host" "$SFY_PORT_ECHO" @N@ || return
    local line="$FIXED calls + $WAITS waiting per connection (bounds $bound + $wait_bound; a client speaking SOCKS5 itself: $LIMIT_FIXED + $LIMIT_WAITS)"
    if awk -v v="$FIXED" -v b="$bound" -v w="$WAITS" -v wb="$wait_bound" \
        'BEGIN { exit !(v <= b && w <= wb) }'; then
        pass "$name: $line"
    else
        fail "$name" "$line"
    fi
}

# The reference: connrate speaking SOCKS5 itself, one message per round trip.
LIMIT_FIXED=n/a
LIMIT_WAITS=n/a
if per_conn limit "$CONNRATE" "$SFY_DEST4" "$SFY_PORT_ECHO" @N@ "$SFY_PROXY4" "$SFY_PORT_DANTE"; then
    LIMIT_FIXED=$FIXED
    LIMIT_WAITS=$WAITS
    pass "limit: $FIXED calls + $WAITS waiting per connection"
fi

DANTE=socks5://$SFY_PROXY4:$SFY_PORT_DANTE
DANTE_H=socks5h://$SFY_PROXY4:$SFY_PORT_DANTE
DANTE_AUTH=socks5://$SFY_USER:$SFY_PASS@$SFY_PROXY4:$SFY_PORT_DANTE_AUTH
MICRO=socks5://$SFY_PROXY4:$SFY_PORT_MICRO
MICRO_H=socks5h://$SFY_PROXY4:$SFY_PORT_MICRO
MICRO_AUTH=socks5://$SFY_USER:$SFY_PASS@$SFY_PROXY4:$SFY_PORT_MICRO_AUTH
# What one connection of a blocking program calls, by structure. Besides waiting:
# socket, setsockopt (the program's), fstat (the socket() hook's record), fstat
# (connect checks the record still names the socket), F_GETFL, F_SETFL, connect, one
# send per round trip, one recv per answer (the method, the authentication status)
# and two for the reply (its prefix gives its length; nothing past it is taken),
# F_SETFL, write, read, close. Pipelined (Dante keeps early bytes), the method's recv
# also takes what is certain to follow: the status and the reply prefix when they
# are there. Waiting: a poll for the connect and one per answer the last read did not
# bring along — never a read that finds nothing (the driver waits before reading).
# By IP, pipelined: 14 when the reply came with the method, else 15.
check dante-ip 15 3 "$DANTE" "$SFY_DEST4"
check dante-ip-stepwise 16 3 "$DANTE" "$SFY_DEST4" --no-pipeline
# By name: getaddrinfo answers from the fake range (/etc/hosts checked: one stat).
check dante-name 16 3 "$DANTE_H" "$SFY_NAME_ECHO"
check dante-name-stepwise 17 3 "$DANTE_H" "$SFY_NAME_ECHO" --no-pipeline
# Username/password: one answer more (and stepwise one send more).
check dante-auth 16 4 "$DANTE_AUTH" "$SFY_DEST4"
check dante-auth-stepwise 18 4 "$DANTE_AUTH" "$SFY_DEST4" --no-pipeline
# microsocks loses pipelined bytes: the launcher learns to go one step at a time.
check micro-ip 16 3 "$MICRO" "$SFY_DEST4"
check micro-name 17 3 "$MICRO_H" "$SFY_NAME_ECHO"
check micro-auth 18 4 "$MICRO_AUTH" "$SFY_DEST4"
finish
