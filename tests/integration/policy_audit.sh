#!/usr/bin/env bash
# Allow/deny policy and the audit log, as a CI job uses them: under --strict
# --default-deny --allow web.socks.test:80 --allow echo.socks.test --audit FILE the
# allowed names work through the proxy (curl, python, UDP), everything else fails with
# the documented error (EACCES for a connection or datagram, EAI_FAIL for a lookup)
# and one log line, and the audit log holds one well-formed JSON record per attempt.
# Then: denial by address, --audit-summary, 16 concurrent writers, no password in the
# log, and the same job from a config file and from a proxychains.conf.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher
require_names

T=20
TOKEN=$(token)
ensure_scratch
CHECK=$PROGRAMS/audit_check.py
UDPP=$PROGRAMS/udp_probe.py
WEB=$SFY_NAME_WEB
ECHO=$SFY_NAME_ECHO
DENIED_NAME=$SFY_NAME_GIT
PROXY=socks5h://$SFY_PROXY4:$SFY_PORT_DANTE
AUDIT=$SFY_TMP/audit.log
: >"$AUDIT"

# audit_mark FILE: later audit_is calls look only at what FILE gets from now on.
AUDIT_FILE=$AUDIT
AUDIT_MARK=0
audit_mark() {
    AUDIT_FILE=${1:-$AUDIT}
    AUDIT_MARK=$( (wc -l <"$AUDIT_FILE") 2>/dev/null || echo 0)
}

# audit_is NAME SPEC...: the records appended since audit_mark are exactly SPEC
# ("KIND DEST PORT VERDICT REASON", see audit_check.py), each one well-formed.
audit_is() {
    local name=$1 got
    shift
    got=$("$PY" "$CHECK" records "$AUDIT_FILE" "$AUDIT_MARK" "$@" 2>&1) || true
    if [[ $got == ok ]]; then pass "$name"; else fail "$name" "$(oneline "$got")"; fi
}

# denied_once NAME WANT: the last run logged exactly one "denied by policy" line, with WANT.
denied_once() {
    local n
    n=$(grep -c "denied by policy" <<<"$ERR" || true)
    if ((n == 1)) && [[ $ERR == *"$2"* ]]; then
        pass "$1"
    else
        fail "$1" "$(why "expected one 'denied by policy' line with '$2'")"
    fi
}

# expect NAME CONDITION-TEXT: pass when the last run's stdout is exactly WANT.
out_is() {
    if [[ $OUT == "$2" ]]; then pass "$1"; else fail "$1" "$(why "expected stdout '$2'")"; fi
}

# --- the CI job ----------------------------------------------------------------------------

JOB=("${SFY[@]}" --strict --default-deny --allow "$WEB:80" --allow "$ECHO" --audit "$AUDIT"
    -x "$PROXY" --)

audit_mark
run $T "${JOB[@]}" curl -sS "http://$WEB/hello.txt"
check_out_noleak ci-curl-allowed-name "$TOKEN"
audit_is ci-curl-allowed-audit "lookup $WEB - allow ok" "connect $WEB 80 allow ok"

audit_mark
run $T "${JOB[@]}" "$PY" "$PROBE" echo "$ECHO" "$SFY_PORT_ECHO" "$TOKEN"
check_out_noleak ci-python-tcp-allowed-name "$TOKEN"
audit_is ci-python-tcp-allowed-audit "lookup $ECHO - allow ok" \
    "connect $ECHO $SFY_PORT_ECHO allow ok"

# Under --strict the supervisor makes every datagram to the relay itself, judged by
# the name behind the fake address: an allowed name's datagram goes through.
audit_mark
run $T "${JOB[@]}" "$PY" "$UDPP" echo "$ECHO" "$SFY_PORT_UDP_ECHO" "$TOKEN"
check_out_noleak ci-python-udp-allowed-name "$TOKEN from "
audit_is ci-python-udp-allowed-audit "lookup $ECHO - allow ok" \
    "udp $ECHO $SFY_PORT_UDP_ECHO allow ok"

# A port the rule does not allow: the lookup works, the connection is denied.
audit_mark
run $T "${JOB[@]}" curl -sSv "http://$WEB:$SFY_PORT_WHOAMI/"
if ((RC == 7)) && [[ $ERR == *"Permission denied"* ]]; then
    pass ci-curl-denied-port-exit-7-permission-denied
else
    fail ci-curl-denied-port-exit-7-permission-denied "$(why "expected curl exit 7 and 'Permission denied'")"
