#!/usr/bin/env bash
# Names that must never reach a nameserver under remote DNS (issue 11, class 4).
# Around libc: dig, host, nslookup and node's c-ares send their own queries to the
# nameserver of /etc/resolv.conf (the client's logging dnsmasq on loopback, a direct
# address); they must get the fake addresses getaddrinfo gives, over UDP and TCP, with
# no query in that log, and the address must then work through the proxy. Through
# libc: getaddrinfo_a, rcmd, glibc's __socket/__connect aliases, an AF_INET6 lookup of
# a name /etc/hosts has only an IPv4 line for, and a hosts name with a trailing dot.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher
require_names

T=20
TOKEN=$(token)
WEB=$SFY_NAME_WEB
LIBC_PROBE=$PROGRAMS/libc_dns_probe.py
FAKE4_RE='^240\.([0-9]|1[0-5])\.[0-9]+\.[0-9]+$'
PROXY="socks5h://$SFY_PROXY4:$SFY_PORT_DANTE"
SOCKS=("${SFY[@]}" -x "$PROXY")
HOSTS_V4_ONLY=proxy4.sfy.lan  # the client's /etc/hosts: 198.51.100.1 only

# check_re NAME REGEX: exit 0, stdout matches REGEX, no test name reached the resolver.
check_re() {
    local leaks
    leaks=$(dns_leaks)
    if ((RC == 0)) && [[ $OUT =~ $2 && -z $leaks ]]; then
        pass "$1"
    elif [[ -n $leaks ]]; then
        fail "$1" "$(why "DNS leaked to the client resolver: $(oneline "$leaks")")"
    else
        fail "$1" "$(why "expected output matching '$2'")"
    fi
}

# Control: the stubs really ask the client's resolver, and its log shows it.
run $T "${IN_CLIENT[@]}" dig +short +tries=1 +time=2 "$WEB"
if client_dns_log_has "$WEB"; then
    pass control-dig-without-socksify-asks-the-resolver
else
    fail control-dig-without-socksify-asks-the-resolver "$(why "the client resolver logged no query")"
fi

# --- Stubs around libc -----------------------------------------------------------
run $T "${SOCKS[@]}" dig +short "$WEB"
check_re dig-udp-gets-fake-address "$FAKE4_RE"
run $T "${SOCKS[@]}" dig +short +tcp "$WEB"
check_re dig-tcp-gets-fake-address "$FAKE4_RE"
run $T "${SOCKS[@]}" dig +short AAAA "$WEB"
check_re dig-aaaa-gets-fake-address '^[0-9a-f:]+:[0-9a-f:]*$'
run $T "${SOCKS[@]}" dig +noall +comments MX "$WEB"
check_re dig-mx-refused-not-asked 'status: REFUSED'
# With --dns-tcp the other types are carried through the proxy to that nameserver
# (the proxy side's dnsmasq, which logs the question; it answers MX with REFUSED).
run $T "${SFY[@]}" -x "$PROXY" --dns-tcp "$SFY_DEST4" dig +noall +comments MX "$WEB"
if [[ $OUT == *"status: REFUSED"* && -z $(dns_leaks) ]] &&
    log_new proxy-dns | grep -qF "query[MX] $WEB from $SFY_DEST4"; then
    pass dig-mx-carried-by-dns-tcp
else
    fail dig-mx-carried-by-dns-tcp "$(why "expected the MX query in the proxy side's log only")"
fi
# host asks A, AAAA and MX: the MX is refused (exit 1), the addresses are the fake ones.
run $T "${SOCKS[@]}" host "$WEB"
((RC == 1)) && RC=0
check_re host-gets-fake-address "$WEB has address 240\.([0-9]|1[0-5])\."
run $T "${SOCKS[@]}" nslookup "$WEB"
check_re nslookup-gets-fake-address "Address: 240\.([0-9]|1[0-5])\."
run $T "${SOCKS[@]}" node -e \
    "require('dns').resolve4('$WEB', (e, a) => { if (e) { console.log(e.code); process.exit(1); } console.log(a.join(' ')); })"
check_re node-dns-resolve4-gets-fake-address "$FAKE4_RE"
# The address a stub got is the one getaddrinfo gives and works through the proxy.
run $T "${SOCKS[@]}" sh -c "a=\$(dig +short $WEB) && b=\$(getent ahostsv4 $WEB | head -1) && \
    [ \"\${b%% *}\" = \"\$a\" ] && curl -sS --max-time 10 http://\$a/hello.txt"
