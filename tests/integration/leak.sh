#!/usr/bin/env bash
# Proof that nothing leaks (issue 5, Leak test): a packet capture on the client
# namespace's only interface while real programs work by name through socksify
# must show traffic with the proxy's addresses only, and the client's own resolver
# must see no query. Strict mode's refusals must put nothing on the wire either.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher
require_names
command -v tcpdump >/dev/null || { skip all "tcpdump is not installed"; finish; }

ensure_scratch
T=20
IFACE=$(ip -n "$SFY_NS_CLIENT" -o link show | awk -F': ' '$2 != "lo" {sub(/@.*/, "", $2); print $2; exit}')
PCAP=$SFY_TMP/leak.pcap
REPORT=$SFY_ROOT/build/test-logs/leak-capture.txt
mkdir -p "$(dirname "$REPORT")"
SX=("${IN_CLIENT[@]}" "$SOCKSIFY" -q -x "socks5h://$SFY_PROXY4:$SFY_PORT_DANTE" --)

# The capture runs for the whole script and is stopped by PID.
in_client tcpdump -i "$IFACE" -n -U -w "$PCAP" >/dev/null 2>"$SFY_TMP/tcpdump.err" &
TCPDUMP=$!
trap 'kill "$TCPDUMP" 2>/dev/null || true; rm -rf "$SFY_TMP"' EXIT
for ((i = 0; i < 50; i++)); do
    grep -q "listening on" "$SFY_TMP/tcpdump.err" 2>/dev/null && break
    sleep 0.1
done

# offenders FILE: IP packets in a "tcpdump -n -q" listing that are not proxy traffic:
# TCP with the proxy's SOCKS port, or UDP with the proxy's relay ports (never 53: a
# DNS query to the proxy host would be a leak). Link-local chatter is ignored.
P4='198\.51\.100\.[12]'
P6='2001:db8:1::[12]'
offenders() {
    local ip
    ip=$(awk '$2 == "IP" || $2 == "IP6"' "$1")
    [[ -z $ip ]] && return 0
    # DNS to any host is a leak, whatever the address.
    grep -E '\.53: (UDP|tcp)' <<<"$ip" || true
    grep -vE '\.53: (UDP|tcp)' <<<"$ip" |
        grep -vE " fe80::[0-9a-f:]+\.?[0-9]* > (ff02|fe80)::[0-9a-f:]+" |
        grep -vE " :: > ff02::" |
        grep -vE " ($P4|$P6)\.[0-9]+ > ($P4|$P6)\.$SFY_PORT_DANTE: tcp" |
        grep -vE " ($P4|$P6)\.$SFY_PORT_DANTE > ($P4|$P6)\.[0-9]+: tcp" |
        grep -vE " ($P4|$P6)\.[0-9]+ > ($P4|$P6)\.[0-9]+: UDP" || true
}
# A UDP packet to the proxy host's port 53 is the kind of leak the filter must catch.
for c in "dns-to-proxy-host|IP 198.51.100.2.40000 > 198.51.100.1.53: UDP, length 30" \
    "tcp-to-destination|IP 198.51.100.2.40000 > 203.0.113.10.80: tcp 0" \
    "tcp-to-proxy-other-port|IP 198.51.100.2.40000 > 198.51.100.1.8: tcp 0"; do
    printf '12:00:00.000000 %s\n' "${c#*|}" >"$SFY_TMP/control.txt"
    if [[ -n $(offenders "$SFY_TMP/control.txt") ]]; then
        pass "filter-catches-${c%%|*}"
    else
        fail "filter-catches-${c%%|*}" "the capture filter let a leak through"
    fi
done

# work NAME EXPECTED COMMAND...: the program works by name through the proxy.
work() {
    local name=$1 want=$2
    shift 2
    run $T "${SX[@]}" "$@"
    check_out_noleak "$name" "$want"
}

