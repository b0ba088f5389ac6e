#!/usr/bin/env bash
# Issue 17, upstream kinds: real programs through each kind of upstream alone, with
# real servers — HTTP CONNECT through tinyproxy and through squid (Basic auth), SOCKS4
# through Dante, SOCKS4a and SOCKS5 through "ssh -D" against the world's sshd — and
# the errors each gives (README, "Upstream errors"). By-name cases also check that the
# name never reached the client side's resolver. One line per case.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher
require_names

T=20
TOKEN=$(token)
EP=$PROGRAMS/errno_probe.py
WEB=$SFY_NAME_WEB
URL=http://$WEB/hello.txt
TINY=http://$SFY_PROXY4:$SFY_PORT_TINYPROXY
SQUID=http://$SFY_USER:$SFY_PASS@$SFY_PROXY4:$SFY_PORT_SQUID
SQUID_NOAUTH=http://$SFY_PROXY4:$SFY_PORT_SQUID
S4=socks4://$SFY_PROXY4:$SFY_PORT_DANTE
SSH4A=socks4a://$SFY_PROXY4:$SFY_PORT_SSH_D
SSH5=socks5h://$SFY_PROXY4:$SFY_PORT_SSH_D

have() { [[ -f $SFY_WORLD/run/$1.pid ]]; }

# new_lines LOG COMMAND...: runs COMMAND (run's RC/OUT/ERR) and leaves in NEW what
# build/world/log/LOG got meanwhile.
new_lines() {
    local log=$SFY_LOG/$1 size
    shift
    size=$(stat -c %s "$log" 2>/dev/null) || size=0
    "$@"
    sleep 0.2  # squid writes its access log line after the connection ends
    NEW=$(tail -c +"$((size + 1))" "$log" 2>/dev/null || true)
}

# expect_errno NAME ERRNO [LOGLINE]: the errno probe's connect gave ERRNO, and stderr
# holds LOGLINE when given.
expect_errno() {
    if ((RC == 0)) && [[ $OUT == *"result=$2 "* && $OUT == *"after=E"* ]] &&
        [[ -z ${3:-} || $ERR == *"$3"* ]]; then
        pass "$1"
    else
        fail "$1" "$(why "expected result=$2${3:+ and log '$3'}")"
    fi
}

# --- HTTP CONNECT ----------------------------------------------------------------------

if have tinyproxy; then
    new_lines tinyproxy.log run $T "${SFY[@]}" -x "$TINY" curl -sS -m 10 "$URL"
    if [[ $NEW == *"CONNECT $WEB:80 "* ]]; then check_out_noleak http-tinyproxy-curl-by-name "$TOKEN"
    else fail http-tinyproxy-curl-by-name "$(why "tinyproxy logged no CONNECT $WEB:80: $(oneline "$NEW")")"; fi
    run $T "${SFY[@]}" -x "$TINY" wget -q -O - -T 10 "$URL"
    check_out_noleak http-tinyproxy-wget-by-name "$TOKEN"
    run $T "${SFY[@]}" -x "$TINY" "$PY" -c "
import socket
s = socket.create_connection(('$SFY_NAME_ECHO', $SFY_PORT_ECHO), timeout=10)
s.sendall(b'$TOKEN'); print(s.recv(100).decode())"
    check_out_noleak http-tinyproxy-python-echo-by-name "$TOKEN"
    # A server that speaks first (sshd's banner): no byte after the proxy's head is lost.
    run $T "${SFY[@]}" -x "$TINY" "$PY" -c "
import socket
s = socket.create_connection(('$SFY_PROXY4', $SFY_PORT_SSHD), timeout=10)
print(s.recv(8).decode())"
    check_out http-tinyproxy-server-speaks-first "SSH-2.0-"
    run $T "${SFY[@]}" -x "$TINY" sh -c "printf %s '$TOKEN' | nc -W 1 -w 10 '$SFY_NAME_ECHO' $SFY_PORT_ECHO"
    check_out_noleak http-tinyproxy-nc-echo-by-name "$TOKEN"
    run $T "${SFY[@]}" -x "$TINY" "$PY" "$EP" tcp "$SFY_DEST4" "$SFY_PORT_CLOSED"
    expect_errno http-tinyproxy-destination-refused ECONNABORTED "http proxy answered 500"
    # UDP needs a SOCKS5 upstream: refused, and nothing reaches the UDP echo.
    run $T "${SFY[@]}" -x "$TINY" "$PY" "$EP" udp "$SFY_DEST4" "$SFY_PORT_UDP_ECHO" "$TOKEN"
    if [[ $OUT == *"send1=EACCES"* && $ERR == *"UDP refused: the upstream"*"speaks http"* ]] &&
        ! log_new udpecho | grep -qF "$TOKEN"; then
        pass http-udp-refused-eacces
    else
        fail http-udp-refused-eacces "$(why "expected send1=EACCES, one log line, nothing at the echo")"
    fi
else
    skip http-tinyproxy "tinyproxy not in the world (scripts/install-deps.sh, then world.sh start)"
fi

