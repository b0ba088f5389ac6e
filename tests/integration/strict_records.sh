#!/usr/bin/env bash
# Under --strict the audit log is the supervisor's alone, so every refusal must reach
# it: the library's early refusals (policy by address and by name, UDP to a denied
# destination, --udp off, sockets it does not carry, odd inherited sockets, ...) either
# make the call anyway, for the supervisor to refuse and record from its own copy, or
# leave it to the kernel's filter. Each class: the program gets EACCES (a lookup the
# policy denies: EAI_FAIL) and the log gains exactly one deny record, with its reason.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher
require_names
ensure_scratch
T=20
AUDIT=$SFY_TMP/audit.jsonl
ATTEMPT=$PROGRAMS/strict_attempt.py
POLICY=(--deny "$SFY_DEST4" --deny "$SFY_NAME_ECHO" --deny "$SFY_NAME_WEB:$SFY_PORT_WHOAMI"
    --deny "$SFY_DEST6")
STRICT=("${IN_CLIENT[@]}" "$SOCKSIFY" -q --strict --audit "$AUDIT" -x "socks5h://$SFY_PROXY4:$SFY_PORT_DANTE")

# one NAME WANT-OUT REASON OPTIONS... -- COMMAND...: WANT-OUT in stdout, and exactly one
# deny record, with REASON.
one() {
    local name=$1 want=$2 reason=$3 opts=()
    shift 3
    while [[ $1 != -- ]]; do opts+=("$1"); shift; done
    shift
    exactly_one "$name" "$want" "$reason" "${STRICT[@]}" "${opts[@]}" -- "$@"
}

# exactly_one NAME WANT-OUT REASON COMMAND...: as one, for a whole command line.
exactly_one() {
    local name=$1 want=$2 reason=$3
    shift 3
    : >"$AUDIT"
    run $T "$@"
    local denies reasons
    denies=$(grep -c '"verdict":"deny"' "$AUDIT" || true)
    reasons=$(grep '"verdict":"deny"' "$AUDIT" | sed -n 's/.*"reason":"\([^"]*\)".*/\1/p' | paste -sd, || true)
    if [[ $OUT == *"$want"* && $denies == 1 && $reasons == "$reason" ]]; then
        pass "$name"
    else
        fail "$name" "$(why "want '$want' and one '$reason' record, got $denies: ${reasons:-none}")"
    fi
}

one tcp-denied-address "tcp-ip EACCES" policy "${POLICY[@]}" -- "$PY" "$ATTEMPT" tcp-ip
one tcp-denied-name "tcp-name gaierror -4" policy "${POLICY[@]}" -- "$PY" "$ATTEMPT" tcp-name
one tcp-denied-name-port "tcp-name-port EACCES" policy "${POLICY[@]}" -- "$PY" "$ATTEMPT" tcp-name-port
one udp-denied-address "udp-ip EACCES" policy "${POLICY[@]}" -- "$PY" "$ATTEMPT" udp-ip
one udp-denied-name-port "udp-name-port EACCES" policy "${POLICY[@]}" -- "$PY" "$ATTEMPT" udp-name-port
one udp-connect-denied "udp-connect EACCES" policy "${POLICY[@]}" -- "$PY" "$ATTEMPT" udp-connect
one udp-sendmsg6-denied "udp-sendmsg6 EACCES" policy "${POLICY[@]}" -- "$PY" "$ATTEMPT" udp-sendmsg6
one udp-sendmmsg-denied "udp-sendmmsg EACCES" policy "${POLICY[@]}" -- "$PY" "$ATTEMPT" udp-sendmmsg
one fast-open-denied "fastopen EACCES" strict "${POLICY[@]}" -- "$PY" "$ATTEMPT" fastopen
one link-local-udp "link-local-udp EACCES" link-local -- "$PY" "$ATTEMPT" link-local-udp
one link-local-tcp "link-local-tcp EACCES" link-local -- "$PY" "$ATTEMPT" link-local-tcp
for k in udp-ip udp-connect udp-sendmsg6 udp-sendmmsg; do
    one "udp-off-$k" "$k EACCES" udp-off --udp off -- "$PY" "$ATTEMPT" "$k"
done
# Sockets the library does not carry (socket_refusal_audit.sh walks every family).
for s in 17,3,768 2,3,1 2,2,1 10,2,58 2,1,132 2,2,136 40,1,0; do
    one "socket-$s" "sock:$s EACCES" strict -- "$PY" "$ATTEMPT" "sock:$s"
done
one socketpair-inet "socketpair-inet EACCES" strict -- "$PY" "$ATTEMPT" socketpair-inet
# A raw socket made before the run (by root, outside it) and inherited: the library
# cannot classify its calls; the supervisor refuses them.
INHERIT='import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
os.set_inheritable(s.fileno(), True)
args = sys.argv[1:]
os.execvp(args[0], [a.replace("FD", str(s.fileno())) for a in args])'
for k in inherited-connect inherited-sendto; do
    exactly_one "$k-raw-socket" "$k EACCES" strict "${IN_CLIENT[@]}" "$PY" -c "$INHERIT" \
        "${STRICT[@]:${#IN_CLIENT[@]}}" -- "$PY" "$ATTEMPT" "$k" FD
done

finish
