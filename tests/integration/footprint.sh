#!/usr/bin/env bash
# What the library adds to every program it is preloaded into, before any connection:
# resident memory (VmHWM, build/bench/peakrss) at most 1 MiB over the bare program,
# under the launcher and with the library alone. A static table with a constructor
# (it touches its pages at load time in every program) fails this. No world needed.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_launcher

PEAK=$SFY_ROOT/build/bench/peakrss
LIB=$SFY_ROOT/build/lib/libsocksify.so
URL=socks5h://127.0.0.1:1080  # never contacted: the program makes no connection
LIMIT_KB=1024

kb() { "$@" 2>/dev/null | awk '/ kB$/ {print $1; exit}'; }

bare=$(kb "$PEAK")
# add NAME COMMAND...: the program's VmHWM under COMMAND, against bare.
added() {
    local name=$1 got
    shift
    got=$(kb "$@" "$PEAK")
    if [[ $bare =~ ^[0-9]+$ && $got =~ ^[0-9]+$ ]] && ((got - bare <= LIMIT_KB)); then
        pass "$name"
    else
        fail "$name" "VmHWM bare ${bare:-?} kB, with socksify ${got:-?} kB (limit +$LIMIT_KB kB)"
    fi
}
added launcher-adds-at-most-1-mib "$SOCKSIFY" -q -x "$URL" --
added library-adds-at-most-1-mib env SOCKSIFY_PROXY="$URL" LD_PRELOAD="$LIB"
added strict-adds-at-most-1-mib "$SOCKSIFY" -q --strict -x "$URL" --
finish
