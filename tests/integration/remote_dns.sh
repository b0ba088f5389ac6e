#!/usr/bin/env bash
# Remote DNS (socks5h) through the launcher: names that only the proxy side can resolve
# (its own /etc/hosts) work for real programs through sockd and microsocks, and no test
# name ever reaches the client side's resolver, a dnsmasq that logs every query. After
# every by-name case the part of that log written during the case must hold no
# *.socks.test name; the local-DNS cases are the controls that show the log works.
# One line per case.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher
require_names

T=20  # seconds: the bound for one case
TOKEN=$(token)
ensure_scratch
DIR=$SFY_TMP
DNSP=$PROGRAMS/dns_probe.py
WEB=$SFY_NAME_WEB
WEB6=$SFY_NAME_WEB6
URL_WEB=http://$WEB/hello.txt
FAKE4_RE='^240\.([0-9]|1[0-5])\.[0-9]+\.[0-9]+$'

declare -A PORT=([dante]=$SFY_PORT_DANTE [micro]=$SFY_PORT_MICRO)
urlh() { printf 'socks5h://%s:%s' "$SFY_PROXY4" "${PORT[$1]}"; }

# check_re NAME REGEX [WHY]: the last run exited 0, stdout matches REGEX, and no test
# name reached the client resolver.
check_re() {
    local leaks
    leaks=$(dns_leaks)
    if ((RC == 0)) && [[ $OUT =~ $2 && -z $leaks ]]; then
        pass "$1"
    elif [[ -n $leaks ]]; then
        fail "$1" "$(why "DNS leaked to the client resolver: $(oneline "$leaks")")"
    else
        # shellcheck disable=SC2016
        fail "$1" "$(why "${3:-expected output matching '$2'}")"
    fi
}

# --- Controls: the world resolves as the tests assume --------------------------------

run $T "${IN_PROXY[@]}" getent hosts "$WEB"
check_out "control-proxy-side-resolves-$WEB" "$SFY_DEST4"
run $T "${IN_PROXY[@]}" getent ahosts "$WEB6"
if ((RC == 0)) && [[ $OUT == *"$SFY_DEST6"* && $OUT != *"$SFY_DEST4"* ]]; then
    pass "control-proxy-side-$WEB6-is-ipv6-only"
else
    fail "control-proxy-side-$WEB6-is-ipv6-only" "$(why "expected $SFY_DEST6 and no IPv4 address")"
fi
# The client's own hosts file does not know the names, its resolver cannot answer them,
# and it logs the question: the log works.
run $T "${IN_CLIENT[@]}" cat /etc/hosts
if ((RC == 0)) && [[ $OUT == *localhost* && $OUT != *"$SFY_TEST_DOMAIN"* ]]; then
    pass "control-client-hosts-file-has-no-test-name"
else
    fail "control-client-hosts-file-has-no-test-name" "$(why)"
fi
run $T "${IN_CLIENT[@]}" getent hosts "$WEB"
if ((RC != 0)) && [[ -z $OUT ]] && client_dns_log_has "$WEB"; then
    pass "control-client-resolver-cannot-resolve-and-logs"
else
    fail "control-client-resolver-cannot-resolve-and-logs" "$(why "expected a failed lookup that the client resolver logged")"
fi
run $T "${IN_CLIENT[@]}" curl -sS "$URL_WEB"
if ((RC == 6)) && client_dns_log_has "$WEB"; then
    pass "control-no-socksify-curl-cannot-resolve"
else
    fail "control-no-socksify-curl-cannot-resolve" "$(why "expected curl exit 6 and the name in the client resolver's log")"
fi

# --- Programs by name, through each proxy -------------------------------------------

JAVA_OK=0
if run 120 javac -d "$SFY_WORLD/java" "$PROGRAMS/HttpGet.java" && ((RC == 0)); then
    JAVA_OK=1
fi
JAVA_WHY=$(why "javac failed")

