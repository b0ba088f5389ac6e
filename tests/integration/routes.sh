#!/usr/bin/env bash
# Issue 17, routes by destination: two names sent to two different upstreams (each
# upstream's own log shows only its name), the rest to the default proxy, a network
# direct (the whoami server sees the client's own address). One line per case.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher
require_names

T=30
TOKEN=$(token)
if [[ ! -f $SFY_WORLD/run/squid.pid || ! -f $SFY_WORLD/run/tinyproxy.pid ]]; then
    skip all "squid or tinyproxy not in the world (scripts/install-deps.sh, then world.sh start)"
    finish
fi
TINY=http://$SFY_PROXY4:$SFY_PORT_TINYPROXY
SQUID=http://$SFY_USER:$SFY_PASS@$SFY_PROXY4:$SFY_PORT_SQUID
size() { stat -c %s "$SFY_LOG/$1" 2>/dev/null || echo 0; }
since() { tail -c +"$(($2 + 1))" "$SFY_LOG/$1" 2>/dev/null || true; }

ensure_scratch
AUDIT=$SFY_TMP/audit.json
t0=$(size tinyproxy.log)
s0=$(size squid-access.log)
run $T "${SFY[@]}" -x "socks5h://$SFY_PROXY4:$SFY_PORT_DANTE" \
    --route "$SFY_NAME_WEB=$TINY" --route "$SFY_NAME_ECHO:$SFY_PORT_ECHO=$SQUID" \
    --route "$SFY_PROXY4/32=direct" --audit "$AUDIT" -v "$PY" -c "
import socket, urllib.request
print(urllib.request.urlopen('http://$SFY_NAME_WEB/hello.txt', timeout=10).read().decode())
s = socket.create_connection(('$SFY_NAME_ECHO', $SFY_PORT_ECHO), timeout=10)
s.sendall(b'echo-ok'); print(s.recv(100).decode()); s.close()
print(urllib.request.urlopen('http://$SFY_NAME_GIT/hello.txt', timeout=10).read().decode())
s = socket.create_connection(('$SFY_PROXY4', $SFY_PORT_WHOAMI), timeout=10)
print('whoami', s.recv(100).decode().strip())"
sleep 0.5
TN=$(since tinyproxy.log "$t0")
SN=$(since squid-access.log "$s0")
if [[ $TN == *"CONNECT $SFY_NAME_WEB:80 "* && $TN != *"$SFY_NAME_ECHO"* && $TN != *"$SFY_NAME_GIT"* ]] &&
    [[ $ERR == *"to $SFY_NAME_WEB = "*"via $SFY_PROXY4:$SFY_PORT_TINYPROXY (route)"* ]]; then
    check_out_noleak route-name-to-tinyproxy "$TOKEN"
else
    fail route-name-to-tinyproxy "$(why "tinyproxy saw: $(oneline "$TN")")"
fi
if [[ $SN == *"CONNECT $SFY_NAME_ECHO:$SFY_PORT_ECHO $SFY_USER"* && $SN != *"$SFY_NAME_WEB"* && $SN != *"$SFY_NAME_GIT"* ]]; then
    check_out_noleak route-second-name-to-squid "echo-ok"
else
    fail route-second-name-to-squid "$(why "squid saw: $(oneline "$SN")")"
fi
if [[ $ERR == *"to $SFY_NAME_GIT = "*"via $SFY_PROXY4:$SFY_PORT_DANTE "* ]]; then
    pass route-unmatched-to-default-proxy
else
    fail route-unmatched-to-default-proxy "$(why "expected $SFY_NAME_GIT via Dante")"
fi
if [[ $OUT == *"whoami $SFY_CLIENT4"* ]]; then pass route-network-direct
else fail route-network-direct "$(why "expected the whoami server to see $SFY_CLIENT4")"; fi

# The audit log names the upstream that carried each connection.
if grep -qF "\"name\":\"$SFY_NAME_WEB\",\"address\":null,\"port\":80,\"proxy\":\"$SFY_PROXY4:$SFY_PORT_TINYPROXY (route)\"" "$AUDIT" &&
    grep -qF "\"name\":\"$SFY_NAME_GIT\",\"address\":null,\"port\":80,\"proxy\":\"$SFY_PROXY4:$SFY_PORT_DANTE\"" "$AUDIT"; then
    pass route-audit-names-the-upstream
else
    fail route-audit-names-the-upstream "$(oneline "$(grep connect "$AUDIT")")"
fi

run $T "${SFY[@]}" -x "socks5h://$SFY_PROXY4:$SFY_PORT_DANTE" --route "*:443=direct" true
if ((RC != 0)) && [[ $ERR == *"--route"* ]]; then pass route-bad-direct-refused
else fail route-bad-direct-refused "$(why "expected a refusal naming --route")"; fi

finish
