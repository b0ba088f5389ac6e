#!/usr/bin/env bash
# Issue 16 with real proxies: a non-blocking connect() through sockd (with and without
# authentication) and microsocks, to the echo server by IP and by name, waited for with
# poll, select and edge-triggered epoll (also with the socket put in the epoll set
# before connect()), gives EINPROGRESS, then SO_ERROR 0 and a
# working tunnel; ten at once from Python asyncio and node all echo. One line per case.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher

T=20
TOKEN=$(token)
PROBE=$SFY_ROOT/build/tests/nb_probe
if [[ ! -x $PROBE ]]; then
    fail all "$PROBE not built (make all)"
    exit 1
fi
declare -A URL=(
    [dante]="socks5h://$SFY_PROXY4:$SFY_PORT_DANTE"
    [dante-auth]="socks5h://$SFY_USER:$SFY_PASS@$SFY_PROXY4:$SFY_PORT_DANTE_AUTH"
    [micro]="socks5h://$SFY_PROXY4:$SFY_PORT_MICRO"
)
for proxy in dante dante-auth micro; do
    for dest in "$SFY_DEST4" "$SFY_NAME_ECHO"; do
        kind=ip
        [[ $dest == "$SFY_DEST4" ]] || kind=name
        for mode in poll select epoll-et pre-epoll-et; do
            run $T "${SFY[@]}" -x "${URL[$proxy]}" -- "$PROBE" "$mode" "$dest" "$SFY_PORT_ECHO"
            if ((RC == 0)) && [[ $OUT == *connect=EINPROGRESS* && $OUT == *so_error=0* &&
                $OUT == *echo=ok* ]]; then
                pass "$proxy-$kind-$mode"
            else
                fail "$proxy-$kind-$mode" "$(why "want connect=EINPROGRESS so_error=0 echo=ok")"
            fi
        done
    done
    run $T "${SFY[@]}" -x "${URL[$proxy]}" -- "$PY" "$PROGRAMS/nb_asyncio.py" "$SFY_NAME_ECHO" "$SFY_PORT_ECHO" 10
    check_out "$proxy-asyncio-x10" "ok=10"
    # curl's multi interface: ten transfers at once, one event loop.
    urls=()
    for ((i = 0; i < 10; i++)); do urls+=("http://$SFY_DEST4/hello.txt"); done
    run $T "${SFY[@]}" -x "${URL[$proxy]}" -- curl -sS --parallel --parallel-immediate "${urls[@]}"
    n=$(grep -o -F -- "$TOKEN" <<<"$OUT" | wc -l)
    if ((RC == 0 && n == 10)); then pass "$proxy-curl-parallel-x10"; else fail "$proxy-curl-parallel-x10" "$(why "$n of 10 bodies")"; fi
    if command -v node >/dev/null; then
        run $T "${SFY[@]}" -x "${URL[$proxy]}" -- node "$PROGRAMS/nb_node.js" "$SFY_DEST4" "$SFY_PORT_ECHO" 10
        check_out "$proxy-node-x10" "ok=10"
    fi
done
finish
