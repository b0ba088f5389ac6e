#!/usr/bin/env bash
# Pipelining is learned per proxy, never guessed from time (issue 15), with the test
# world's real servers: Dante keeps early bytes and is pipelined once known; microsocks
# 1.0.3 drops them and is spoken to one message per round trip from the first
# connection on, with no second connection and no "lost bytes" fallback. What the
# launcher's probe found is remembered per user and shared by the whole run. And
# socksify --check against each server, line by line.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher

T=30
ensure_scratch
DIR=$SFY_TMP
declare -A PORT=([dante]=$SFY_PORT_DANTE [micro]=$SFY_PORT_MICRO)
declare -A VERDICT=([dante]="safe \\(first reply REP 0\\)" [micro]="unsafe \\(first reply REP 5\\)")
declare -A MODE=([dante]=pipelined [micro]=stepwise)

# loop PROXY N: N echo connections in one process under -v, with this proxy's cache.
loop() {
    run $T "${IN_CLIENT[@]}" env XDG_CACHE_HOME="$DIR/xdg-$1" "$SOCKSIFY" -v \
        -x "socks5h://$SFY_PROXY4:${PORT[$1]}" -- "$PY" "$PROBE" loop "$SFY_DEST4" "$SFY_PORT_ECHO" "$2" "pl-$1"
}
# connect_lines MODE: how many of the library's -v connect lines say MODE / say ok.
count() { grep -cE "$1" <<<"$ERR" || true; }

for proxy in dante micro; do
    p=$SFY_PROXY4:${PORT[$proxy]}
    # First run: nothing known. The launcher probes on a connection of its own while
    # the program starts; the program's connections never wait for it and are never
    # retried.
    loop "$proxy" 5
    ok=$(count "connect fd [0-9]+ to $SFY_DEST4:$SFY_PORT_ECHO via $p \\((pipelined|stepwise)\\): ok")
    if ((RC == 0)) && [[ $OUT == ms=* ]] && ((ok == 5)) &&
        [[ $ERR =~ "pipelining with $p: "${VERDICT[$proxy]}" (probed)" ]] &&
        [[ $ERR != *"lost pipelined"* ]]; then
        pass "$proxy-first-run-probes-once"
    else
        fail "$proxy-first-run-probes-once" "$(why "want 5 ok connects and the probe's verdict")"
    fi
    if [[ $proxy == micro ]] && (($(count "\\(pipelined\\)") > 0)); then
        fail micro-never-pipelined "$(why)"
    elif [[ $proxy == micro ]]; then
        pass micro-never-pipelined
    fi
    # Second run: remembered, no probe connection; every connection in the mode the
    # verdict gives.
    loop "$proxy" 5
    n=$(count "via $p \\(${MODE[$proxy]}\\): ok")
    if ((RC == 0)) && ((n == 5)) && [[ $ERR == *"pipelining with $p: "*" (remembered in $DIR/xdg-$proxy/socksify/pipelining)"* ]] &&
        [[ $ERR != *probed* ]]; then
        pass "$proxy-second-run-remembered-${MODE[$proxy]}"
    else
        fail "$proxy-second-run-remembered-${MODE[$proxy]}" "$(why "want 5 '${MODE[$proxy]}' connects, remembered")"
    fi
done

# The verdict is the run's: a second process started by the same launcher uses it.
# shellcheck disable=SC2016
run $T "${IN_CLIENT[@]}" env XDG_CACHE_HOME="$DIR/xdg-dante" "$SOCKSIFY" -v \
    -x "socks5h://$SFY_PROXY4:$SFY_PORT_DANTE" -- sh -c \
    '"$0" "$1" loop "$2" "$3" 1 first >/dev/null && exec "$0" "$1" loop "$2" "$3" 1 second' \
    "$PY" "$PROBE" "$SFY_DEST4" "$SFY_PORT_ECHO"
if ((RC == 0)) && (($(count "\\(pipelined\\): ok") == 2)); then
    pass dante-verdict-shared-by-child
else
    fail dante-verdict-shared-by-child "$(why "want both processes' connects pipelined")"
fi

# --no-pipeline wins over a remembered 'safe', and makes no probe.
run $T "${IN_CLIENT[@]}" env XDG_CACHE_HOME="$DIR/xdg-dante" "$SOCKSIFY" -v --no-pipeline \
    -x "socks5h://$SFY_PROXY4:$SFY_PORT_DANTE" -- "$PY" "$PROBE" loop "$SFY_DEST4" "$SFY_PORT_ECHO" 2 np
if ((RC == 0)) && (($(count "\\(stepwise\\): ok") == 2)) && [[ $ERR != *"pipelining with"* ]]; then
    pass no-pipeline-wins
else
    fail no-pipeline-wins "$(why)"
fi

# --- socksify --check ----------------------------------------------------------------