fi
denied_once ci-curl-denied-port-one-log-line "connect to $WEB:$SFY_PORT_WHOAMI (default deny)"
audit_is ci-curl-denied-port-audit "lookup $WEB - allow ok" \
    "connect $WEB $SFY_PORT_WHOAMI deny policy"

audit_mark
run $T "${JOB[@]}" "$PY" "$PROBE" errno "$WEB" "$SFY_PORT_WHOAMI"
if ((RC == 0)) && [[ $OUT == "PermissionError EACCES "* ]]; then
    pass ci-python-denied-port-permission-error
else
    fail ci-python-denied-port-permission-error "$(why "expected PermissionError EACCES")"
fi
audit_is ci-python-denied-port-audit "lookup $WEB - allow ok" \
    "connect $WEB $SFY_PORT_WHOAMI deny policy"

# A name no rule allows: the lookup itself fails (EAI_FAIL) and never leaves.
audit_mark
run $T "${JOB[@]}" "$PY" -c '
import socket, sys
try:
    socket.getaddrinfo(sys.argv[1], 80)
    print("resolved")
except socket.gaierror as e:
    print("EAI_FAIL" if e.errno == socket.EAI_FAIL else "errno %d" % e.errno)
' "$DENIED_NAME"
check_out_noleak ci-python-denied-lookup-eai-fail EAI_FAIL
denied_once ci-python-denied-lookup-one-log-line "lookup of $DENIED_NAME (default deny)"
audit_is ci-python-denied-lookup-audit "lookup $DENIED_NAME - deny policy"

audit_mark
run $T "${JOB[@]}" curl -sS "http://$DENIED_NAME/"
if ((RC == 6)) && [[ -z $(dns_leaks) ]]; then
    pass ci-curl-denied-lookup-exit-6
else
    fail ci-curl-denied-lookup-exit-6 "$(why "expected curl exit 6 and no DNS leak")"
fi
audit_is ci-curl-denied-lookup-audit "lookup $DENIED_NAME - deny policy"

# gethostbyname: NULL with h_errno NO_RECOVERY (3).
audit_mark
run $T "${JOB[@]}" "$PY" -c '
import ctypes, sys
libc = ctypes.CDLL(None)
libc.gethostbyname.restype = ctypes.c_void_p
loc = libc.__h_errno_location
loc.restype = ctypes.POINTER(ctypes.c_int)
r = libc.gethostbyname(sys.argv[1].encode())
print("found" if r else "null", loc()[0])
' "$DENIED_NAME"
out_is ci-gethostbyname-denied-no-recovery "null 3"
audit_is ci-gethostbyname-denied-audit "lookup $DENIED_NAME - deny policy"

# UDP to a name that is allowed on another port only.
audit_mark
run $T "${JOB[@]}" "$PY" "$UDPP" errno "$WEB" "$SFY_PORT_UDP_ECHO"
out_is ci-udp-denied-eacces "PermissionError EACCES"
denied_once ci-udp-denied-one-log-line "UDP to $WEB:$SFY_PORT_UDP_ECHO (default deny)"
audit_is ci-udp-denied-audit "lookup $WEB - allow ok" "udp $WEB $SFY_PORT_UDP_ECHO deny policy"

# An IP literal: no rule allows the address, so the default denies it.
audit_mark
run $T "${JOB[@]}" curl -sSv "http://$SFY_DEST4/hello.txt"
# (A direct attempt would fail too, with "Network is unreachable": the errno tells.)
if ((RC == 7)) && [[ $ERR == *"Permission denied"* ]]; then
    pass ci-ip-literal-denied-by-default
else
    fail ci-ip-literal-denied-by-default "$(why "expected curl exit 7 and 'Permission denied'")"
fi
denied_once ci-ip-literal-denied-one-log-line "connect to $SFY_DEST4:80 (default deny)"
audit_is ci-ip-literal-denied-audit "connect $SFY_DEST4 80 deny policy"

# Strict mode's refusals are recorded too.
audit_mark
run $T "${JOB[@]}" "$PY" -c '
import socket
try:
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    print("created")
except PermissionError:
    print("PermissionError")
'
out_is ci-raw-socket-refused PermissionError
audit_is ci-raw-socket-audit "refusal socket(AF_INET, SOCK_RAW|SOCK_CLOEXEC, 1) - deny strict"

# A program the preload cannot reach is refused by the launcher, and recorded.
cp /bin/true "$SFY_TMP/setuid_true"
chmod 4755 "$SFY_TMP/setuid_true"
audit_mark
run $T "${JOB[@]}" "$SFY_TMP/setuid_true"
if ((RC == 2)) && [[ $ERR == *"is setuid: the preloaded library cannot act in it (refused in --strict mode)"* ]]; then
    pass ci-setuid-program-refused