TOKEN=$(token)
mkdir -p "$SFY_TMP/java"
work curl-by-name "$TOKEN" curl -sS --max-time 10 "http://$SFY_NAME_WEB/hello.txt"
work wget-by-name "$TOKEN" wget -q -O - -T 10 "http://$SFY_NAME_WEB/hello.txt"
work python-by-name "$TOKEN" "$PY" -c "import urllib.request as u; print(u.urlopen('http://$SFY_NAME_WEB/hello.txt', timeout=10).read().decode())"
if javac -d "$SFY_TMP/java" "$PROGRAMS/HttpGet.java" 2>/dev/null; then
    work java-by-name "$TOKEN" java -cp "$SFY_TMP/java" HttpGet "http://$SFY_NAME_WEB/hello.txt"
else
    skip java-by-name "javac not available"
fi
work node-by-name "$TOKEN" node "$PROGRAMS/node_http.js" "http://$SFY_NAME_WEB/hello.txt"
work dig-server-by-name "$SFY_DEST4" dig +short +time=3 +tries=1 "@$SFY_NAME_DNS" "$SFY_NAME_WEB"
work udp-sender-by-name "leak-udp" "$PY" "$PROGRAMS/udp_probe.py" echo "$SFY_NAME_ECHO" 7 leak-udp
# Addresses in inet_aton's other spellings go through the proxy as addresses.
for form in "$SFY_DEST4." 0xcb.0.0x71.0xa 3405803786; do
    work "literal-$form" leak-literal "$PY" "$PROBE" echo "$form" 7 leak-literal
done
# DNS stubs around libc and resolver paths inside it (dns_stubs.sh has the details).
work stub-dig-udp "240." dig +short "$SFY_NAME_WEB"
work stub-dig-tcp "240." dig +short +tcp "$SFY_NAME_WEB"
work stub-nslookup "Address: 240." nslookup "$SFY_NAME_WEB"
work stub-node-resolve4 "240." node -e "require('dns').resolve4('$SFY_NAME_WEB', (e, a) => console.log(e ? e.code : a[0]))"
work libc-getaddrinfo-a "240." "$PY" "$PROGRAMS/libc_dns_probe.py" gai_a "$SFY_NAME_WEB"
work libc-rcmd-refused "rc=-1 errno=Permission denied" "$PY" "$PROGRAMS/libc_dns_probe.py" rcmd "$SFY_NAME_WEB"
work libc-dunder-connect "$TOKEN" "$PY" "$PROGRAMS/libc_dns_probe.py" connect_alias "$SFY_DEST4" 80 /hello.txt

# Strict mode: a raw socket and UDP with --udp off are refused; nothing may leave.
STRICT=("${IN_CLIENT[@]}" "$SOCKSIFY" -q --strict --udp off -x "socks5h://$SFY_PROXY4:$SFY_PORT_DANTE" --)
run $T "${STRICT[@]}" "$PY" -c '
import errno, socket
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.sendto(b"\x08\x00\xf7\xff\x00\x00\x00\x00", ("'"$SFY_DEST4"'", 0)); print("raw sent")
except OSError as e:
    print("raw", errno.errorcode[e.errno])
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("'"$SFY_DEST4"'", 7)); print("udp sent")
except OSError as e:
    print("udp", errno.errorcode[e.errno])
'
if [[ $OUT == *"raw EACCES"* && $OUT == *"udp EACCES"* ]]; then
    pass strict-raw-and-udp-off-refused
else
    fail strict-raw-and-udp-off-refused "$(why)"
fi

# The CI job of issue 7 (--strict --default-deny --allow … --audit): the allowed name
# works, and a denied name, a denied port, a denied address, a raw socket and a static
# program that would connect on its own are all refused; the capture below must still
# hold nothing but proxy traffic.
CI_AUDIT=$SFY_TMP/ci-audit.log
CI=("${IN_CLIENT[@]}" "$SOCKSIFY" -q --strict --default-deny --allow "$SFY_NAME_WEB:80"
    --audit "$CI_AUDIT" -x "socks5h://$SFY_PROXY4:$SFY_PORT_DANTE" --)
