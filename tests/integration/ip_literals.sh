#!/usr/bin/env bash
# IP literals spelled other ways are addresses, and strings that are no host name fail
# as they fail without socksify (issue 11, class 5).
# - Under --deny 203.0.113.0/24, every spelling of 203.0.113.10 (trailing dot, one
#   number, hex, octal, short forms) is denied with EACCES by that network rule,
#   through curl and python: nothing reaches the proxy (Dante's log stays still), no
#   lookup record, no query at the client's resolver.
# - Allowed, the same spellings reach the destination by address (the audit record
#   has the address and no name: no DOMAINNAME was sent).
# - Strings the resolver rejects (bad characters, bad lengths, control bytes) get
#   exactly the EAI_*/h_errno they get without socksify, mistyped addresses
#   (1.2.3.4.5) are not found, and none of them enters the fake-DNS table (the next
#   name gets the first fake address).
# - Scoped IPv6 literals keep their scope id and never get a fake address.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher
require_names

T=20
TOKEN=$(token)
ensure_scratch
NAMES=$PROGRAMS/names_probe.py
CHECK=$PROGRAMS/audit_check.py
PROXY=socks5h://$SFY_PROXY4:$SFY_PORT_DANTE
AUDIT=$SFY_TMP/audit.log
DANTE_LOG=$SFY_LOG/danted.log

# 203.0.113.10 spelled the ways inet_aton and getaddrinfo read it (and with the dot).
SPELLINGS=(203.0.113.10. 3405803786 0xcb00710a 0xcb.0.0x71.0xa 0313.0.0161.012 203.28938
    203.0.28938 0XCB.0.113.10 3405803786.)

# audit_is NAME SPEC...: the audit log holds exactly SPEC (audit_check.py records).
audit_is() {
    local name=$1 got
    shift
    got=$("$PY" "$CHECK" records "$AUDIT" 0 "$@" 2>&1) || true
    if [[ $got == ok ]]; then pass "$name"; else fail "$name" "$(oneline "$got")"; fi
}

# no_query NAME TEXT: the client's resolver was not asked for TEXT in the last run.
no_query() {
    if log_new client-dns | grep -E 'query\[[A-Z0-9]+\] ' | grep -qiF " $2 from "; then
        fail "$1" "the client resolver was asked for $2"
    else
        pass "$1"
    fi
}

# --- denied by the network rule, in every spelling -------------------------------------

DENY=("${SFY[@]}" --deny 203.0.113.0/24 --audit "$AUDIT" -x "$PROXY" --)
for form in "${SPELLINGS[@]}"; do
    : >"$AUDIT"
    before=$(stat -c %s "$DANTE_LOG")
    run $T "${DENY[@]}" "$PY" "$PROBE" errno "$form" "$SFY_PORT_HTTP"
    after=$(stat -c %s "$DANTE_LOG")
    if [[ $OUT == "PermissionError EACCES"* && $ERR == *"denied by policy: connect to 203.0.113.10:80"* ]] &&
        ((before == after)); then
        pass "deny-python-$form"
    else
        fail "deny-python-$form" "$(why "expected EACCES by the network rule, nothing at the proxy ($before/$after bytes of danted.log)")"
    fi
    audit_is "deny-python-$form-audit" "connect 203.0.113.10 80 deny policy"
    no_query "deny-python-$form-no-dns" "$form"
done

# curl keeps the trailing dot (it normalises the number forms itself).
: >"$AUDIT"
before=$(stat -c %s "$DANTE_LOG")
run $T "${DENY[@]}" curl -sS -m 10 -o /dev/null "http://203.0.113.10./hello.txt"
after=$(stat -c %s "$DANTE_LOG")
if ((RC == 7 && before == after)) && [[ $ERR == *"denied by policy: connect to 203.0.113.10:80"* ]]; then
    pass deny-curl-trailing-dot
else
    fail deny-curl-trailing-dot "$(why "expected curl exit 7 by the network rule, nothing at the proxy")"
fi
audit_is deny-curl-trailing-dot-audit "connect 203.0.113.10 80 deny policy"

# --- allowed: reached by address, never as a name --------------------------------------

ALLOW=("${SFY[@]}" --audit "$AUDIT" -x "$PROXY" --)
: >"$AUDIT"
run $T "${ALLOW[@]}" curl -sS -m 10 "http://203.0.113.10./hello.txt"
check_out allow-curl-trailing-dot "$TOKEN"
audit_is allow-curl-trailing-dot-by-address "connect 203.0.113.10 80 allow ok"
for form in 203.0.113.10. 0xcb.0.0x71.0xa 3405803786; do
    : >"$AUDIT"
    run $T "${ALLOW[@]}" "$PY" "$PROBE" echo "$form" "$SFY_PORT_ECHO" "$TOKEN"
    check_out "allow-python-$form" "$TOKEN"
    audit_is "allow-python-$form-by-address" "connect 203.0.113.10 $SFY_PORT_ECHO allow ok"
done

# --- strings that are no host name: libc's own answer, nothing in the table ----------------

JUNK=('0.1.1.~1' 'a b.example' 'a\x01b.example' 'a\x7fb.example' 'tab\there.example'
    'new\nline.example' '-lead.example' 'a..b.example' '.a.example' '..' '*' '' 'a\\.b.example'
    'esc\x1b[31m.example' 'under_score~.example' 'caf\xe9.example'
    "$(printf 'a%.0s' {1..64}).example" "$(printf 'a.%.0s' {1..127})aa")
run $T "${IN_CLIENT[@]}" "$PY" "$NAMES" lookup "${JUNK[@]}"
want=$OUT
if ((RC != 0)) || [[ -z $want ]]; then
    fail junk-baseline "$(why "the probe failed without socksify")"
