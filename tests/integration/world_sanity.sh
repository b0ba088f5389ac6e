#!/usr/bin/env bash
# The test world itself, checked with programs that speak SOCKS on their own (curl
# --socks5, no socksify): every proxy carries traffic, the client has no other way to
# the destinations, and the refused and silent addresses behave as the tests assume.
# When these fail, failures elsewhere say nothing about socksify.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world

T=10
TOKEN=$(token)
D4=$SFY_DEST4
D6=$(urlhost "$SFY_DEST6")
P6=$(urlhost "$SFY_PROXY6")
AUTH=$SFY_USER:$SFY_PASS

for c in \
    "dante-v4 $SFY_PROXY4:$SFY_PORT_DANTE $D4" \
    "dante-v6 $SFY_PROXY4:$SFY_PORT_DANTE $D6" \
    "dante-proxy6 $P6:$SFY_PORT_DANTE $D4" \
    "micro-v4 $SFY_PROXY4:$SFY_PORT_MICRO $D4" \
    "micro-v6 $SFY_PROXY4:$SFY_PORT_MICRO $D6" \
    "micro-proxy6 $P6:$SFY_PORT_MICRO $D6" \
    "micro-auth $AUTH@$SFY_PROXY4:$SFY_PORT_MICRO_AUTH $D4" \
    "dante-auth $AUTH@$SFY_PROXY4:$SFY_PORT_DANTE_AUTH $D4"; do
    read -r name proxy dest <<<"$c"
    run $T "${IN_CLIENT[@]}" curl -sS -x "socks5://$proxy" "http://$dest/hello.txt"
    check_out "native-socks-$name" "$TOKEN"
done

for c in "micro-auth $SFY_PORT_MICRO_AUTH" "dante-auth $SFY_PORT_DANTE_AUTH"; do
    read -r name port <<<"$c"
    run $T "${IN_CLIENT[@]}" curl -sS -x "socks5://$SFY_USER:nope@$SFY_PROXY4:$port" "http://$D4/hello.txt"
    # 97: curl's "proxy handshake failed", here "User was rejected by the SOCKS5 server".
    if ((RC == 97)); then pass "native-$name-rejects-wrong-password"; else fail "native-$name-rejects-wrong-password" "$(why)"; fi
done

# The client has no route to the destination networks, in either family.
for c in "dest-v4 $SFY_DEST4" "dest-v6 $SFY_DEST6" "blackhole $SFY_BLACKHOLE4"; do
    read -r name d <<<"$c"
    run $T "${IN_CLIENT[@]}" ip route get "$d"
    if ((RC != 0)); then pass "client-has-no-route-$name"; else fail "client-has-no-route-$name" "$(why)"; fi
done
run $T "${IN_CLIENT[@]}" "$PY" "$PROBE" errno "$SFY_DEST4" "$SFY_PORT_ECHO"
check_out "client-direct-connect-unreachable" "ENETUNREACH"

# In the proxy namespace: the refused port refuses, the silent address stays silent.
run $T "${IN_PROXY[@]}" "$PY" "$PROBE" errno "$SFY_DEST4" "$SFY_PORT_CLOSED"
check_out "dest-closed-port-refuses" "ConnectionRefusedError ECONNREFUSED"
run $T "${IN_PROXY[@]}" timeout 2 "$PY" "$PROBE" errno "$SFY_BLACKHOLE4" "$SFY_PORT_ECHO"
if ((RC == 124)) && [[ -z $OUT ]]; then
    pass "blackhole-drops-syn"
else
    fail "blackhole-drops-syn" "$(why "expected connect to hang until killed after 2 s")"
fi
run $T "${IN_CLIENT[@]}" "$PY" "$PROBE" errno "$SFY_PROXY4" "$SFY_PORT_DOWN"
check_out "proxy-down-port-refuses" "ConnectionRefusedError ECONNREFUSED"

run $T "${IN_PROXY[@]}" "$PY" "$PROBE" read "$SFY_DEST6" "$SFY_PORT_WHOAMI"
check_out "whoami-reports-peer" "$SFY_DEST6"
run $T "${IN_PROXY[@]}" "$PY" "$PROBE" echo "$SFY_DEST4" "$SFY_PORT_ECHO" "e-$TOKEN"
check_out "echo-echoes" "e-$TOKEN"

finish
