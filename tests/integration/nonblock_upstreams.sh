#!/usr/bin/env bash
# Issue 16 for every way out: a non-blocking connect() through each upstream kind
# (HTTP CONNECT through tinyproxy and squid with Basic auth, SOCKS4 through Dante,
# SOCKS4a through ssh -D), through chains (strict, and dynamic past a dead hop: the
# socket under the fd is replaced mid-exchange) and through a route returns
# EINPROGRESS, then completes while the program waits in poll, select or epoll (edge,
# one-shot), with SO_ERROR 0 and a working tunnel, or the errno the blocking path gives
# (README, "Upstream errors") through SO_ERROR. One line per case.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher
require_names

T=25
PROBE=$SFY_ROOT/build/tests/nb_probe
if [[ ! -x $PROBE ]]; then
    fail all "$PROBE not built (make all)"
    exit 1
fi
if [[ ! -f $SFY_WORLD/run/squid.pid || ! -f $SFY_WORLD/run/tinyproxy.pid ]]; then
    skip all "squid or tinyproxy not in the world (scripts/install-deps.sh, then world.sh start)"
    finish
fi
DANTE=socks5h://$SFY_PROXY4:$SFY_PORT_DANTE
MICRO=socks5h://$SFY_PROXY4:$SFY_PORT_MICRO
DOWN=socks5h://$SFY_PROXY4:$SFY_PORT_DOWN
TINY=http://$SFY_PROXY4:$SFY_PORT_TINYPROXY
SQUID=http://$SFY_USER:$SFY_PASS@$SFY_PROXY4:$SFY_PORT_SQUID
SQUID_NOAUTH=http://$SFY_PROXY4:$SFY_PORT_SQUID
S4=socks4://$SFY_PROXY4:$SFY_PORT_DANTE
SSH4A=socks4a://$SFY_PROXY4:$SFY_PORT_SSH_D
ECHO_IP=$SFY_DEST4
ECHO_NAME=$SFY_NAME_ECHO
P=$SFY_PORT_ECHO

# nb NAME EXPECT MODE DEST PORT -- LAUNCHER-ARGS...: the probe's non-blocking connect
# under the launcher; EXPECT is the SO_ERROR name (0: the tunnel must also echo).
nb() {
    local name=$1 want=$2 mode=$3 dest=$4 port=$5
    shift 6
    run $T "${SFY[@]}" "$@" -- "$PROBE" "$mode" "$dest" "$port"
    local facts=(connect=EINPROGRESS waited=1 "so_error=$want") f missing=()
    [[ $want == 0 ]] && facts+=(echo=ok)
    for f in "${facts[@]}"; do
        grep -qx -- "$f" <<<"$OUT" || missing+=("$f")
    done
    if ((RC == 0 && ${#missing[@]} == 0)); then
        pass "$name"
    else
        fail "$name" "$(why "missing ${missing[*]}")"
    fi
}

# --- each kind alone ----------------------------------------------------------------
nb http-tinyproxy-ip-poll 0 poll "$ECHO_IP" "$P" -- -x "$TINY"
nb http-tinyproxy-name-epoll-et 0 epoll-et "$ECHO_NAME" "$P" -- -x "$TINY"
nb http-squid-auth-ip-select 0 select "$ECHO_IP" "$P" -- -x "$SQUID"
nb http-squid-auth-name-epoll-oneshot 0 epoll-oneshot "$ECHO_NAME" "$P" -- -x "$SQUID"
nb socks4-dante-ip-epoll 0 epoll "$ECHO_IP" "$P" -- -x "$S4"
if [[ -f $SFY_WORLD/run/ssh-d.pid ]]; then
    nb socks4a-ssh-d-name-poll 0 poll "$ECHO_NAME" "$P" -- -x "$SSH4A"
else
    skip socks4a-ssh-d-name-poll "sshd not in the world"
fi

# --- chains and routes --------------------------------------------------------------
nb chain-dante-micro-squid-name-epoll-et 0 epoll-et "$ECHO_NAME" "$P" -- --chain "$DANTE,$MICRO,$SQUID"
nb chain-socks4-microsocks-ip-select 0 select "$ECHO_IP" "$P" -- --chain "$S4,$MICRO"
# The dead first hop is dropped and the socket under the fd replaced mid-exchange: the
# epoll sets the program registered it in follow the new socket.
for mode in epoll-et epoll-two poll; do
    nb "chain-dynamic-dead-hop-skipped-$mode" 0 "$mode" "$ECHO_NAME" "$P" -- \
        --chain "$DOWN,$MICRO,$TINY" --chain-mode dynamic
done
size=$(stat -c %s "$SFY_LOG/tinyproxy.log" 2>/dev/null) || size=0
nb route-to-tinyproxy-name-epoll-et 0 epoll-et "$ECHO_NAME" "$P" -- -x "$DANTE" --route "$ECHO_NAME=$TINY"
sleep 0.2
if tail -c +"$((size + 1))" "$SFY_LOG/tinyproxy.log" | grep -qF "CONNECT $ECHO_NAME:$P "; then
    pass route-reached-tinyproxy
else
    fail route-reached-tinyproxy "tinyproxy logged no CONNECT $ECHO_NAME:$P"
fi

# --- errors through SO_ERROR, as the blocking path gives them ----------------------
nb http-squid-407-eacces EACCES poll "$ECHO_NAME" "$P" -- -x "$SQUID_NOAUTH"
nb http-tinyproxy-refused-econnaborted ECONNABORTED epoll "$ECHO_IP" "$SFY_PORT_CLOSED" -- -x "$TINY"
nb http-squid-503-enetunreach ENETUNREACH epoll-et "$ECHO_IP" "$SFY_PORT_CLOSED" -- -x "$SQUID"
nb http-squid-stalls-etimedout ETIMEDOUT poll "$SFY_BLACKHOLE4" 80 -- -x "$SQUID" --timeout 2
nb socks4-dante-refused-econnrefused ECONNREFUSED select "$ECHO_IP" "$SFY_PORT_CLOSED" -- -x "$S4"
nb socks4-name-ehostunreach EHOSTUNREACH epoll-et "$ECHO_NAME" "$P" -- -x "$S4" --dns remote
nb chain-first-hop-down-econnrefused ECONNREFUSED poll "$ECHO_NAME" "$P" -- --chain "$DOWN,$MICRO"
nb chain-hop2-407-eacces EACCES epoll-et "$ECHO_NAME" "$P" -- --chain "$DANTE,$SQUID_NOAUTH"
nb chain-dynamic-all-down-econnrefused ECONNREFUSED epoll-oneshot "$ECHO_NAME" "$P" -- \
    --chain "$DOWN,socks5h://$SFY_PROXY4:1098" --chain-mode dynamic
finish
