#!/usr/bin/env bash
# The library preloaded by hand with a bad SOCKSIFY_* value (issue 5, Config errors):
# every proxied connection fails with EACCES after one log line naming the variable,
# name lookups fail, and nothing goes direct (a direct attempt from the client
# namespace would fail with ENETUNREACH instead).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world

LIB=$SFY_ROOT/build/lib/libsocksify.so
GOOD=socks5h://$SFY_PROXY4:$SFY_PORT_DANTE
PROBE_PY='
import errno, socket
s = socket.socket()
try:
    s.connect(("'"$SFY_DEST4"'", '"$SFY_PORT_ECHO"')); print("connect ok")
except OSError as e:
    print("connect", errno.errorcode[e.errno])
try:
    socket.getaddrinfo("'"$SFY_NAME_WEB"'", 80); print("lookup ok")
except socket.gaierror as e:
    print("lookup", e.errno == socket.EAI_FAIL and "EAI_FAIL" or e.errno)
'

# bad VAR=VALUE [PROXY]: the variable set badly, the rest good.
bad() {
    local assign=$1 proxy=${2:-$GOOD}
    local var=${assign%%=*}
    run 20 "${IN_CLIENT[@]}" env LD_PRELOAD="$LIB" SOCKSIFY_PROXY="$proxy" "$assign" "$PY" -c "$PROBE_PY"
    local value=${assign#*=}
    local name="bad-${var#SOCKSIFY_}-${value//[^A-Za-z0-9]/_}"
    name=${name,,}
    if ((RC == 0)) && [[ $OUT == *"connect EACCES"* && $OUT == *"lookup EAI_FAIL"* ]] &&
        (($(grep -c "socksify" <<<"$ERR") >= 1)) && [[ $ERR == *"$var"* ]]; then
        pass "$name"
    else
        fail "$name" "$(why "want EACCES, EAI_FAIL and a line naming $var")"
    fi
}

bad SOCKSIFY_TIMEOUT=abc
bad SOCKSIFY_TIMEOUT=0
bad SOCKSIFY_PIPELINE=perhaps
bad SOCKSIFY_LOG=loud
bad SOCKSIFY_DIRECT=203.0.113.0/33
bad SOCKSIFY_DNS=sometimes
bad SOCKSIFY_FAKE_NET=203.0.113.0/31
bad SOCKSIFY_FAKE_NET6=fd00::/64
bad SOCKSIFY_DNS_TCP=not-an-ip
bad SOCKSIFY_UDP=sideways
bad SOCKSIFY_STRICT=maybe
bad SOCKSIFY_POLICY=permit:web.socks.test
bad SOCKSIFY_POLICY=allow:web.socks.test:0
bad SOCKSIFY_DEFAULT_DENY=perhaps
bad SOCKSIFY_AUDIT=/nonexistent-dir/audit.log
bad SOCKSIFY_PASSWORD=secret  # a password without a user in the URL
bad SOCKSIFY_PROXY=https://198.51.100.1:3128 "https://198.51.100.1:3128"
bad SOCKSIFY_PROXY=socks5h://198.51.100.1:99999 "socks5h://198.51.100.1:99999"

# The same with no proxy at all.
run 20 "${IN_CLIENT[@]}" env -u SOCKSIFY_PROXY LD_PRELOAD="$LIB" "$PY" -c "$PROBE_PY"
if [[ $OUT == *"connect EACCES"* && $ERR == *"SOCKSIFY_PROXY is not set"* ]]; then
    pass missing-proxy-refuses
else
    fail missing-proxy-refuses "$(why)"
fi
# A password in the error line would be a leak of its own.
run 20 "${IN_CLIENT[@]}" env LD_PRELOAD="$LIB" SOCKSIFY_PROXY="socks5h://u:hunter2@$SFY_PROXY4:$SFY_PORT_DANTE" \
    SOCKSIFY_TIMEOUT=abc "$PY" -c "$PROBE_PY"
if [[ $ERR != *hunter2* && $OUT == *"connect EACCES"* ]]; then
    pass error-line-holds-no-password
else
    fail error-line-holds-no-password "$(why)"
fi
finish