# check NAME STATUS URL [TARGET] -- PATTERN...: exit status and every line in order.
check() {
    local name=$1 want_rc=$2 url=$3 target=() i line
    shift 3
    if [[ $1 != -- ]]; then
        target=("$1")
        shift
    fi
    shift
    run $T "${IN_CLIENT[@]}" env XDG_CACHE_HOME="$DIR/xdg-check" SOCKSIFY_PASSWORD="$SFY_PASS" \
        "$SOCKSIFY" --timeout 3 --check "$url" "${target[@]}"
    local why=()
    ((RC == want_rc)) || why+=("exit status $RC, want $want_rc")
    mapfile -t lines <<<"$OUT"
    ((${#lines[@]} == $#)) || why+=("${#lines[@]} lines, want $#")
    i=0
    for pat in "$@"; do
        line=${lines[i]:-}
        [[ $line =~ $pat ]] || why+=("line $((i + 1)) '$line' !~ '$pat'")
        i=$((i + 1))
    done
    if ((${#why[@]} == 0)); then pass "check-$name"; else fail "check-$name" "$(why "${why[*]}")"; fi
}
P4=$SFY_PROXY4
reach() { printf '^proxy %s: reachable, connect [0-9.]+ ms$' "${1//./\\.}"; }
SET_PL="^settings: dns remote, udp on, pipelined, timeout 3000 ms$"
SET_SW="^settings: dns remote, udp on, one message per round trip, timeout 3000 ms$"
# The fake-DNS capacity line (issue 19) comes before the verdict.
FAKE="^fake-dns: [0-9]+ names at once, .* per name$"
check dante 0 "socks5h://$P4:$SFY_PORT_DANTE" "web.socks.test:$SFY_PORT_HTTP" -- \
    "$(reach "$P4:$SFY_PORT_DANTE")" "^methods: none accepted; username/password refused$" \
    "^connect by address ${P4//./\\.}:0: answered: " \
    "^connect by name web\\.socks\\.test:$SFY_PORT_HTTP: ok$" \
    "^udp associate: offered, relay ${P4//./\\.}:[0-9]+$" \
    "^pipelining: safe \\(first reply REP 0\\)$" "$SET_PL" "$FAKE" "^usable$"
check dante-by-address 0 "socks5h://$P4:$SFY_PORT_DANTE" "$SFY_DEST4:$SFY_PORT_ECHO" -- \
    "$(reach "$P4:$SFY_PORT_DANTE")" "^methods: none accepted; username/password refused$" \
    "^connect by address ${SFY_DEST4//./\\.}:$SFY_PORT_ECHO: ok$" \
    "^connect by name localhost:0: answered: " \
    "^udp associate: offered, relay ${P4//./\\.}:[0-9]+$" \
    "^pipelining: safe \\(first reply REP 0\\)$" "$SET_PL" "$FAKE" "^usable$"
check micro 0 "socks5h://$P4:$SFY_PORT_MICRO" -- \
    "$(reach "$P4:$SFY_PORT_MICRO")" "^methods: none accepted; username/password refused$" \
    "^connect by address ${P4//./\\.}:0: answered: connection refused \\(REP 5\\)$" \
    "^connect by name localhost:0: answered: connection refused \\(REP 5\\)$" \
    "^udp associate: refused: command not supported \\(REP 7\\)$" \
    "^pipelining: unsafe \\(first reply REP 5\\)$" "$SET_SW" "$FAKE" "^usable$"
check micro-auth 0 "socks5h://$SFY_USER@$P4:$SFY_PORT_MICRO_AUTH" -- \
    "$(reach "$P4:$SFY_PORT_MICRO_AUTH")" "^methods: none refused; username/password accepted$" \
    "^connect by address ${P4//./\\.}:0: answered: connection refused \\(REP 5\\)$" \
    "^connect by name localhost:0: answered: connection refused \\(REP 5\\)$" \
    "^udp associate: refused: command not supported \\(REP 7\\)$" \
    "^pipelining: unsafe \\(first reply REP 5\\)$" "$SET_SW" "$FAKE" "^usable$"
check micro-auth-no-user 1 "socks5h://$P4:$SFY_PORT_MICRO_AUTH" -- \
    "$(reach "$P4:$SFY_PORT_MICRO_AUTH")" \
    "^methods: none refused; username/password accepted \\(required: the URL has no user name\\)$" \
    "^connect by address ${P4//./\\.}:0: failed: Permission denied$" \
    "^connect by name localhost:0: failed: Permission denied$" \
    "^udp associate: failed: Permission denied$" \
    "^pipelining: unknown \\(Permission denied\\)$" "$SET_SW" "$FAKE" "^not usable$"
check dead-port 1 "socks5h://$P4:$SFY_PORT_DOWN" -- \
    "^proxy ${P4//./\\.}:$SFY_PORT_DOWN: unreachable: Connection refused$"

finish
