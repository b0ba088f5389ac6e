#!/usr/bin/env bash
# Load and odd process shapes through Dante (issue 5, Stress; docs/ARCHITECTURE.md, Failure):
# many threads, a fork storm by name, sockets on high fd numbers, a program that
# closes every fd above 2, a library that connects from its constructor, and a
# threaded run under an ASan+UBSan build of the shim.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher

STRESS=$SFY_ROOT/build/tests/stress
EARLY=$SFY_ROOT/build/tests/libearly_ctor.so
LIB=$SFY_ROOT/build/lib/libsocksify.so
URL=socks5h://$SFY_PROXY4:$SFY_PORT_DANTE
NAME=echo.socks.test  # only the proxy side can resolve it

# Connection storms leave TIME_WAIT sockets behind on both sides.
for ns in "$SFY_NS_CLIENT" "$SFY_NS_PROXY"; do
    ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1 \
        net.ipv4.ip_local_port_range="1024 65000" 2>/dev/null || true
done

# stress_case NAME SECS ARGS...: the stress program under the launcher must say ok.
# SECS is a watchdog against a hang, far above a loaded machine's time (a 64-thread
# storm through Dante took over 120 s on 2 busy vCPUs): slowness is not a failure.
stress_case() {
    local name=$1 secs=$2
    shift 2
    run "$secs" "${IN_CLIENT[@]}" "$SOCKSIFY" -q -x "$URL" -- "$STRESS" "$@"
    if ((RC == 77)); then
        skip "$name" "${OUT#skip }"
    elif ((RC == 0)) && [[ $OUT == ok* ]]; then
        pass "$name"
    else
        fail "$name" "$(why)"
    fi
}

stress_case threads-64x200-by-ip 600 threads "$SFY_DEST4" "$SFY_PORT_ECHO" 64 200
stress_case threads-16x50-by-name 300 threads "$NAME" "$SFY_PORT_ECHO" 16 50
stress_case fork-storm-100-by-name 300 forks "$NAME" "$SFY_PORT_ECHO" 100
stress_case fd-above-1024 20 highfd "$NAME" "$SFY_PORT_ECHO" 1500
stress_case fd-above-65536 20 highfd "$NAME" "$SFY_PORT_ECHO" 70000
stress_case closes-every-fd-above-2 20 closeall "$NAME" "$SFY_PORT_ECHO"

# A library connecting from its constructor, before the shim was ever called.
run 20 "${IN_CLIENT[@]}" env LD_PRELOAD="$LIB $EARLY" SOCKSIFY_PROXY="$URL" \
    EARLY_HOST="$NAME" EARLY_PORT="$SFY_PORT_ECHO" /bin/true
if ((RC == 0)) && [[ $ERR == *"early ok"* ]]; then
    pass constructor-connects-before-init
else
    fail constructor-connects-before-init "$(why)"
fi

# The same threaded load under a sanitized shim. It is linked without the sanitizer
# runtimes (it needs libc alone, like the real one): they are preloaded first.
ASAN_LIB=$SFY_ROOT/build/asan/lib/libsocksify.so
run 600 make -s -C "$SFY_ROOT" BUILD=build/asan \
    CXXFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
    LDFLAGS="-fno-sanitize=all" LIB_DEFS= build/asan/lib/libsocksify.so
if ((RC != 0)); then
    fail asan-threads "$(why "building the sanitized shim failed")"
else
    run 120 "${IN_CLIENT[@]}" env \
        LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so) $ASAN_LIB" \
        SOCKSIFY_PROXY="$URL" ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$STRESS" threads "$NAME" "$SFY_PORT_ECHO" 8 50
    if ((RC == 0)) && [[ $OUT == ok* ]] && [[ $ERR != *Sanitizer* ]]; then
        pass asan-threads
    else
        fail asan-threads "$(why)"
    fi
fi
finish
