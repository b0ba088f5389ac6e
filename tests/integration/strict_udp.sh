#!/usr/bin/env bash
# UDP through the proxy under --strict (issue 14): libc programs' datagrams go through
# Dante's UDP relay again, the supervisor making each one from its own copy (address,
# SOCKS header, payload) after judging the destination. A hostile job that asks for an
# association itself and races a second thread rewriting the address or the header
# thousands of times never gets a datagram anywhere but the relay, to an allowed
# destination; refused sends get EACCES and exactly one audit record each. A packet
# capture on the client's interface holds nothing but SOCKS TCP and the relays' UDP.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher
require_names
ensure_scratch
T=30
UDPP=$PROGRAMS/udp_probe.py
MMSG=$SFY_ROOT/build/tests/udp_mmsg
RACE=$SFY_ROOT/build/tests/udp_relay_race
TAG=su$RANDOM$RANDOM
EP=$SFY_PORT_UDP_ECHO
PORT=4343 # the listener below: nothing else in the world listens here
DANTE=socks5h://$SFY_PROXY4:$SFY_PORT_DANTE
AUDIT=$SFY_TMP/audit.jsonl
STRICT=("${IN_CLIENT[@]}" "$SOCKSIFY" -v --strict --audit "$AUDIT" -x "$DANTE")
PROXY_SIDE=" $SFY_DEST4 $SFY_DEST6 $SFY_PROXY4 $SFY_PROXY6 "
RELAY_PORTS=""

for p in "$MMSG" "$RACE"; do
    [[ -x $p ]] || { fail all "$p not built (make test-build)"; finish; }
done

LISTEN_LOG=$SFY_TMP/listener.log
"${IN_PROXY[@]}" "$PY" "$PROGRAMS/addr_listener.py" "$LISTEN_LOG" "$PORT" 300 "$SFY_PROXY4" \
    "$SFY_PROXY6" >/dev/null 2>"$SFY_TMP/listener.err" &
LISTENER=$!
capture_start
trap 'kill "$LISTENER" "${CAPTURE_PID:-}" 2>/dev/null || true; rm -rf "$SFY_TMP"' EXIT
for ((i = 0; i < 50; i++)); do
    grep -q listening "$LISTEN_LOG" 2>/dev/null && break
    sleep 0.1
done
heard() { grep -c -E '^(tcp|udp) ' "$LISTEN_LOG" || true; }
denials() { grep -c '"verdict":"deny"' "$AUDIT" 2>/dev/null || true; }
dante_size() { stat -c %s "$SFY_LOG/danted.log" 2>/dev/null || echo 0; }

# note_relays: the relay ports the last run's associations used (the supervisor's -v
# line, the race program's own line), for the capture check.
note_relays() {
    local p
    for p in $(grep -oE 'relay(=| )\[?[0-9a-f.:]+\]?:[0-9]+' <<<"$OUT$ERR" | sed 's/.*://'); do
        RELAY_PORTS+=" $p"
    done
}

# echo_saw TOKEN: the echo server got TOKEN, only from proxy-side addresses.
echo_saw() {
    local i got="" src
    for ((i = 0; i < 20; i++)); do
        got=$(log_new udpecho | awk -v t="$1" 'index($4, t) {print $1}')
        [[ -n $got ]] && break
        sleep 0.1
    done
    [[ -n $got ]] || return 1
    for src in $got; do [[ $PROXY_SIDE == *" $src "* ]] || return 1; done
}

# relayed NAME EXPECTED TOKEN COMMAND...: the program prints EXPECTED, the echo server
# saw TOKEN from the proxy side, and Dante logged a UDP association.
relayed() {
    local name=$1 want=$2 tok=$3 d0
    shift 3
    d0=$(dante_size)
    run $T "${STRICT[@]}" -- "$@"
    note_relays
    if ((RC == 0)) && [[ $OUT == *"$want"* ]] && echo_saw "$tok" &&
        tail -c +"$((d0 + 1))" "$SFY_LOG/danted.log" | grep -q 'udp/udpassociate'; then
        pass "$name"
    else
        fail "$name" "$(why "expected '$want', the echo server to see $tok from the proxy side and Dante a UDP association")"
    fi
}