else
    fail ci-setuid-program-refused "$(why "expected exit 2")"
fi
audit_is ci-setuid-program-audit "refusal - - deny not-preloadable"
if tail -n 1 "$AUDIT" | grep -q '"program":"setuid_true"'; then
    pass ci-setuid-program-audit-names-it
else
    fail ci-setuid-program-audit-names-it "$(oneline "$(tail -n 1 "$AUDIT")")"
fi

# The log's fd is hidden: closing every fd leaves it open, and records still come.
audit_mark
run $T "${JOB[@]}" "$PY" -c '
import os, resource, socket, sys
host, port, token, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
socket.getaddrinfo(host, port)  # starts the shim: the log is open from now on
def log_fds():
    return sorted(fd for fd in os.listdir("/proc/self/fd")
                  if os.path.realpath("/proc/self/fd/" + fd) == log)
before = log_fds()
os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
for fd in before:
    try:
        os.close(int(fd))
    except OSError:
        pass
s = socket.create_connection((host, port), timeout=10)
s.sendall(token.encode() + b"\n")
print(s.recv(200).decode().strip(), len(before), before == log_fds())
' "$ECHO" "$SFY_PORT_ECHO" "$TOKEN" "$(realpath "$AUDIT")"
# Under --strict the log is the supervisor's: the job holds no fd of it at all.
out_is ci-audit-fd-survives-closing-every-fd "$TOKEN 0 True"
audit_is ci-audit-fd-survives-audit "lookup $ECHO - allow ok" "lookup $ECHO - allow ok" \
    "connect $ECHO $SFY_PORT_ECHO allow ok"

# A shell running several programs: each attempt one record, in order.
audit_mark
run $T "${JOB[@]}" sh -c 'curl -sS "http://$1/hello.txt" >/dev/null; curl -sS "http://$2/" 2>/dev/null; exit 0' \
    sh "$WEB" "$DENIED_NAME"
audit_is ci-shell-records-each-program "lookup $WEB - allow ok" "connect $WEB 80 allow ok" \
    "lookup $DENIED_NAME - deny policy"

# res_query carried over TCP (--dns-tcp): the policy judges the name asked about.
DNSP=$PROGRAMS/dns_probe.py
DJOB=("${JOB[@]:0:${#JOB[@]}-1}" --dns-tcp "$SFY_DEST4" --)
audit_mark
run $T "${DJOB[@]}" "$PY" "$DNSP" resq "$WEB"
if ((RC == 0)) && [[ $OUT =~ ^rc=[1-9][0-9]*\ h_errno=0\ answers=$SFY_DEST4$ ]]; then
    pass ci-res-query-carried-allowed-name
else
    fail ci-res-query-carried-allowed-name "$(why "expected the proxy side's nameserver to answer")"
fi
audit_is ci-res-query-carried-audit "lookup $WEB - allow ok"
if tail -n 1 "$AUDIT" | grep -q "\"address\":\"$SFY_DEST4\".*\"proxy\":\"$SFY_PROXY4:$SFY_PORT_DANTE\""; then
    pass ci-res-query-carried-audit-names-server-and-proxy
else
    fail ci-res-query-carried-audit-names-server-and-proxy "$(oneline "$(tail -n 1 "$AUDIT")")"
fi
audit_mark
run $T "${DJOB[@]}" "$PY" "$DNSP" resq "$DENIED_NAME"
if [[ $OUT == "rc=-1 h_errno=3 answers=" ]] && ! log_new proxy-dns | grep -qF "$DENIED_NAME"; then
    pass ci-res-query-denied-name-never-asked
else
    fail ci-res-query-denied-name-never-asked "$(why "expected NO_RECOVERY and no query at the nameserver")"
fi
denied_once ci-res-query-denied-one-log-line "lookup of $DENIED_NAME (default deny)"
audit_is ci-res-query-denied-audit "lookup $DENIED_NAME - deny policy"

# --- denial by address ---------------------------------------------------------------------

ADDR_JOB=("${SFY[@]}" --deny 203.0.113.0/24 --deny "[2001:db8:2::/64]:$SFY_PORT_ECHO"
    --audit "$AUDIT" -x "$PROXY" --)
audit_mark
run $T "${ADDR_JOB[@]}" curl -sSv "http://$SFY_DEST4/hello.txt"
if ((RC == 7)) && [[ $ERR == *"Permission denied"* ]]; then
    pass address-denied-curl-exit-7