fi
if [[ -n $(log_new client-dns | grep -E 'query\[' || true) ]]; then
    fail junk-baseline-no-dns "libc asked the resolver about a junk string: $(oneline "$(log_new client-dns)")"
fi
: >"$AUDIT"
run $T "${ALLOW[@]}" "$PY" "$NAMES" lookup "${JUNK[@]}" "$SFY_NAME_WEB"
if [[ $OUT == "$want"$'\n'"$SFY_NAME_WEB gai=0:240.0.0.1 ghbn=0/0:240.0.0.1" ]]; then
    pass junk-fails-as-without-socksify
else
    fail junk-fails-as-without-socksify "$(why "expected libc's answers: $(oneline "$want"), then $SFY_NAME_WEB as the first fake address")"
fi
audit_is junk-no-lookup-records "lookup $SFY_NAME_WEB - allow ok" "lookup $SFY_NAME_WEB - allow ok"

# Mistyped addresses (a numeric last label) are no names either: not found, no query,
# not faked (without socksify libc would ask the resolver, which answers NXDOMAIN).
NOT_HOSTS=(1.2.3.4.5 08.1.1.1 4294967296 203.0.113.256 foo.123 0x7f.0x100.1 1.2.3.4.5.)
run $T "${ALLOW[@]}" "$PY" "$NAMES" lookup "${NOT_HOSTS[@]}" "$SFY_NAME_WEB"
want=""
for n in "${NOT_HOSTS[@]}"; do want+="$n gai=$((-2)) ghbn=0/1"$'\n'; done
want+="$SFY_NAME_WEB gai=0:240.0.0.1 ghbn=0/0:240.0.0.1"
if [[ $OUT == "$want" && -z $(log_new client-dns | grep -E 'query\[' || true) ]]; then
    pass mistyped-addresses-not-found
else
    fail mistyped-addresses-not-found "$(why "expected not found and no query: $(oneline "$want")")"
fi

# --- scoped IPv6 literals: the address and its scope id, as libc gives them -------------------

SCOPED=('fe80::1%lo' 'ff02::1de:c0:face:8d%lo' '::ffff:127.0.0.1%1' 'fe80::1%1' 'fe80::1%nosuchif'
    'fe80::1%' '2001:db8::1%7')
run $T "${IN_CLIENT[@]}" "$PY" "$NAMES" lookup "${SCOPED[@]}"
want=$OUT
run $T "${ALLOW[@]}" "$PY" "$NAMES" lookup "${SCOPED[@]}"
if ((RC == 0)) && [[ $OUT == "$want" && $OUT == *"fe80::1%1"* ]]; then
    pass scoped-literals-keep-their-scope
else
    fail scoped-literals-keep-their-scope "$(why "expected libc's answers: $(oneline "$want")")"
fi

# --- link-local destinations: direct with the scope id when listed, else refused --------
# The client's own link-local address on its link, at a closed port: reached directly
# with its scope id the kernel answers ECONNREFUSED (without the scope id: EINVAL);
# through the proxy it would be another host's address on the proxy's link.
IFACE=$(in_client ip -o link show | awk -F': ' '$2 != "lo" {sub(/@.*/, "", $2); print $2; exit}')
LL=$(in_client ip -6 -o addr show dev "$IFACE" scope link | awk '{sub(/\/.*/, "", $4); print $4; exit}')
if [[ -z $LL ]]; then
    skip link-local "no link-local address on $IFACE in the client namespace"
else
    DEST="$LL%$IFACE"
    run $T "${IN_CLIENT[@]}" "$PY" "$NAMES" connect "$DEST" "$SFY_PORT_CLOSED"
    if [[ $OUT == "ConnectionRefusedError ECONNREFUSED"* ]]; then
        pass link-local-baseline
    else
        fail link-local-baseline "$(why "expected ECONNREFUSED without socksify")"
    fi
    for mode in default strict; do
        extra=()
        [[ $mode == strict ]] && extra=(--strict)
        : >"$AUDIT"
        before=$(stat -c %s "$DANTE_LOG")
        run $T "${SFY[@]}" "${extra[@]}" --audit "$AUDIT" -x "$PROXY" -- \
            "$PY" "$NAMES" connect "$DEST" "$SFY_PORT_CLOSED"
        after=$(stat -c %s "$DANTE_LOG")
        if [[ $OUT == "PermissionError EACCES"* && $ERR == *link-local* ]] && ((before == after)); then
            pass "link-local-refused-$mode"
        else
            fail "link-local-refused-$mode" "$(why "expected EACCES, nothing at the proxy")"
        fi
        audit_is "link-local-refused-$mode-audit" "connect $LL $SFY_PORT_CLOSED deny link-local"
    done
    run $T "${SFY[@]}" --direct "fe80::/10,127.0.0.0/8,::1/128" -x "$PROXY" -- \
        "$PY" "$NAMES" connect "$DEST" "$SFY_PORT_CLOSED"
    if [[ $OUT == "ConnectionRefusedError ECONNREFUSED"* ]]; then
        pass link-local-direct-keeps-scope
    else
        fail link-local-direct-keeps-scope "$(why "expected ECONNREFUSED: direct, with the scope id")"
    fi
    # A datagram to link-local multicast: refused the same way.
    run $T "${SFY[@]}" -x "$PROXY" -- "$PY" "$PROGRAMS/udp_probe.py" errno "ff02::1de:c0:face:8d%lo" 5353
    if [[ $OUT == "PermissionError EACCES"* && $ERR == *link-local* ]]; then
        pass link-local-udp-refused
    else
        fail link-local-udp-refused "$(why "expected EACCES")"
    fi
fi

finish