run $T "${CI[@]}" curl -sS --max-time 10 "http://$SFY_NAME_WEB/hello.txt"
check_out_noleak ci-job-allowed-name "$TOKEN"
# The client has no route to the destinations, so a direct attempt fails too: the
# errors must be the policy's (EAI_FAIL, EACCES), not the network's (ENETUNREACH).
run $T "${CI[@]}" sh -c '"$5" -c "
import socket, sys
try:
    socket.getaddrinfo(sys.argv[1], 80)
    print(\"resolved\")
except socket.gaierror as e:
    print(\"EAI_FAIL\" if e.errno == socket.EAI_FAIL else \"gai %d\" % e.errno)
" "$1"
    "$5" "$6" errno "$2" "$3"; "$5" "$6" errno "$4" 80' sh \
    "$SFY_NAME_GIT" "$SFY_NAME_WEB" "$SFY_PORT_WHOAMI" "$SFY_DEST4" "$PY" "$PROBE"
if [[ $OUT == "EAI_FAIL"$'\n'"PermissionError EACCES "*$'\n'"PermissionError EACCES "* ]] &&
    [[ -z $(dns_leaks) ]]; then
    pass ci-job-denials
else
    fail ci-job-denials "$(why "expected EAI_FAIL for the name, EACCES for the port and the address")"
fi
run $T "${CI[@]}" "$PY" -c '
import socket
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.sendto(b"\x08\x00\xf7\xff\x00\x00\x00\x00", ("'"$SFY_DEST4"'", 0)); print("raw sent")
except PermissionError:
    print("raw refused")
'
if [[ $OUT == "raw refused" ]]; then pass ci-job-raw-socket-refused; else fail ci-job-raw-socket-refused "$(why)"; fi
# A static program that connects by itself: only the launcher can stop it.
cat >"$SFY_TMP/static_connect.c" <<EOF
#include <arpa/inet.h>
#include <sys/socket.h>
int main(void) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(80)};
    inet_pton(AF_INET, "$SFY_DEST4", &a.sin_addr);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    return connect(s, (struct sockaddr*)&a, sizeof a) == 0 ? 0 : 3;
}
EOF
STATIC_RECORD=()
if gcc -static -o "$SFY_TMP/static_connect" "$SFY_TMP/static_connect.c" 2>/dev/null; then
    # --strict supervises it from its exec: its connect is judged (denied) and recorded
    # by the supervisor.
    STATIC_RECORD=("connect $SFY_DEST4 80 deny policy")
    run $T "${CI[@]}" "$SFY_TMP/static_connect"
    if ((RC == 3)); then
        pass ci-job-static-program-refused
    else
        fail ci-job-static-program-refused "$(why "expected exit 3 (connect refused)")"
    fi
else
    skip ci-job-static-program-refused "no static libc to build a test program"
fi
# A child started with a cleared environment still goes through the proxy, and a
# static program started by a child is refused at its exec.
run $T "${CI[@]}" "$PY" -c '
import subprocess, sys
r = subprocess.run(["curl", "-sS", "--max-time", "10", sys.argv[1]], env={"PATH": "/usr/bin:/bin"},
                   capture_output=True, text=True)
print(r.stdout.strip() or r.stderr.strip())
' "http://$SFY_NAME_WEB/hello.txt"
check_out_noleak ci-job-child-with-cleared-environment-proxied "$TOKEN"
if [[ -x $SFY_TMP/static_connect ]]; then
    # Started by sh, it is under the run's filter too: its connect is judged (denied)
    # and recorded by the supervisor.
    run $T "${CI[@]}" sh -c '"$1"; echo "rc=$?"' sh "$SFY_TMP/static_connect"
    check_out ci-job-static-program-started-by-a-child-denied "rc=3"
fi
# One record per attempt: the allowed curl (lookup + connect), the three denials
# (lookup; lookup + connect; connect), the raw socket, the static program's denied
# connect, the child with a cleared environment (lookup + connect) and the static
# program a child started (its denied connect).
got=$("$PY" "$PROGRAMS/audit_check.py" records "$CI_AUDIT" 0 \
    "lookup $SFY_NAME_WEB - allow ok" "connect $SFY_NAME_WEB 80 allow ok" \
    "lookup $SFY_NAME_GIT - deny policy" \
    "lookup $SFY_NAME_WEB - allow ok" "connect $SFY_NAME_WEB $SFY_PORT_WHOAMI deny policy" \
    "connect $SFY_DEST4 80 deny policy" \
    "refusal socket(AF_INET, SOCK_RAW|SOCK_CLOEXEC, 1) - deny strict" "${STATIC_RECORD[@]:0:1}" \
    "lookup $SFY_NAME_WEB - allow ok" "connect $SFY_NAME_WEB 80 allow ok" \
    "${STATIC_RECORD[@]}" 2>&1) || true