else
    fail address-denied-curl-exit-7 "$(why "expected curl exit 7 and 'Permission denied'")"
fi
denied_once address-denied-log-names-rule "connect to $SFY_DEST4:80 (rule 1: deny 203.0.113.0/24)"
audit_is address-denied-audit "connect $SFY_DEST4 80 deny policy"

audit_mark
run $T "${ADDR_JOB[@]}" "$PY" "$PROBE" errno "$SFY_DEST4" "$SFY_PORT_ECHO"
if [[ $OUT == "PermissionError EACCES "* ]]; then pass address-denied-python-eacces; else fail address-denied-python-eacces "$(why)"; fi

# By name the address rule does not apply: the proxy resolves the name.
audit_mark
run $T "${ADDR_JOB[@]}" curl -sS "http://$WEB/hello.txt"
check_out_noleak address-rule-does-not-judge-names "$TOKEN"
audit_is address-rule-does-not-judge-names-audit "lookup $WEB - allow ok" "connect $WEB 80 allow ok"

audit_mark
run $T "${ADDR_JOB[@]}" "$PY" "$PROBE" errno "$SFY_DEST6" "$SFY_PORT_ECHO"
if [[ $OUT == "PermissionError EACCES "* ]]; then pass ipv6-port-rule-denies; else fail ipv6-port-rule-denies "$(why)"; fi
audit_is ipv6-port-rule-denies-audit "connect $SFY_DEST6 $SFY_PORT_ECHO deny policy"
audit_mark
run $T "${ADDR_JOB[@]}" "$PY" "$PROBE" read "$SFY_DEST6" "$SFY_PORT_WHOAMI"
# The whoami server sees the proxy side, never the client.
if ((RC == 0)) && [[ -n $OUT && " $SFY_DEST6 $SFY_PROXY6 " == *" $OUT "* ]]; then
    pass ipv6-other-port-allowed
else
    fail ipv6-other-port-allowed "$(why "expected one of: $SFY_DEST6 $SFY_PROXY6")"
fi
audit_is ipv6-other-port-allowed-audit "connect $SFY_DEST6 $SFY_PORT_WHOAMI allow ok"