for proxy in dante micro; do
    u=$(urlh "$proxy")
    id=$proxy

    run $T "${SFY[@]}" -x "$u" -- curl -sS -w '\nremote=%{remote_ip}\n' "$URL_WEB"
    check_re "curl-$id" "$TOKEN.*remote=240\.([0-9]|1[0-5])\." "expected the token, fetched from a fake address"

    run $T "${SFY[@]}" -x "$u" -- wget -q -O - "$URL_WEB"
    check_out_noleak "wget-$id" "$TOKEN"

    run $T "${SFY[@]}" -x "$u" -- "$PY" "$DNSP" fetch "$URL_WEB"
    check_out_noleak "python-urllib-$id" "$TOKEN"

    run $T "${SFY[@]}" -x "$u" -- "$PY" "$DNSP" afetch "$WEB" "$SFY_PORT_HTTP" /hello.txt
    check_out_noleak "python-asyncio-$id" "$TOKEN"

    if ((JAVA_OK)); then
        run $T "${SFY[@]}" -x "$u" -- java -cp "$SFY_WORLD/java" HttpGet "$URL_WEB"
        check_out_noleak "java-HttpURLConnection-$id" "$TOKEN"
    else
        fail "java-HttpURLConnection-$id" "$JAVA_WHY"
    fi

    run $T "${SFY[@]}" -x "$u" -- node "$PROGRAMS/node_http.js" "$URL_WEB"
    check_re "node-http-get-$id" "$TOKEN.*remote=240\.([0-9]|1[0-5])\." "expected the token, fetched from a fake address"

    rm -rf "$DIR/clone-$id"
    run 60 "${SFY[@]}" -x "$u" -- env GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null \
        GIT_TERMINAL_PROMPT=0 git clone -q "http://$SFY_NAME_GIT/$SFY_GIT_REPO" "$DIR/clone-$id"
    if ((RC == 0)); then OUT=$(cat "$DIR/clone-$id/token.txt" 2>/dev/null || true); fi
    check_out_noleak "git-clone-http-$id" "$TOKEN"

    run 40 "${SFY[@]}" -x "$u" -- "$PY" "$DNSP" threads 16 "$URL_WEB"
    check_re "python-16-threads-$id" "^ok=16 bodies=$TOKEN$" "expected 16 fetches, all the token"

    # One name, one fake address for the whole process tree: getent (getaddrinfo) in
    # one process, curl in another.
    # shellcheck disable=SC2016
    run $T "${SFY[@]}" -x "$u" -- sh -c \
        'getent ahosts "$0" | awk "NR == 1 {print \"getent=\" \$1}"; curl -sS -w "\ncurl=%{remote_ip}\n" "$1"' \
        "$WEB" "$URL_WEB"
    if [[ $OUT =~ getent=([0-9.]+) ]] && a=${BASH_REMATCH[1]} && [[ $a =~ $FAKE4_RE ]]; then
        check_re "getent-then-curl-same-address-$id" "$TOKEN.*curl=${a//./\\.}$" \
            "expected curl to fetch the token from getent's $a"
    else
        fail "getent-then-curl-same-address-$id" "$(why "expected getent to print a fake IPv4 address")"
    fi

    # An IPv6-only name: AF_UNSPEC gives the IPv4 fake address, and the proxy, which
    # resolves the name itself, reaches the host over IPv6.
    run $T "${SFY[@]}" -x "$u" -- curl -sS -w '\nremote=%{remote_ip}\n' "http://$WEB6/hello.txt"
    check_re "ipv6-only-name-curl-$id" "$TOKEN.*remote=240\.([0-9]|1[0-5])\." "expected the token via the IPv4 fake address"
    run $T "${SFY[@]}" -x "$u" -- "$PY" "$DNSP" fetch6 "$WEB6" "$SFY_PORT_HTTP" /hello.txt
    check_re "ipv6-only-name-python-AF_INET6-$id" "^fd53:4f43:4b53:[0-9a-f:]+ $TOKEN$" \
        "expected the token via a fake IPv6 address"

    # A name nobody knows: the program's normal "could not connect", quickly.
    run $T "${SFY[@]}" -x "$u" -- curl -sS "http://$SFY_NAME_UNKNOWN/hello.txt"
    if ((RC == 7 && MS < 5000)) && [[ -z $(dns_leaks) ]]; then
        pass "unknown-name-curl-fails-fast-$id"
    else
        fail "unknown-name-curl-fails-fast-$id" "$(why "expected curl exit 7 within 5 s (${MS} ms), no DNS leak")"
    fi
    run $T "${SFY[@]}" -x "$u" -- "$PY" "$DNSP" errno "$SFY_NAME_UNKNOWN" "$SFY_PORT_HTTP"
    if ((RC == 0)) && [[ $OUT =~ ^[A-Za-z]*Error\ E[A-Z]+\ ([0-9]+)$ ]] && ((BASH_REMATCH[1] < 5000)) &&
        [[ -z $(dns_leaks) ]]; then
        pass "unknown-name-python-fails-fast-$id"
    else
        fail "unknown-name-python-fails-fast-$id" "$(why "expected an OSError within 5 s, no DNS leak")"
    fi