if [[ $got == ok ]]; then pass ci-job-audit-one-record-per-attempt; else fail ci-job-audit-one-record-per-attempt "$(oneline "$got")"; fi

# Every address form on every send and connect entry (issue 11, addr_probe), aimed at
# a port of the proxy host nothing listens on: under strict with a default deny, not
# one packet to that port.
ADDR_PORT=4242
if [[ -x $SFY_ROOT/build/tests/addr_probe ]]; then
    run 60 "${IN_CLIENT[@]}" "$SOCKSIFY" -q --strict --default-deny --direct '' \
        -x "socks5h://$SFY_PROXY4:$SFY_PORT_DANTE" -- "$SFY_ROOT/build/tests/addr_probe" sweep \
        "$SFY_PROXY4" "$SFY_PROXY6" "$ADDR_PORT"
    # Only connect(AF_UNSPEC), a disconnect, may succeed.
    taken=$(grep -vE '^[a-z0-9]+ connect [a-z]+ 0 ' <<<"$OUT" | grep -c ' ok$' || true)
    if ((RC == 0 && taken == 0)) && [[ $OUT == *EACCES* ]]; then
        pass address-forms-all-refused
    else
        fail address-forms-all-refused "$(why)"
    fi
else
    fail address-forms-all-refused "build/tests/addr_probe not built"
fi

sleep 0.5
kill "$TCPDUMP" 2>/dev/null || true
wait "$TCPDUMP" 2>/dev/null || true

# Every IP packet must be between the client and the proxy; link-level chatter
# (ARP, IPv6 neighbour discovery and router solicitation on link-local/multicast)
# is not traffic to a destination.
tcpdump -r "$PCAP" -n -q 2>/dev/null >"$SFY_TMP/packets.txt" || true
total=$(grep -c . "$SFY_TMP/packets.txt" || true)
{
    echo "# packets captured on $IFACE in $SFY_NS_CLIENT during tests/integration/leak.sh"
    echo "# count  destination (address.port as tcpdump prints it, port stripped)"
    awk '$2 == "IP" || $2 == "IP6" {d=$5; sub(/:$/, "", d); n=split(d, a, "."); if ($2 == "IP") d=a[1]"."a[2]"."a[3]"."a[4]; else {sub(/\.[0-9]+$/, "", d)}; print d}' \
        "$SFY_TMP/packets.txt" | sort | uniq -c | sort -rn
    echo "# other (ARP, ICMPv6 neighbour discovery): $(grep -vcE ' IP6? ' "$SFY_TMP/packets.txt" || true)"
    echo "# total: $total"
} >"$REPORT"
bad=$(offenders "$SFY_TMP/packets.txt" | head -5)
if ((total > 0)) && [[ -z $bad ]]; then
    pass capture-shows-only-the-proxy
else
    fail capture-shows-only-the-proxy "packets=$total; not to the proxy: $(oneline "$bad")"
fi
# UDP between the two hosts passes the filter above (relay ports): the probe's port
# is checked by itself.
addr_bad=$(grep -E "\.$ADDR_PORT[: ]" "$SFY_TMP/packets.txt" | head -3 || true)
if [[ -z $addr_bad ]]; then
    pass capture-shows-no-address-form-probe
else
    fail capture-shows-no-address-form-probe "$(oneline "$addr_bad")"
fi
if grep -qE "> 198\.51\.100\.1\.$SFY_PORT_DANTE: tcp" "$SFY_TMP/packets.txt"; then
    pass capture-saw-the-proxy-traffic  # the capture worked at all
else
    fail capture-saw-the-proxy-traffic "no packets to the proxy in the capture"
fi
finish
