#!/usr/bin/env bash
# A two-minute tour for a newcomer: in the test world, curl cannot reach a web server
# on its own, and reaches it through Dante once started under socksify.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/world-env.sh
source "$ROOT/scripts/world-env.sh"
cd "$ROOT"
SOCKSIFY=build/bin/socksify
URL=http://$SFY_DEST4/hello.txt
PROXY=socks5://$SFY_PROXY4:$SFY_PORT_DANTE

((EUID == 0)) || {
    echo "demo: needs root (it builds two network namespaces)" >&2
    exit 1
}
[[ -x $SOCKSIFY ]] || {
    echo "demo: build first (make all)" >&2
    exit 1
}

stop() { "$ROOT/scripts/world.sh" stop >/dev/null 2>&1 || true; }
trap stop EXIT
echo "Starting the test world: namespace $SFY_NS_CLIENT can reach only the proxies;"
echo "$URL lives behind them in $SFY_NS_PROXY (Dante on $SFY_PROXY4:$SFY_PORT_DANTE)."
"$ROOT/scripts/world.sh" start
echo

show() {
    echo "\$ $*"
    local rc=0
    timeout 20 ip netns exec "$SFY_NS_CLIENT" "$@" 2>&1 | sed 's/^/    /' || rc=${PIPESTATUS[0]}
    echo "    (exit status $rc)"
    echo
}

echo "1. curl on its own: there is no route to $SFY_DEST4."
show curl -sS "$URL"

echo "2. The same curl under socksify -v, through Dante: the file's token arrives and"
echo "   socksify logs the connection on stderr."
show "$SOCKSIFY" -v -x "$PROXY" -- curl -sS "$URL"

echo "Expected token: $(cat "$ROOT/build/$SFY_WORLD_SUBDIR/www/hello.txt")"
echo "Stopping the test world."