done

# No scheme at all means socks5h too.
run $T "${SFY[@]}" -x "$SFY_PROXY4:$SFY_PORT_DANTE" -- curl -sS "$URL_WEB"
check_out_noleak "no-scheme-is-remote-dns" "$TOKEN"

# --- What the resolver calls return --------------------------------------------------

u=$(urlh dante)
run $T "${SFY[@]}" -x "$u" -- getent ahosts "$WEB"   # getaddrinfo(AF_UNSPEC): IPv4 only
[[ $OUT != *:* ]] || RC=99
check_re "getent-ahosts-fake-ipv4-only" "^240\.([0-9]|1[0-5])\.[0-9]+\.[0-9]+ +STREAM $WEB" \
    "expected one fake IPv4 address for $WEB and no IPv6 one"
run $T "${SFY[@]}" -x "$u" -- getent hosts "$WEB"   # gethostbyname2(AF_INET6) first
check_re "getent-hosts-fake-ipv6" "^fd53:4f43:4b53:[0-9a-f:]+ +$WEB$" "expected a fake IPv6 address for $WEB"
run $T "${SFY[@]}" -x "$u" -- getent ahostsv4 "$WEB6"
check_re "getent-ahostsv4-ipv6-only-name" "^240\.([0-9]|1[0-5])\.[0-9]+\.[0-9]+ +STREAM $WEB6" \
    "expected a fake IPv4 address even for the IPv6-only name"

# Reverse lookups of fake addresses (made in another process of the tree) give the name.
for fam in 4 6; do
    # shellcheck disable=SC2016
    run $T "${SFY[@]}" -x "$u" -- sh -c \
        'a=$("$0" "$1" gai "$2" "$3") && echo "addr=$a" && exec "$0" "$1" rev "$a"' \
        "$PY" "$DNSP" "$WEB" "$fam"
    check_re "reverse-lookup-fake-ipv$fam" "addr=.*gethostbyaddr=$WEB getnameinfo=$WEB$" \
        "expected gethostbyaddr and getnameinfo to return $WEB"
done
# A fake address with no name behind it never goes anywhere.
run $T "${SFY[@]}" -x "$u" -- "$PY" "$PROBE" errno 240.15.255.200 "$SFY_PORT_HTTP"
check_re "unassigned-fake-address-EHOSTUNREACH" "EHOSTUNREACH [0-9]+$"

# /etc/hosts names and numeric hosts resolve as they always did.
run $T "${SFY[@]}" -x "$u" -- "$PY" "$DNSP" gai localhost 4
check_re "localhost-is-127.0.0.1" "^127\.0\.0\.1$"
run $T "${SFY[@]}" -x "$u" -- "$PY" "$DNSP" gai localhost 0
if ((RC == 0)) && [[ " $OUT " == *" 127.0.0.1 "* && $OUT != *240.* && $OUT != *fd53:* ]]; then
    pass "localhost-unspec-from-hosts-file"
else
    fail "localhost-unspec-from-hosts-file" "$(why "expected 127.0.0.1 and no fake address")"
fi
run $T "${SFY[@]}" -x "$u" -- "$PY" "$DNSP" gai "$SFY_DEST4" 0
check_re "numeric-host-unchanged" "^$SFY_DEST4$"

# --- Local DNS: the controls that show the client resolver's log catches lookups ----

run $T "${SFY[@]}" -x "socks5://$SFY_PROXY4:$SFY_PORT_DANTE" -- curl -sS "$URL_WEB"
if ((RC == 6)) && client_dns_log_has "$WEB"; then
    pass "control-socks5-scheme-resolves-locally"
else
    fail "control-socks5-scheme-resolves-locally" "$(why "expected curl exit 6 and $WEB in the client resolver's log")"
fi
run $T "${SFY[@]}" -x "$u" --dns local -- curl -sS "$URL_WEB"
if ((RC == 6)) && client_dns_log_has "$WEB"; then
    pass "control-dns-local-resolves-locally"
else
    fail "control-dns-local-resolves-locally" "$(why "expected curl exit 6 and $WEB in the client resolver's log")"
fi
# A name the client resolver does know: resolved locally, still connected through the
# proxy (the whoami server on the proxy's address sees the proxy's outside address).
run $T "${SFY[@]}" -x "$u" --dns local -- "$PY" "$PROBE" read "$SFY_NAME_LOCAL" "$SFY_PORT_WHOAMI"
if ((RC == 0)) && [[ $OUT == "$SFY_DEST4" ]] && client_dns_log_has "$SFY_NAME_LOCAL"; then
    pass "dns-local-name-resolved-locally-connected-via-proxy"