# --- libc programs through Dante's relay ------------------------------------------------
relayed python-sendto-by-ip "v4a-$TAG from $SFY_DEST4 $EP" "v4a-$TAG" \
    "$PY" "$UDPP" echo "$SFY_DEST4" "$EP" "v4a-$TAG"
relayed python-sendto-by-name "name-$TAG from " "name-$TAG" \
    "$PY" "$UDPP" echo "$SFY_NAME_ECHO" "$EP" "name-$TAG"
relayed python-connected-by-name "conn-$TAG peer " "conn-$TAG" \
    "$PY" "$UDPP" cecho "$SFY_NAME_ECHO" "$EP" "conn-$TAG"
relayed python-sendmsg-ipv6 "v6-$TAG from $SFY_DEST6 $EP" "v6-$TAG" \
    "$PY" "$UDPP" msg "$SFY_DEST6" "$EP" "v6-$TAG"
relayed c-sendmmsg "msg-3 from $SFY_DEST4" "msg-3" "$MMSG" "$SFY_DEST4" "$EP" 4
# dig's own UDP query: answered by the supervisor from its table (a fake address), not
# by any nameserver.
run $T "${STRICT[@]}" -- dig +notcp +short +tries=1 +time=5 "@$SFY_DEST4" "$SFY_NAME_WEB"
if ((RC == 0)) && is_fake "$OUT" && [[ -z $(log_new proxy-dns) ]]; then
    pass dig-udp-answered-by-the-supervisor
else
    fail dig-udp-answered-by-the-supervisor "$(why "expected a fake address")"
fi

# --- refusals: EACCES and exactly one record each ---------------------------------------
# refused NAME WANT OPTIONS... -- COMMAND...: stdout has WANT, one more deny record, the
# listener heard nothing.
refused() {
    local name=$1 want=$2 d0 h0 opts=()
    shift 2
    while [[ $1 != -- ]]; do opts+=("$1"); shift; done
    shift
    d0=$(denials)
    h0=$(heard)
    run $T "${STRICT[@]}" "${opts[@]}" -- "$@"
    local got=$(($(denials) - d0))
    if [[ $OUT == *"$want"* && $got == 1 && $(heard) == "$h0" ]]; then
        pass "$name"
    else
        fail "$name" "$(why "want '$want' and 1 deny record, got $got")"
    fi
}
refused denied-address-eacces-one-record "PermissionError EACCES" --deny "$SFY_DEST4:$EP" -- \
    "$PY" "$UDPP" errno "$SFY_DEST4" "$EP"
refused denied-name-eacces-one-record "PermissionError EACCES" --deny "$SFY_NAME_ECHO:$EP" -- \
    "$PY" "$UDPP" errno "$SFY_NAME_ECHO" "$EP"
refused default-deny-eacces-one-record "PermissionError EACCES" --default-deny \
    --allow "$SFY_NAME_WEB" -- "$PY" "$UDPP" errno "$SFY_DEST4" "$EP"
# Raw datagrams, not wrapped for a relay (no library): to the proxy's own host, which
# is reachable from here, and to a destination the policy does not allow.
refused raw-to-proxy-host-eacces-one-record "raw EACCES" -- "$RACE" raw "$SFY_PROXY4" "$PORT"
refused raw-denied-eacces-one-record "raw EACCES" --default-deny --allow "$SFY_NAME_WEB" -- \
    "$RACE" raw "$SFY_DEST4" "$EP"
refused raw-allowed-still-eacces-one-record "raw EACCES" -- "$RACE" raw "$SFY_DEST4" "$EP"
refused udp-off-eacces-one-record "PermissionError EACCES" --udp off -- \
    "$PY" "$UDPP" errno "$SFY_DEST4" "$EP"