if have squid; then
    new_lines squid-access.log run $T "${SFY[@]}" -x "$SQUID" curl -sS -m 10 "$URL"
    if [[ $NEW == *"CONNECT $WEB:80 $SFY_USER "* ]]; then check_out_noleak http-squid-basic-auth-curl-by-name "$TOKEN"
    else fail http-squid-basic-auth-curl-by-name "$(why "squid logged no CONNECT $WEB:80 by $SFY_USER: $(oneline "$NEW")")"; fi
    run 60 "${SFY[@]}" -x "$SQUID" env GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null \
        git clone -q "http://$SFY_NAME_GIT/$SFY_GIT_REPO" "$SFY_TMP/clone"
    if ((RC == 0)) && [[ $(cat "$SFY_TMP/clone/token.txt" 2>/dev/null) == *"$TOKEN"* ]]; then
        pass http-squid-git-clone-by-name
    else
        fail http-squid-git-clone-by-name "$(why)"
    fi
    # 407 without credentials, with squid's own answer named in the log line.
    run $T "${SFY[@]}" -x "$SQUID_NOAUTH" "$PY" "$EP" tcp "$WEB" 80
    expect_errno http-squid-407-without-credentials EACCES "http proxy answered 407"
    run $T "${SFY[@]}" -x "http://$SFY_USER:wrong@$SFY_PROXY4:$SFY_PORT_SQUID" "$PY" "$EP" tcp "$WEB" 80
    expect_errno http-squid-407-wrong-password EACCES "http proxy answered 407"
    # squid answers 503 when its connect fails.
    run $T "${SFY[@]}" -x "$SQUID" "$PY" "$EP" tcp "$SFY_DEST4" "$SFY_PORT_CLOSED"
    expect_errno http-squid-destination-refused-503 ENETUNREACH "http proxy answered 503"
    # The hop stalls (its connect to a black hole): our deadline, not squid's.
    run $T "${SFY[@]}" -x "$SQUID" --timeout 2 "$PY" "$EP" tcp "$SFY_BLACKHOLE4" 80
    expect_errno http-squid-stalls-etimedout ETIMEDOUT
else
    skip http-squid "squid not in the world (scripts/install-deps.sh, then world.sh start)"
fi

# Not an HTTP proxy at all: the whoami server writes an address and closes.
run $T "${SFY[@]}" -x "http://$SFY_PROXY4:$SFY_PORT_WHOAMI" "$PY" "$EP" tcp "$SFY_DEST4" 80
expect_errno http-malformed-response-econnaborted ECONNABORTED "not an HTTP response to CONNECT"
run $T "${SFY[@]}" -x "https://$SFY_PROXY4:$SFY_PORT_TINYPROXY" true
if ((RC != 0)) && [[ $ERR == *"https proxies are not supported"* ]]; then pass https-refused-clearly
else fail https-refused-clearly "$(why "expected a refusal naming https")"; fi

# --- SOCKS4 (Dante) ----------------------------------------------------------------------

run $T "${SFY[@]}" -x "$S4" curl -sS -m 10 "http://$SFY_DEST4/hello.txt"
check_out socks4-dante-curl-by-address "$TOKEN"
# socks4:// resolves locally (like socks5://): the client resolver cannot, so it fails
# there; forced remote DNS sends no name either: a clear refusal.
run $T "${SFY[@]}" -x "$S4" --dns remote "$PY" "$EP" tcp "$WEB" 80
expect_errno socks4-name-refused-ehostunreach EHOSTUNREACH "socks4 cannot carry names; use socks4a"
run $T "${SFY[@]}" -x "$S4" "$PY" "$EP" tcp "$SFY_DEST4" "$SFY_PORT_CLOSED"
expect_errno socks4-dante-destination-refused ECONNREFUSED
run $T "${SFY[@]}" -x "$S4" "$PY" "$EP" tcp "$SFY_DEST6" 80
expect_errno socks4-ipv6-enetunreach ENETUNREACH "socks4 carries IPv4 only"
run $T "${SFY[@]}" -x "$S4" "$PY" "$EP" udp "$SFY_DEST4" "$SFY_PORT_UDP_ECHO" "$TOKEN"
if [[ $OUT == *"send1=EACCES"* ]]; then pass socks4-udp-refused-eacces
else fail socks4-udp-refused-eacces "$(why "expected send1=EACCES")"; fi

# --- ssh -D: SOCKS4a and SOCKS5 --------------------------------------------------------

if have ssh-d; then
    run $T "${SFY[@]}" -x "$SSH4A" curl -sS -m 10 "$URL"
    check_out_noleak socks4a-ssh-d-curl-by-name "$TOKEN"
    run $T "${SFY[@]}" -x "$SSH4A" "$PY" -c "
import socket
s = socket.create_connection(('$SFY_NAME_ECHO', $SFY_PORT_ECHO), timeout=10)
s.sendall(b'$TOKEN'); print(s.recv(100).decode())"
    check_out_noleak socks4a-ssh-d-python-echo-by-name "$TOKEN"
    run $T "${SFY[@]}" -x "$SSH4A" sh -c "printf %s '$TOKEN' | nc -W 1 -w 10 '$SFY_NAME_ECHO' $SFY_PORT_ECHO"
    check_out_noleak socks4a-ssh-d-nc-echo-by-name "$TOKEN"
    run $T "${SFY[@]}" -x "$SSH5" curl -sS -m 10 "$URL"
    check_out_noleak socks5h-ssh-d-curl-by-name "$TOKEN"
    run $T "${SFY[@]}" -x "$SSH5" wget -q -O - -T 10 "$URL"
    check_out_noleak socks5h-ssh-d-wget-by-name "$TOKEN"
else
    skip ssh-d "sshd not in the world (scripts/install-deps.sh, then world.sh start)"
fi

finish