# UDP: one record per association and destination, not per datagram.
audit_mark
run $T "${SFY[@]}" --audit "$AUDIT" -x "$PROXY" -- "$PY" -c '
import socket, sys
name, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
by_name = socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_DGRAM)[0][4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
got = 0
for i in range(3):
    for dest in (by_name, (addr, port)):
        s.sendto(b"ping %d" % i, dest)
        got += len(s.recvfrom(100)[0]) > 0
print(got)
' "$ECHO" "$SFY_DEST4" "$SFY_PORT_UDP_ECHO"
out_is udp-six-datagrams-two-destinations 6
audit_is udp-one-record-per-destination "lookup $ECHO - allow ok" \
    "udp $ECHO $SFY_PORT_UDP_ECHO allow ok" "udp $SFY_DEST4 $SFY_PORT_UDP_ECHO allow ok"

# A proxy error is an "error" record with the errno's name.
audit_mark
run $T "${SFY[@]}" --audit "$AUDIT" -x "$PROXY" -- "$PY" "$PROBE" errno "$WEB" "$SFY_PORT_CLOSED"
audit_is proxy-refusal-is-an-error-record "lookup $WEB - allow ok" \
    "connect $WEB $SFY_PORT_CLOSED error ECONNREFUSED"

# --- --audit-summary -----------------------------------------------------------------------

run 10 "$SOCKSIFY" --audit-summary "$AUDIT"
records=$(wc -l <"$AUDIT")
if ((RC == 0)) && [[ $OUT == *"DESTINATION"*"PORT"*"KIND"*"COUNT"*"ALLOWED"*"DENIED"* &&
    $(tail -n 1 <<<"$OUT") == "$records records,"* && $OUT != *malformed* ]]; then
    pass summary-of-the-job-log
else
    fail summary-of-the-job-log "$(why "expected a table over $records records")"
fi
# The web name's connects: allowed on port 80 in three runs, denied on 8 in two.
row80=$(grep -E "^$WEB +80 +connect " <<<"$OUT" || true)
row8=$(grep -E "^$WEB +$SFY_PORT_WHOAMI +connect " <<<"$OUT" || true)
if [[ $(awk '{print $4, $5, $6}' <<<"$row80") == "3 3 0" &&
    $(awk '{print $4, $5, $6}' <<<"$row8") == "2 0 2" ]]; then
    pass summary-counts-per-destination
else
    fail summary-counts-per-destination "$(oneline "rows: '$row80' '$row8'")"
fi

SUM=$SFY_TMP/summary.log
{
    for i in 1 2 3; do
        printf '{"time":"2026-11-27T00:00:0%d.000Z","pid":1,"program":"curl","kind":"connect","name":"a.test","address":null,"port":443,"proxy":"198.51.100.1:1080","verdict":"allow","reason":"ok","ms":1}\n' "$i"
    done
    printf '{"time":"2026-11-27T00:00:04.000Z","pid":1,"program":"curl","kind":"connect","name":null,"address":"192.0.2.1","port":80,"proxy":null,"verdict":"deny","reason":"policy","ms":0}\n'
    printf 'this is not json\n'
    printf '{"time":"2026-11-27T00:00:05.000Z","pid":2,"program":"dig","kind":"lookup","name":"a.test","address":"240.0.0.1","port":null,"proxy":null,"verdict":"allow","reason":"ok","ms":0}\n'
    printf '{"kind":"connect","verdict":"allow"\n'
    printf '{"time":"2026-11-27T00:00:06.000Z","pid":1,"program":"curl","kind":"connect","name":"a.test","address":null,"port":443,"proxy":"198.51.100.1:1080","verdict":"error","reason":"ETIMEDOUT","ms":10000}\n'
} >"$SUM"
run 10 "$SOCKSIFY" --audit-summary "$SUM"
want="DESTINATION   PORT  KIND       COUNT  ALLOWED   DENIED   ERRORS
a.test         443  connect        4        3        0        1
192.0.2.1       80  connect        1        0        1        0
a.test           -  lookup         1        1        0        0
6 records, 3 destinations, 2 malformed lines skipped (first: line 5)"
if ((RC == 0)) && [[ $OUT == "$want" ]]; then
    pass summary-table-sorted-by-count-malformed-reported
else
    fail summary-table-sorted-by-count-malformed-reported "$(why "expected: $(oneline "$want")")"
fi
run 10 "$SOCKSIFY" --audit-summary "$SFY_TMP/no-such.log"
if ((RC == 2)) && [[ $ERR == "socksify: cannot read audit log"* ]]; then
    pass summary-missing-file-exit-2
else
    fail summary-missing-file-exit-2 "$(why)"
fi

# --- concurrent writers --------------------------------------------------------------------

# 16 processes, 200 lookups each, records of about 400 bytes: only whole lines.
CONC=$SFY_TMP/concurrent.log
run 120 "${SFY[@]}" --audit "$CONC" -x "$PROXY" -- sh -c '
for i in $(seq 16); do
    "$1" -c "
import socket, sys
i = sys.argv[1]
for j in range(200):
    socket.getaddrinfo(\"%s.%s.%s.w%s-%d.socks.test\" % (\"a\" * 60, \"b\" * 60, \"c\" * 60, i, j), 80)
" "$i" &
done
wait' sh "$PY"
got=$("$PY" "$CHECK" whole "$CONC" 3200 200 2>&1) || true
if ((RC == 0)) && [[ $got == ok ]]; then
    pass sixteen-concurrent-writers-whole-lines
else
    fail sixteen-concurrent-writers-whole-lines "$(why "$got")"
fi

# --- no password in the log ------------------------------------------------------------------

PW_LOG=$SFY_TMP/password.log
printf '%s\n' "$SFY_PASS" >"$SFY_TMP/pw"
AUTH_URL=socks5h://$SFY_USER@$SFY_PROXY4:$SFY_PORT_DANTE_AUTH
run $T "${SFY[@]}" --audit "$PW_LOG" --password-file "$SFY_TMP/pw" --deny "$WEB:$SFY_PORT_WHOAMI" \
    -x "$AUTH_URL" -- sh -c 'curl -sS "http://$1/hello.txt"; curl -sS "http://$1:$2/" 2>/dev/null; exit 0' \
    sh "$WEB" "$SFY_PORT_WHOAMI"
check_out password-proxy-works "$TOKEN"
run $T "${IN_CLIENT[@]}" env "SOCKSIFY_PASSWORD=$SFY_PASS" "$SOCKSIFY" --audit "$PW_LOG" -x "$AUTH_URL" \
    -- "$PY" "$UDPP" echo "$ECHO" "$SFY_PORT_UDP_ECHO" "$TOKEN"
check_out password-proxy-udp-works "$TOKEN from"
got=$("$PY" "$CHECK" absent "$PW_LOG" "$SFY_PASS")
got2=$("$PY" "$CHECK" records "$PW_LOG" 0 "lookup $WEB - allow ok" "connect $WEB 80 allow ok" \
    "lookup $WEB - allow ok" "connect $WEB $SFY_PORT_WHOAMI deny policy" "lookup $ECHO - allow ok" \
    "udp $ECHO $SFY_PORT_UDP_ECHO allow ok")
if [[ $got == ok && $got2 == ok ]] && ! grep -q "$SFY_USER" "$PW_LOG" &&
    grep -q "\"proxy\":\"$SFY_PROXY4:$SFY_PORT_DANTE_AUTH\"" "$PW_LOG"; then
    pass password-never-in-the-log
else
    fail password-never-in-the-log "$(oneline "$got; $got2")"
fi

# --- the same job from a config file -------------------------------------------------------

CONF_DIR=$SFY_TMP/conf
mkdir -p "$CONF_DIR" "$SFY_TMP/home/.config/socksify"
CONF=$CONF_DIR/socksify.conf
cat >"$CONF" <<EOF
# the CI job of this test, as a file
proxy = $PROXY
strict = yes
default-deny = yes
audit = audit.log          # relative: next to this file

[policy]
allow $WEB:80
allow $ECHO
EOF
audit_mark "$CONF_DIR/audit.log"
run $T "${SFY[@]}" --config "$CONF" -- curl -sS "http://$WEB/hello.txt"
check_out_noleak config-file-allowed-name "$TOKEN"
audit_is config-file-audit-next-to-the-file "lookup $WEB - allow ok" "connect $WEB 80 allow ok"

audit_mark "$CONF_DIR/audit.log"
run $T "${SFY[@]}" --config "$CONF" -- curl -sSv "http://$WEB:$SFY_PORT_WHOAMI/"
if ((RC == 7)) && [[ $ERR == *"Permission denied"* ]]; then pass config-file-denied-port; else fail config-file-denied-port "$(why)"; fi
run $T "${SFY[@]}" --config "$CONF" -- "$PY" "$PROBE" echo "$ECHO" "$SFY_PORT_ECHO" "$TOKEN"
check_out config-file-second-rule "$TOKEN"
run $T "${SFY[@]}" --config "$CONF" -- curl -sS "http://$DENIED_NAME/"
if ((RC == 6)) && [[ -z $(dns_leaks) ]]; then
    pass config-file-denied-lookup
else
    fail config-file-denied-lookup "$(why "expected curl exit 6 and no DNS leak")"
fi
audit_is config-file-audit-records "lookup $WEB - allow ok" "connect $WEB $SFY_PORT_WHOAMI deny policy" \
    "lookup $ECHO - allow ok" "connect $ECHO $SFY_PORT_ECHO allow ok" "lookup $DENIED_NAME - deny policy"

# Found without --config: the file's proxy, rules and audit log all apply.
audit_mark "$CONF_DIR/audit.log"
run $T "${IN_CLIENT[@]}" env "SOCKSIFY_CONFIG=$CONF" "$SOCKSIFY" -- curl -sS "http://$WEB/hello.txt"
check_out config-file-from-socksify-config "$TOKEN"
audit_is config-file-from-socksify-config-audit "lookup $WEB - allow ok" "connect $WEB 80 allow ok"
cp "$CONF" "$SFY_TMP/home/.config/socksify/config"
sed -i "s|^audit = .*|audit = $CONF_DIR/audit.log|" "$SFY_TMP/home/.config/socksify/config"
audit_mark "$CONF_DIR/audit.log"
run $T "${IN_CLIENT[@]}" env -u XDG_CONFIG_HOME -u SOCKSIFY_CONFIG "HOME=$SFY_TMP/home" "$SOCKSIFY" -- curl -sS "http://$WEB/hello.txt"
check_out config-file-from-home "$TOKEN"
run $T "${IN_CLIENT[@]}" env -u XDG_CONFIG_HOME -u SOCKSIFY_CONFIG "HOME=$SFY_TMP/home" "$SOCKSIFY" -- curl -sS "http://$DENIED_NAME/"
if ((RC == 6)) && [[ -z $(dns_leaks) ]]; then pass config-file-from-home-rules-apply; else fail config-file-from-home-rules-apply "$(why)"; fi
audit_is config-file-from-home-audit "lookup $WEB - allow ok" "connect $WEB 80 allow ok" \
    "lookup $DENIED_NAME - deny policy"

# The command line wins over the file; its rules come first.
run $T "${SFY[@]}" --config "$CONF" --timeout 3 --allow "$WEB:$SFY_PORT_WHOAMI" --deny "$WEB" -- env
if ((RC == 0)) && grep -qx "SOCKSIFY_POLICY=allow:$WEB:$SFY_PORT_WHOAMI,deny:$WEB,allow:$WEB:80,allow:$ECHO" <<<"$OUT" &&
    grep -qx "SOCKSIFY_TIMEOUT=3" <<<"$OUT" && grep -qx "SOCKSIFY_STRICT=1" <<<"$OUT" &&
    ! grep -q "SOCKSIFY_AUDIT=" <<<"$OUT"; then  # --strict: the log's path is not the job's
    pass command-line-wins-over-config-file
else
    fail command-line-wins-over-config-file "$(why)"
fi
printf 'timeout = 7\nudp = off\n' >"$SFY_TMP/flags.conf"
run $T "${SFY[@]}" --config "$SFY_TMP/flags.conf" --udp on -x "$PROXY" -- env
if grep -qx "SOCKSIFY_UDP=on" <<<"$OUT" && grep -qx "SOCKSIFY_TIMEOUT=7" <<<"$OUT"; then
    pass config-file-fills-what-flags-leave
else
    fail config-file-fills-what-flags-leave "$(why)"
fi

# bad_conf NAME LINE WANT CONTENT: exit 2 and one line "socksify: FILE:LINE: WANT".
bad_conf() {
    local name=$1 line=$2 want=$3 file=$SFY_TMP/bad-$1.conf
    printf '%b' "$4" >"$file"
    run 10 "$SOCKSIFY" --config "$file" -x "$PROXY" -- true
    if ((RC == 2)) && [[ $ERR == "socksify: $file:$line: $want"* ]] && (($(wc -l <<<"$ERR") == 1)); then
        pass "$name"
    else
        fail "$name" "$(why "expected exit 2 and 'socksify: $file:$line: $want'")"
    fi
}
bad_conf bad-config-value 3 "bad udp value 'maybe': expected" '# x\nstrict = no\nudp = maybe\n'
bad_conf bad-config-key 2 "unknown key 'colour'" 'udp = on\ncolour = blue\n'
bad_conf bad-config-rule 4 "bad deny value 'bad rule!': not a domain pattern or CIDR" '[policy]\nallow a.test\n\ndeny bad rule!\n'
bad_conf bad-config-section 1 "unknown section" '[main]\n'
bad_conf bad-config-syntax 1 "expected 'key = value'" 'proxy socks5h://1.2.3.4\n'
bad_conf bad-config-proxy-redacted 1 "bad proxy value 'ftp://u:***@1.2.3.4'" 'proxy = ftp://u:secretpw@1.2.3.4\n'
bad_conf bad-config-bool 1 "bad default-deny value 'perhaps'" 'default-deny = perhaps\n'
run 10 "$SOCKSIFY" --config "$SFY_TMP/missing.conf" -x "$PROXY" -- true
if ((RC == 2)) && [[ $ERR == *"cannot read config file '$SFY_TMP/missing.conf'"* ]]; then
    pass missing-config-file-exit-2
else
    fail missing-config-file-exit-2 "$(why)"
fi

# --- the same job from a proxychains.conf --------------------------------------------------

PC=$SFY_TMP/proxychains.conf
cat >"$PC" <<EOF
# proxychains.conf  VER 4.x
strict_chain
quiet_mode
proxy_dns
remote_dns_subnet 224
tcp_read_time_out 15000
tcp_connect_time_out 8000

[ProxyList]
socks5  $SFY_PROXY4 $SFY_PORT_DANTE
EOF
PC_LOG=$SFY_TMP/proxychains-audit.log
audit_mark "$PC_LOG"
run $T "${SFY[@]}" --proxychains-conf "$PC" --strict --default-deny --allow "$WEB:80" \
    --allow "$ECHO" --audit "$PC_LOG" -- curl -sS "http://$WEB/hello.txt"
check_out_noleak proxychains-conf-allowed-name "$TOKEN"
run $T "${SFY[@]}" --proxychains-conf "$PC" --strict --default-deny --allow "$WEB:80" \
    --allow "$ECHO" --audit "$PC_LOG" -- curl -sSv "http://$WEB:$SFY_PORT_WHOAMI/"
if ((RC == 7)) && [[ $ERR == *"Permission denied"* ]]; then
    pass proxychains-conf-denied-port
else
    fail proxychains-conf-denied-port "$(why "expected curl exit 7 and 'Permission denied'")"
fi
audit_is proxychains-conf-audit "lookup $WEB - allow ok" "connect $WEB 80 allow ok" \
    "lookup $WEB - allow ok" "connect $WEB $SFY_PORT_WHOAMI deny policy"
if grep -q "\"proxy\":\"$SFY_PROXY4:$SFY_PORT_DANTE\"" "$PC_LOG"; then
    pass proxychains-conf-proxy-used
else
    fail proxychains-conf-proxy-used "$(oneline "$(cat "$PC_LOG")")"
fi
run $T "${SFY[@]}" --proxychains-conf "$PC" -- env
if grep -qx "SOCKSIFY_TIMEOUT=15.000" <<<"$OUT" && grep -qx "SOCKSIFY_DNS=remote" <<<"$OUT"; then
    pass proxychains-conf-timeout-and-dns
else
    fail proxychains-conf-timeout-and-dns "$(why)"
fi

sed "s|^socks5 .*|socks5 $SFY_PROXY4 $SFY_PORT_DANTE_AUTH $SFY_USER $SFY_PASS|" "$PC" >"$SFY_TMP/pc-auth.conf"
PCA_LOG=$SFY_TMP/proxychains-auth.log
run $T "${SFY[@]}" --proxychains-conf "$SFY_TMP/pc-auth.conf" --audit "$PCA_LOG" -- curl -sS "http://$WEB/hello.txt"
check_out proxychains-conf-user-password "$TOKEN"
got=$("$PY" "$CHECK" absent "$PCA_LOG" "$SFY_PASS")
if [[ $got == ok ]] && [[ -s $PCA_LOG ]]; then pass proxychains-password-not-in-log; else fail proxychains-password-not-in-log "$got"; fi

printf 'localnet 203.0.113.0/255.255.255.0\n[ProxyList]\nsocks5 %s %s\n' "$SFY_PROXY4" "$SFY_PORT_DANTE" >"$SFY_TMP/pc-local.conf"
run $T "${SFY[@]}" --proxychains-conf "$SFY_TMP/pc-local.conf" -- env
if grep -qx "SOCKSIFY_DIRECT=127.0.0.0/8,::1/128,203.0.113.0/24" <<<"$OUT" && grep -qx "SOCKSIFY_DNS=local" <<<"$OUT"; then
    pass proxychains-localnet-direct-no-proxy-dns-local
else
    fail proxychains-localnet-direct-no-proxy-dns-local "$(why)"
fi
run 10 "$SOCKSIFY" --strict --proxychains-conf "$SFY_TMP/pc-local.conf" -- true
if ((RC == 2)) && [[ $ERR == *"strict mode"* ]]; then pass proxychains-localnet-refused-in-strict; else fail proxychains-localnet-refused-in-strict "$(why)"; fi

# The rest of the proxychains.conf import: tests/integration/proxychains_conf.sh.

# --- launcher checks -------------------------------------------------------------------------

run 10 "$SOCKSIFY" --allow 'a.test:99999' -x "$PROXY" -- true
if ((RC == 2)) && [[ $ERR == "socksify: bad --allow value 'a.test:99999': port out of range (1-65535)" ]]; then
    pass bad-rule-one-line-exit-2
else
    fail bad-rule-one-line-exit-2 "$(why)"
fi
rules=()
for i in $(seq 65); do rules+=(--deny "h$i.test"); done
run 10 "$SOCKSIFY" "${rules[@]}" -x "$PROXY" -- true
if ((RC == 2)) && [[ $ERR == *"too many --allow/--deny rules"* ]]; then pass at-most-64-rules; else fail at-most-64-rules "$(why)"; fi
run 10 "$SOCKSIFY" --audit "$SFY_TMP/no-such-dir/a.log" -x "$PROXY" -- true
if ((RC == 2)) && [[ $ERR == *"cannot open audit log"* ]]; then pass unwritable-audit-log-exit-2; else fail unwritable-audit-log-exit-2 "$(why)"; fi
# A relative --audit path is made absolute: the program may change directory first.
(cd "$SFY_TMP" && run 10 "$SOCKSIFY" --audit rel.log -x "$PROXY" -- env)
if grep -qx "SOCKSIFY_AUDIT=$SFY_TMP/rel.log" "$SFY_TMP/out" && [[ $(stat -c %a "$SFY_TMP/rel.log") == 600 ]]; then
    pass relative-audit-path-made-absolute-mode-0600
else
    fail relative-audit-path-made-absolute-mode-0600 "$(oneline "$(cat "$SFY_TMP/out" "$SFY_TMP/err")")"
fi

finish
