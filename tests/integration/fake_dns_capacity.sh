#!/usr/bin/env bash
# Fake DNS that never runs out (issue 19): the table holds as many names as the fake
# range has addresses, and a full range gives back only names no open connection
# holds and nobody looked up for --fake-min-age minutes. The names of the held
# connections are checked where they arrive: web6.socks.test is IPv6-only at the proxy
# side, so Dante's log shows 2001:db8:2::10 only when that name reached it.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher

PROBE_BIN=$SFY_ROOT/build/tests/fake_names
if [[ ! -x $PROBE_BIN ]]; then
    fail all "$PROBE_BIN not built (make build/tests/fake_names)"
    finish
fi
TOKEN=$(token)
URL=socks5h://$SFY_PROXY4:$SFY_PORT_DANTE
SFY+=(-x "$URL")
# Fake ranges wide enough for the counts below; never on any wire.
WIDE=(--fake-net 240.0.0.0/10 --fake-net6 fd53:4f43:4b53::/96)
DANTE_LOG=$SFY_LOG/danted.log

# field KEY: the value of KEY=… in the last run's output.
field() { grep -o "$1=[^ ]*" <<<"$OUT" | head -1 | cut -d= -f2-; }

# --- Capacity follows the range ------------------------------------------------------

# Two million unique names in one run (the old table stopped at 131,070 with EAI_AGAIN),
# every answer reverse-resolving to its own name, and none given back.
run 240 "${SFY[@]}" "${WIDE[@]}" -- "$PROBE_BIN" unique 2000000
if ((RC == 0)) && [[ $OUT == "resolved=2000000 fails=0 wrong=0 first_changed=0 first_error=none" ]]; then
    pass "two-million-unique-names"
else
    fail "two-million-unique-names" "$(why "expected 2000000 resolved, no failure, every reverse right")"
fi

run 20 "${SFY[@]}" "${WIDE[@]}" --check
if [[ $OUT == *"fake-dns: 4194302 names at once"* ]]; then
    pass "check-shows-capacity"
else
    fail "check-shows-capacity" "$(why "expected --check to state 4194302 names")"
fi
run 20 "${IN_CLIENT[@]}" "$SOCKSIFY" --version
check_out "version-shows-capacity" "fake-dns: 1048574 names at once"

# --- A full range keeps names used within the minimum age ------------------------------

# A /24 holds 254 names; the default minimum age (5 min) lets none of them go: further
# new names fail with EAI_AGAIN and one log line, and the first names keep their addresses.
run 60 "${SFY[@]}" --fake-net 240.0.0.0/24 -- "$PROBE_BIN" unique 300
if ((RC == 0)) && [[ $OUT == "resolved=254 fails=46 wrong=0 first_changed=0 first_error=Temporary failure in name resolution" ]] &&
    [[ $ERR == *"fake-DNS range full (254 names), none unused and idle for 5 min"* ]]; then
    pass "min-age-keeps-recent-names"
else
    fail "min-age-keeps-recent-names" "$(why "expected 254 answers, 46 EAI_AGAIN and one log line")"
fi

# --- Recycling under churn: an open connection keeps its name -------------------------

# /24, minimum age 0: 5,000 new names churn through 254 addresses (each given back about
# 20 times) while a connection to web6.socks.test stays open (a forked child closes its
# copy first: the parent's use still counts). Its address is never given
# to another name; the open connection and a second one to the same address still reach
# web6 (Dante connects to its IPv6-only address); echo.socks.test, looked up first and
# never connected to, is given back and, asked again, gets an address that works.
audit=$SFY_TMP/audit.jsonl
dante_before=$(stat -c %s "$DANTE_LOG")
run 120 "${SFY[@]}" --fake-net 240.0.0.0/24 --fake-min-age 0 -v --audit "$audit" -- \
    "$PROBE_BIN" hold "$SFY_NAME_WEB6" "$SFY_PORT_HTTP" 5000 "$SFY_NAME_ECHO"
dante_new=$(tail -c +"$((dante_before + 1))" "$DANTE_LOG")
v6_connects=$(grep -c "tcp/connect \[: .* -> 2001:db8:2::10\.[0-9]* 2001:db8:2::10\.$SFY_PORT_HTTP" <<<"$dante_new" || true)
if ((RC == 0)) && [[ $(field churned) == 5000 && $(field fails) == 0 && $(field wrong) == 0 ]]; then
    pass "churn-every-answer-reverses-to-its-name"
else
    fail "churn-every-answer-reverses-to-its-name" "$(why "expected 5000 answers, each reverse-resolving to its name")"
fi
if ((RC == 0)) && [[ $(field held_given_to_other) == 0 && $(field held_peer_name) == "$SFY_NAME_WEB6" &&
    $(field held_name_after) == "$SFY_NAME_WEB6" ]]; then
    pass "open-connection-keeps-its-address"
else
    fail "open-connection-keeps-its-address" "$(why "expected the held address never given to another name")"
fi
if [[ $(field held_body) == "$TOKEN" && $(field second_body) == "$TOKEN" ]] && ((v6_connects >= 2)); then
    pass "open-connection-keeps-reaching-its-name"
else
    fail "open-connection-keeps-reaching-its-name" "$(why "expected both connections to reach $SFY_NAME_WEB6 (Dante: $v6_connects connects to its IPv6 address)")"
fi
if [[ $(field gone_reused) =~ ^[1-9] && $(field gone_again_name) == "$SFY_NAME_ECHO" &&
    $(field gone_again_body) == "$TOKEN" ]]; then
    pass "recycled-name-gets-working-address"
else
    fail "recycled-name-gets-working-address" "$(why "expected echo's address given back, then a new one that works")"
fi
recycled_lines=$(grep -c "fake-DNS range full: gave back" <<<"$ERR" || true)
recycled_audit=$(grep -c '"reason":"recycled"' "$audit" 2>/dev/null || true)
audit_lines=$(wc -l <"$audit" 2>/dev/null || echo 0)
# One process wrote it: every line one well-formed record.
audit_ok=$("$PY" "$PROGRAMS/audit_check.py" whole "$audit" "$audit_lines" "$audit_lines" 2>&1 || true)
if ((recycled_lines >= 4500 && recycled_audit == recycled_lines)) &&
    grep -q "\"name\":\"$SFY_NAME_ECHO\".*\"reason\":\"recycled\"" "$audit" &&
    ! grep -q "\"name\":\"$SFY_NAME_WEB6\".*\"reason\":\"recycled\"" "$audit" &&
    [[ $audit_ok == ok ]]; then
    pass "recycling-in-log-and-audit"
else
    fail "recycling-in-log-and-audit" "$(why "expected one -v line and one audit record per name given back ($recycled_lines lines, $recycled_audit records, check: $audit_ok), none for the held name")"
fi

# --- Many processes and threads agree ---------------------------------------------------

# 16 processes x 8 threads: 500 names all of them resolve (each in its own order) and
# 1,100 of each thread's own (140,800 in all: more than the old table held).
run 240 "${SFY[@]}" "${WIDE[@]}" -- "$PROBE_BIN" many 16 8 500 1100
if ((RC == 0)) && [[ $OUT == "crashed=0 missing=0 inconsistent=0 wrong_shared=0 unique_bad=0" ]]; then
    pass "sixteen-processes-eight-threads-agree"
else
    fail "sixteen-processes-eight-threads-agree" "$(why "expected one address per shared name across all processes, every reverse right")"
fi

finish
