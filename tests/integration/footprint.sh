#!/usr/bin/env bash
# What the library adds to every program it is preloaded into, before any connection:
# resident memory (VmHWM, build/bench/peakrss) at most 1 MiB over the bare program,
# under the launcher and with the library alone. A static table with a constructor
# (it touches its pages at load time in every program) fails this. And the page faults
# the library alone adds to a program's start (its loading, relocation and
# constructor): at most 48. A static array with a dynamic initializer (208 KiB of
# connection slots once: +74 faults, 0.4 ms of start-up per program here) fails it; a
# page count, not a time, so a loaded machine does not change it. Both sides run under
# env: the count is the process's, across exec, so env's own (its setlocale) is in both. No world needed.
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

FAULT_LIMIT=48
faults() { "$@" 2>/dev/null | awk '/ faults$/ {print $1; exit}'; }
bare_faults=$(faults env SOCKSIFY_PROXY="$URL" "$PEAK")
lib_faults=$(faults env SOCKSIFY_PROXY="$URL" LD_PRELOAD="$LIB" "$PEAK")
if [[ $bare_faults =~ ^[0-9]+$ && $lib_faults =~ ^[0-9]+$ ]] &&
    ((lib_faults - bare_faults <= FAULT_LIMIT)); then
    pass library-start-adds-at-most-48-page-faults
else
    fail library-start-adds-at-most-48-page-faults \
        "page faults bare ${bare_faults:-?}, with the library ${lib_faults:-?} (limit +$FAULT_LIMIT)"
fi
finish
