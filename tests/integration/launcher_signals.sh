#!/usr/bin/env bash
# Issue 11, class 8: SIGINT and SIGQUIT sent to the launcher by another process reach
# the program (they used to be swallowed), and ^C typed at a terminal, which reaches
# the program through its process group, is not passed on a second time. Needs no
# test world: nothing connects.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_launcher
ensure_scratch
URL=socks5h://127.0.0.1:1

# The program: says "ready", then prints the signals it got (INT, QUIT) once the first
# one has arrived and half a second has passed without another; gives up after 20 s.
PROG='
import signal, sys, time
got = []
for s in (signal.SIGINT, signal.SIGQUIT):
    signal.signal(s, lambda n, f: got.append(signal.Signals(n).name))
print("ready", flush=True)
end = time.monotonic() + 20
while not got and time.monotonic() < end:
    time.sleep(0.02)
time.sleep(0.5)
print("got", ",".join(got) or "nothing", flush=True)
'

# sent_by_process SIG: the launcher (its INT and QUIT at their defaults, as under a
# shell with job control) gets SIG from this script; the program must get it once.
sent_by_process() {
    local sig=$1 pid i
    : >"$SFY_TMP/out"
    env --default-signal=INT,QUIT "$SOCKSIFY" -x "$URL" -- "$PY" -c "$PROG" \
        >"$SFY_TMP/out" 2>"$SFY_TMP/err" </dev/null &
    pid=$!
    for ((i = 0; i < 300; i++)); do
        grep -q ready "$SFY_TMP/out" && break
        sleep 0.1
    done
    kill -"$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    RC=0
    wait "$pid" || RC=$?
    OUT=$(<"$SFY_TMP/out")
    # shellcheck disable=SC2034  # why() reads it
    ERR=$(<"$SFY_TMP/err")
    if ((RC == 0)) && [[ $OUT == *"got SIG$sig"* && $OUT != *"got SIG$sig,"* ]]; then
        pass "kill-$sig-reaches-program"
    else
        fail "kill-$sig-reaches-program" "$(why "expected the program to get SIG$sig once")"
    fi
}
sent_by_process INT
sent_by_process QUIT

# ^C at a terminal: the launcher is the session leader on a pseudo-terminal; the
# program must see one SIGINT, not one from the terminal and one from the launcher.
run 40 "$PY" -c '
import os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b""
end = time.monotonic() + 30
sent = False
while time.monotonic() < end:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
    if not sent and b"ready" in out:
        os.write(fd, b"\x03")
        sent = True
os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
' "$SOCKSIFY" -x "$URL" -- "$PY" -c "$PROG"
if ((RC == 0)) && [[ $OUT == *"got SIGINT"* && $OUT != *"got SIGINT,"* ]]; then
    pass terminal-ctrl-c-reaches-program-once
else
    fail terminal-ctrl-c-reaches-program-once "$(why "expected one SIGINT")"
fi
finish