check_re dig-address-works-through-proxy "$TOKEN"
run $T "${SOCKS[@]}" sh -c "a=\$(dig +short +tcp $WEB) && curl -sS --max-time 10 http://\$a/hello.txt"
check_re dig-tcp-address-works-through-proxy "$TOKEN"

# A stub of its own (Python, hand-made query): the answer seems to come from the
# nameserver (c-ares and Python check the source); also on a UDP socket the library
# never saw created (inherited from a parent without the preload).
run $T "${SOCKS[@]}" "$PY" "$LIBC_PROBE" udp_query -1 "$WEB"
check_re python-stub-answer-from-nameserver "^240\.([0-9]|1[0-5])\.[0-9]+\.[0-9]+ from $SFY_CLIENT_DNS:53\$"
run $T "${IN_CLIENT[@]}" "$PY" -c "import socket, subprocess, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sys.exit(subprocess.run([*sys.argv[1:], str(s.fileno()), '$WEB'], pass_fds=[s.fileno()]).returncode)" \
    "$SOCKSIFY" -x "$PROXY" "$PY" "$LIBC_PROBE" udp_query
check_re inherited-udp-socket-stub-answered "^240\.([0-9]|1[0-5])\.[0-9]+\.[0-9]+ from $SFY_CLIENT_DNS:53\$"

# --- Paths through libc ----------------------------------------------------------
run $T "${SOCKS[@]}" "$PY" "$LIBC_PROBE" gai_a "$WEB"
check_re getaddrinfo-a-gets-fake-address "$FAKE4_RE"
GAI_ASYNC=$SFY_ROOT/build/tests/gai_async
if [[ -x $GAI_ASYNC ]]; then
    run $T "${SOCKS[@]}" "$GAI_ASYNC" "$WEB"
    check_re getaddrinfo-a-nowait-notifies "^rc=0 suspend=-?[0-9]+ error=0 notified=7 addr=240\.([0-9]|1[0-5])\."
else
    fail getaddrinfo-a-nowait-notifies "$GAI_ASYNC not built (make build/tests/gai_async)"
fi
run $T "${SOCKS[@]}" "$PY" "$LIBC_PROBE" rcmd rsh.$SFY_TEST_DOMAIN
check_re rcmd-refused-without-lookup 'rc=-1 errno=Permission denied'
run $T "${SOCKS[@]}" "$PY" "$LIBC_PROBE" connect_alias "$SFY_DEST4" "$SFY_PORT_HTTP" /hello.txt
check_re dunder-connect-goes-through-proxy "$TOKEN"

run $T "${SOCKS[@]}" "$PY" "$LIBC_PROBE" gai "$HOSTS_V4_ONLY" 6
if ((RC == 0)) && [[ $OUT == gaierror* ]] && ! client_dns_log_has "$HOSTS_V4_ONLY"; then
    pass hosts-v4-only-name-as-ipv6-no-dns
else
    fail hosts-v4-only-name-as-ipv6-no-dns "$(why "expected no address and no query for $HOSTS_V4_ONLY")"
fi
run $T "${SOCKS[@]}" "$PY" "$LIBC_PROBE" gai "$HOSTS_V4_ONLY" 0
if ((RC == 0)) && [[ $OUT == "$SFY_PROXY4" ]] && ! client_dns_log_has "$HOSTS_V4_ONLY"; then
    pass control-hosts-v4-only-name-unspec-answered-by-file
else
    fail control-hosts-v4-only-name-unspec-answered-by-file "$(why "expected $SFY_PROXY4 and no query")"
fi
for fam in 4 6 0; do
    run $T "${SOCKS[@]}" "$PY" "$LIBC_PROBE" gai localhost. $fam
    if ((RC == 0)) && [[ $OUT =~ ^(240\.([0-9]|1[0-5])\.|[0-9a-f]+:) ]] && ! client_dns_log_has localhost; then
        pass "trailing-dot-hosts-name-faked-not-asked-family-$fam"
    else
        fail "trailing-dot-hosts-name-faked-not-asked-family-$fam" \
            "$(why "expected a fake address and no query for localhost.")"
    fi
done

finish