# --- a hostile job racing the supervisor's copy -------------------------------------------
POL=(--default-deny --allow "$SFY_DEST4:$EP")
N=3000
# race NAME MODE ARGS...: every send went to the relay or was refused (one record
# each), at least one of each; the listener heard nothing.
race() {
    local name=$1 d0 h0
    shift
    d0=$(denials)
    h0=$(heard)
    run 120 "${STRICT[@]}" "${POL[@]}" -- "$RACE" "$@"
    note_relays
    local sent refused other got=$(($(denials) - d0))
    sent=$(sed -n 's/.* sent=\([0-9]*\).*/\1/p' <<<"$OUT")
    refused=$(sed -n 's/.* refused=\([0-9]*\).*/\1/p' <<<"$OUT")
    other=$(sed -n 's/.* other=\([0-9]*\).*/\1/p' <<<"$OUT")
    if [[ -n $sent && $other == 0 ]] && ((sent > 0 && refused > 0 && sent + refused == N)) &&
        ((got == refused)) && [[ $(heard) == "$h0" ]]; then
        pass "$name ($(oneline "$OUT"))"
    else
        fail "$name" "$(why "records $got for refused=${refused:-?}; listener heard $(($(heard) - h0))")"
    fi
}
race race-rewritten-address-only-the-relay addr $N "$SFY_PROXY4" "$PORT" "$SFY_DEST4" "$EP" "ra-$TAG"
race race-rewritten-header-only-allowed header $N "$SFY_DEST4" "$EP" "$SFY_DEST6" "rh-$TAG"
# The denied form (the IPv6 echo) never got a datagram of the header race.
sleep 0.5
if grep -F "rh-$TAG" "$SFY_LOG/udpecho.log" | awk '{print $1}' | grep -q ':'; then
    fail race-denied-header-never-relayed "the IPv6 echo server saw rh-$TAG"
elif grep -qF "rh-$TAG" "$SFY_LOG/udpecho.log"; then
    pass race-denied-header-never-relayed
else
    fail race-denied-header-never-relayed "the IPv4 echo server saw nothing of the race"
fi

# The socket asks for UDP segmentation (UDP_SEGMENT 64): split, the second segment of
# the supervisor's send would be the job's own bytes, a header for a denied destination.
# One datagram arrives at the allowed destination; the denied one hears nothing.
run $T "${STRICT[@]}" --deny "$SFY_DEST6" -- "$RACE" gso "$SFY_DEST4" "$EP" "$SFY_DEST6" "gso-$TAG"
note_relays
sleep 0.5
if [[ $OUT == "gso ok" ]] && ! grep -qF "gso-$TAG" "$SFY_LOG/udpecho.log" &&
    log_new udpecho | grep -qE "^$SFY_DEST4 [0-9]+ 118 "; then
    pass udp-segment-option-one-datagram
else
    fail udp-segment-option-one-datagram "$(why "the denied destination saw: $(grep -F "gso-$TAG" "$SFY_LOG/udpecho.log" | head -1)")"
fi

# --- the capture: SOCKS TCP and the relays' UDP, nothing else ---------------------------------
if ((!CAPTURE_OK)); then
    skip capture-only-socks-and-relays "tcpdump is not installed or did not start"
else
    kill "$CAPTURE_PID" 2>/dev/null || true
    wait "$CAPTURE_PID" 2>/dev/null || true
    P='(198\.51\.100\.[12]|2001:db8:1::[12])'
    ports=$(tr ' ' '\n' <<<"$RELAY_PORTS" | grep . | sort -u | paste -sd'|' || true)
    all=$(tcpdump -r "$CAPTURE_PCAP" -n -q 2>/dev/null | awk '$2 == "IP" || $2 == "IP6"' || true)
    bad=$(grep -vE " $P\.[0-9]+ > $P\.$SFY_PORT_DANTE: tcp| $P\.$SFY_PORT_DANTE > $P\.[0-9]+: tcp" <<<"$all" |
        grep -vE " $P\.[0-9]+ > $P\.(${ports:-none}): UDP| $P\.(${ports:-none}) > $P\.[0-9]+: UDP" |
        grep -vE " $P > $P: ICMP $P udp port [0-9]+ unreachable" |
        grep -vE " fe80::[0-9a-f:.]+ > (ff02|fe80)::| :: > ff02::" |
        grep -vE "ICMP6, neighbor (solicitation|advertisement)" | grep . || true)
    udp=$(grep -c ': UDP' <<<"$all" || true)
    if [[ -n $ports && $udp -gt 0 && -z $bad ]]; then
        pass "capture-only-socks-and-relays ($udp UDP packets, relay ports ${ports//|/,})"
    else
        fail capture-only-socks-and-relays "$(oneline "${bad:-no UDP captured (relay ports: ${ports:-none})}")"
    fi
fi

finish