else
    fail "dns-local-name-resolved-locally-connected-via-proxy" "$(why "expected whoami to see $SFY_DEST4")"
fi
run $T "${SFY[@]}" -x "$u" --dns off -- curl -sS "$URL_WEB"
if ((RC == 6)) && [[ -z $(dns_leaks) ]]; then
    pass "dns-off-lookup-fails-without-asking"
else
    fail "dns-off-lookup-fails-without-asking" "$(why "expected curl exit 6 and no query at the client resolver")"
fi

# --- Domain suffixes in --direct: resolved locally, connected directly --------------

run $T "${SFY[@]}" -x "$u" --direct ".$SFY_TEST_DOMAIN" -- curl -sS "$URL_WEB"
if ((RC == 6)) && client_dns_log_has "$WEB"; then
    pass "direct-suffix-resolves-locally"
else
    fail "direct-suffix-resolves-locally" "$(why "expected curl exit 6 and $WEB in the client resolver's log")"
fi
run $T "${SFY[@]}" -x "$u" --direct ".${SFY_NAME_LOCAL#*.}" -- "$PY" "$PROBE" read "$SFY_NAME_LOCAL" "$SFY_PORT_WHOAMI"
if ((RC == 0)) && [[ $OUT == "$SFY_CLIENT4" ]] && client_dns_log_has "$SFY_NAME_LOCAL"; then
    pass "direct-suffix-connects-directly"
else
    fail "direct-suffix-connects-directly" "$(why "expected whoami to see the client's own $SFY_CLIENT4")"
fi

# --- The res_* family: refused, or carried over TCP through the proxy ---------------

run $T "${SFY[@]}" -x "$u" -- "$PY" "$DNSP" resq "$WEB"
if ((RC == 0)) && [[ $OUT == "rc=-1 h_errno=3 answers=" && -z $(dns_leaks) && $ERR == *socksify* ]] &&
    ! log_new proxy-dns | grep -q 'query\['; then
    pass "res_query-refused"
else
    fail "res_query-refused" "$(why "expected rc=-1, h_errno NO_RECOVERY, a log line and no query anywhere")"
fi
for proxy in dante micro; do
    run $T "${SFY[@]}" -x "$(urlh "$proxy")" --dns-tcp "$SFY_DEST4" -- "$PY" "$DNSP" resq "$WEB"
    if ((RC == 0)) && [[ $OUT =~ ^rc=[1-9][0-9]*\ h_errno=0\ answers=$SFY_DEST4$ && -z $(dns_leaks) ]] &&
        log_new proxy-dns | grep -qF "] $WEB from $SFY_DEST4"; then
        pass "res_query-dns-tcp-$proxy"
    else
        fail "res_query-dns-tcp-$proxy" "$(why "expected the proxy side's nameserver to answer $SFY_DEST4")"
    fi
done
run $T "${SFY[@]}" -x "$u" --dns-tcp "$SFY_DEST4" -- "$PY" "$DNSP" resq "$WEB6" AAAA
check_re "res_query-dns-tcp-aaaa" "^rc=[1-9][0-9]* h_errno=0 answers=$SFY_DEST6$"

# --- Preloaded without the launcher: the first process creates the table ---------
before=$(ls /dev/shm | grep -c '^socksify-' || true)
run 20 "${IN_CLIENT[@]}" env LD_PRELOAD="$SFY_ROOT/build/lib/libsocksify.so" \
    SOCKSIFY_PROXY="socks5h://$SFY_PROXY4:$SFY_PORT_DANTE" sh -c \
    'getent ahostsv4 '"$SFY_NAME_WEB"' | head -1; echo "shm=$SOCKSIFY_SHM"; exec '"$PY"' -c "import socket; print(socket.gethostbyname(\"'"$SFY_NAME_WEB"'\"))"'
first=$(awk 'NR == 1 {print $1}' <<<"$OUT")
last=$(tail -1 <<<"$OUT")
shm=$(sed -n 's/^shm=//p' <<<"$OUT")
if ((RC == 0)) && [[ $first == 240.* && $first == "$last" ]]; then
    pass hand-preloaded-table-shared-across-exec
else
    fail hand-preloaded-table-shared-across-exec "$(why "want one fake address twice")"
fi
# The library leaves its table behind (nobody knows when the tree ends): remove it.
[[ $shm == /dev/shm/socksify-* ]] && rm -f "$shm"

finish
