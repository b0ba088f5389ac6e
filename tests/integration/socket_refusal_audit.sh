#!/usr/bin/env bash
# Issue 11, class 8: a socket refused by --strict is recorded with what was refused.
# Walks every domain 0-45 with every socket type (and a few protocols of IPv4/IPv6):
# each socket() that fails with EACCES gives exactly one refusal/strict record, in
# order, naming socket(<domain>, <type>, <protocol>) as Python names them. No test
# world: nothing connects.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_launcher
ensure_scratch
AUDIT=$SFY_TMP/audit.jsonl

run 60 "$SOCKSIFY" --strict -q --audit "$AUDIT" -x socks5h://127.0.0.1:1 -- "$PY" -c '
import errno, socket
types = [socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_RAW, socket.SOCK_RDM,
         socket.SOCK_SEQPACKET, 6, 10, socket.SOCK_RAW | socket.SOCK_NONBLOCK]
cases = [(d, t, 0) for d in range(46) for t in types]
cases += [(f, socket.SOCK_RAW, p) for f in (socket.AF_INET, socket.AF_INET6) for p in (1, 58, 255)]
cases += [(socket.AF_PACKET, socket.SOCK_RAW, 768)]
def name(d, t):
    try:
        dn = socket.AddressFamily(d).name
    except ValueError:
        dn = "?"
    base = t & 0xf
    tn = {6: "SOCK_DCCP", 10: "SOCK_PACKET"}.get(base) or socket.SocketKind(base).name
    if t & socket.SOCK_NONBLOCK:
        tn += "|SOCK_NONBLOCK"
    return dn, tn + "|SOCK_CLOEXEC"  # Python adds it to every socket
refused = 0
for d, t, p in cases:
    try:
        socket.socket(d, t, p).close()
    except OSError as e:
        if e.errno == errno.EACCES:
            dn, tn = name(d, t)
            print("%s %s %d" % (dn, tn, p))
            refused += 1
print("refused", refused)
'
readarray -t WANT < <(grep -v '^refused' <<<"$OUT")
readarray -t GOT < <(grep '"kind":"refusal"' "$AUDIT" 2>/dev/null |
    sed -nE 's/.*"name":"socket\(([^,]*), ([^,]*), (-?[0-9]+)\)".*"reason":"strict".*/\1 \2 \3/p')
records=$(grep -c '"kind":"refusal"' "$AUDIT" 2>/dev/null || true)
if ((RC != 0)) || ((${#WANT[@]} < 100)); then
    fail every-refusal-recorded "$(why "expected most of the walk refused under --strict")"
elif ((records != ${#WANT[@]} || ${#GOT[@]} != ${#WANT[@]})); then
    fail every-refusal-recorded "${#WANT[@]} refused, $records refusal records, ${#GOT[@]} naming a socket"
else
    pass every-refusal-recorded
    bad=""
    for i in "${!WANT[@]}"; do
        w=${WANT[$i]}
        g=${GOT[$i]}
        # Python has no name for some domains: then only the type and protocol count.
        [[ $w == "? "* ]] && w="${g%% *} ${w#? }"
        [[ $g == "$w" ]] || bad+=" [$g != $w]"
    done
    if [[ -z $bad ]]; then
        pass record-names-domain-type-protocol
    else
        fail record-names-domain-type-protocol "$(oneline "$bad")"
    fi
fi
finish
