#!/usr/bin/env bash
# The programs' scripts are single-quoted on purpose (they expand in the program);
# cleanup runs from the EXIT trap.
# shellcheck disable=SC2016,SC2317
# The run's shared state (fake-DNS table, proxy password) against a second local user
# (nobody) and against the run's own programs: a file planted where SOCKSIFY_SHM points,
# a file swapped in after the launcher exited while a background descendant still runs,
# crafted headers (huge capacity and next index), a process that changed its uid, a
# child with other fake ranges, the password in the environment, state left behind by
# an early exit. Nothing may be read by the other user, nothing may crash (exit
# statuses checked), and a name keeps one fake address or fails with a log line.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher
require_names

T=30 # seconds: the bound for one case
TOKEN=$(token)
ensure_scratch
LIB=$SFY_ROOT/build/lib/libsocksify.so
TOOL=$PROGRAMS/state_tool.py
URL=socks5h://$SFY_PROXY4:$SFY_PORT_DANTE
AUTH_URL=socks5h://$SFY_USER:$SFY_PASS@$SFY_PROXY4:$SFY_PORT_DANTE_AUTH
WEB_URL=http://$SFY_NAME_WEB/hello.txt
FAKE4_RE='^240\.([0-9]|1[0-5])\.[0-9]+\.[0-9]+$'

if ! id nobody >/dev/null 2>&1 || ! getent group nogroup >/dev/null; then
    skip all "no user nobody or group nogroup for the second user"
    exit 0
fi
AS_NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
NOBODY_UID=$(id -u nobody)
# Where the second user works (the scratch directory is root's alone).
ATK=$(mktemp -d /dev/shm/sfy-state-test.XXXXXX)
chmod 1777 "$ATK"
ATK_PIDS=()
cleanup() {
    local p
    for p in "${ATK_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$SFY_TMP" "$ATK"
}
trap cleanup EXIT

# "$LOOK NAME" prints "NAME rc=STATUS ADDRESS" for a getent lookup in new processes
# (any user may run it; only root may change it).
LOOK=$ATK/look
printf '#!/bin/sh\nout=$(getent ahostsv4 "$1"); rc=$?; echo "$1 rc=$rc ${out%%%% *}"\n' >"$LOOK"
chmod 755 "$LOOK"
# A Python parent with close_fds (its default): the child keeps no inherited fd.
CLOSED_FDS="$PY -c 'import subprocess, sys; r = subprocess.run([\"getent\", \"ahostsv4\", sys.argv[1]]); print(\"closed-fds rc=%d\" % r.returncode)'"

# crashed TEXT: the "rc=" statuses in TEXT that mean a signal (>= 128, or a Python
# returncode < 0), one line; empty when none.
crashed() { grep -oE 'rc=(-[0-9]+|1[2-9][0-9]|2[0-9][0-9])' <<<"$1" | tr '\n' ' ' || true; }
# addr_of NAME TEXT: the address "look NAME" printed in TEXT (empty if it failed).
addr_of() { awk -v n="$1" '$1 == n && $2 == "rc=0" {print $3; exit}' <<<"$2"; }
# outside TEXT: addresses of successful lookups in TEXT that are not fake ones.
outside() { awk '$2 == "rc=0" {print $3}' <<<"$1" | grep -vE "$FAKE4_RE" | tr '\n' ' ' || true; }

# --- Early exits leave no state ------------------------------------------------------
cp /bin/true "$SFY_TMP/setuid_true"
chmod 4755 "$SFY_TMP/setuid_true"
# The launcher's pid names what older versions left in /dev/shm.
run $T sh -c 'echo $$; exec "$@"' sh "$SOCKSIFY" --strict -x "$URL" -- "$SFY_TMP/setuid_true"
pid=$(head -1 <<<"$OUT")
left=$(ls -d /dev/shm/socksify-"$pid"-* 2>/dev/null || true)
if ((RC == 2)) && [[ $ERR == *"refused in --strict mode"* && -z $left ]]; then
    pass strict-refusal-leaves-no-state
else
    fail strict-refusal-leaves-no-state "$(why "want exit 2, a refusal and nothing left; left: '$left'")"
fi
run $T sh -c 'echo $$; exec "$@"' sh "$SOCKSIFY" -x "$URL" -- "$SFY_TMP/no-such-program"
pid=$(head -1 <<<"$OUT")
left=$(ls -d /dev/shm/socksify-"$pid"-* 2>/dev/null || true)
if ((RC == 127)) && [[ -z $left ]]; then
    pass not-found-leaves-no-state
else
    fail not-found-leaves-no-state "$(why "want exit 127 and nothing left; left: '$left'")"
fi

# --- The password is not in any program's environment ---------------------------------
SHOW_ENV='tr "\0" "\n" </proc/$$/environ >"$0"; exec curl -sS --max-time 10 "$1"'
run $T "${SFY[@]}" -x "$AUTH_URL" -- sh -c "$SHOW_ENV" "$SFY_TMP/environ" "$WEB_URL"
if ((RC == 0)) && [[ $OUT == *"$TOKEN"* ]] && ! grep -qF -e "$SFY_PASS" -e SOCKSIFY_PASSWORD "$SFY_TMP/environ"; then
    pass password-not-in-environment
else
    fail password-not-in-environment "$(why "want the page through the authenticating proxy and no password in /proc/PID/environ: $(grep -F -e "$SFY_PASS" -e SOCKSIFY_PASSWORD "$SFY_TMP/environ" | tr '\n' ' ')")"
fi
# Under --strict a program started with an empty environment gets the library and its
# variables back, and authenticates through the shared state alone.
run $T "${SFY[@]}" --strict -x "$AUTH_URL" -- env -i /bin/sh -c "$SHOW_ENV" "$SFY_TMP/environ" "$WEB_URL"
if ((RC == 0)) && [[ $OUT == *"$TOKEN"* ]] && grep -q '^SOCKSIFY_SHM=' "$SFY_TMP/environ" &&
    ! grep -qF -e "$SFY_PASS" -e SOCKSIFY_PASSWORD "$SFY_TMP/environ"; then
    pass strict-env-i-authenticates-without-password-in-environment
else
    fail strict-env-i-authenticates-without-password-in-environment "$(why "environment: $(grep SOCKSIFY "$SFY_TMP/environ" | tr '\n' ' ')")"
fi

# --- A child with other fake ranges is refused, not given addresses outside them -----
run $T "${SFY[@]}" -x "$URL" -- sh -c '
    "$0" one.example
    for n in two three four five; do SOCKSIFY_FAKE_NET=240.0.0.0/30 "$0" $n.example; done
    out=$(SOCKSIFY_FAKE_NET6=fd53:4f43:4b53::/120 getent ahostsv6 six.example)
    echo "six.example rc=$? ${out%% *}"' "$LOOK"
bad=$(awk '$1 != "one.example" && $2 == "rc=0"' <<<"$OUT" | tr '\n' ' ')
if [[ $(addr_of one.example "$OUT") =~ $FAKE4_RE && -z $bad && -z $(crashed "$OUT") ]] &&
    [[ $ERR == *"SOCKSIFY_FAKE_NET is 240.0.0.0/30 here but 240.0.0.0/12"* ]] &&
    [[ $ERR == *"SOCKSIFY_FAKE_NET6 is fd53:4f43:4b53::/120 here but fd53:4f43:4b53::/96"* ]] &&
    grep -q '^five.example rc=2' <<<"$OUT"; then
    pass fake-net-mismatch-refused
else
    fail fake-net-mismatch-refused "$(why "want the children's lookups to fail with a log line; answered: '$bad'")"
fi

# --- A process that changed its uid keeps the run's table -----------------------------
run $T "${SFY[@]}" -x "$URL" -- sh -c '
    "$0" a.example; "$0" b.example
    '"${AS_NOBODY[*]}"' "$0" b.example | sed s/^/nobody-/
    '"${AS_NOBODY[*]} $CLOSED_FDS"' c.example' "$LOOK"
root_b=$(addr_of b.example "$OUT")
nobody_b=$(awk '$1 == "nobody-b.example" && $2 == "rc=0" {print $3}' <<<"$OUT")
if [[ $root_b =~ $FAKE4_RE && $nobody_b == "$root_b" && -z $(crashed "$OUT") ]]; then
    pass uid-change-keeps-table
else
    fail uid-change-keeps-table "$(why "want b.example at one address as root and as nobody ('$root_b' / '$nobody_b')")"
fi
# Without the inherited fd (Python closes every other fd) a process of another user
# cannot re-open the state: its lookups fail with a log line, never a private table.
if grep -q '^closed-fds rc=2$' <<<"$OUT" && [[ $ERR == *"runs as another user"* ]]; then
    pass uid-change-without-fd-fails-loudly
else
    fail uid-change-without-fd-fails-loudly "$(why "want getent to fail and a log line")"
fi

# --- A file another user planted where SOCKSIFY_SHM points ----------------------------
# Whatever SOCKSIFY_SHM says, the library maps only what it verified: here a path (the
# form older versions used) and the <pid>:<fd>:<dev>:<ino>:<uid> form forged to point
# at the second user's process holding the planted file.
planted=$ATK/planted
"${AS_NOBODY[@]}" "$PY" "$TOOL" craft "$planted" 2
"${AS_NOBODY[@]}" "$PY" "$TOOL" craft "$planted-v3" 3
"${AS_NOBODY[@]}" "$PY" -c 'import os, sys, time
os.dup2(os.open(sys.argv[1], os.O_RDWR), 100)
open(sys.argv[2], "w").write("ready")
time.sleep(60)' "$planted-v3" "$ATK/holder-ready" &
ATK_PIDS+=($!)
holder=$!
for ((i = 0; i < 100; i++)); do [[ -e $ATK/holder-ready ]] && break; sleep 0.1; done
read -r dev ino < <(stat -c '%d %i' "$planted-v3")
declare -A REFS=([path]=$planted [fd-of-nobody]="$holder:100:$dev:$ino:$NOBODY_UID"
    [fd-claiming-root]="$holder:100:$dev:$ino:0")
for kind in path fd-of-nobody fd-claiming-root; do
    ref=${REFS[$kind]}
    run $T "${IN_CLIENT[@]}" env LD_PRELOAD="$LIB" SOCKSIFY_PROXY="$URL" SOCKSIFY_SHM="$ref" \
        sh -c '"$0" planted-secret.example; "$0" planted-secret.example' "$LOOK"
    read_by_other=$("$PY" "$TOOL" names "$planted" planted-secret.example)$("$PY" "$TOOL" names "$planted-v3" planted-secret.example)
    if [[ -z $read_by_other && -z $(crashed "$OUT") && -z $(outside "$OUT") ]] &&
        [[ $ERR == *"cannot be used"* ]]; then
        pass "planted-state-not-used-$kind"
    else
        fail "planted-state-not-used-$kind" "$(why "names written for the other user: '$read_by_other'; crashed: '$(crashed "$OUT")'")"
    fi
done
kill "$holder" 2>/dev/null || true

# The second user cannot open the state of a running program.
run $T "${SFY[@]}" -x "$URL" -- sh -c 'getent ahostsv4 live.example >/dev/null; fd=${SOCKSIFY_SHM#*:}; fd=${fd%%:*}; p=/proc/$$/fd/$fd; [ "${SOCKSIFY_SHM#/}" != "$SOCKSIFY_SHM" ] && p=$SOCKSIFY_SHM; '"${AS_NOBODY[*]}"' cat "$p" >/dev/null 2>&1; echo "nobody-read rc=$?"'
if grep -q '^nobody-read rc=1$' <<<"$OUT"; then
    pass other-user-cannot-open-live-state
else
    fail other-user-cannot-open-live-state "$(why)"
fi

# --- A file swapped in after the launcher exited; a descendant still runs -------------
# The second user plants a crafted file wherever SOCKSIFY_SHM names a path (older
# versions: the launcher's /dev/shm file, removed when its child exits). The background
# descendant then looks names up again, in new processes, one of them with every
# inherited fd closed.
run $T "${SFY[@]}" -x "$URL" -- sh -c '
    "$0" first.example
    echo "shm=$SOCKSIFY_SHM"
    echo "version=$('"$PY $TOOL"' version)"
    (
        i=0; while [ ! -e "$1/go" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
        "$0" first.example; "$0" second.example
        '"$CLOSED_FDS"' third.example
        touch "$1/done"
    ) >"$1/bg.out" 2>"$1/bg.err" &' "$LOOK" "$ATK"
shm=$(sed -n 's/^shm=//p' <<<"$OUT")
version=$(sed -n 's/^version=//p' <<<"$OUT")
first=$(addr_of first.example "$OUT")
swapped=
if [[ $shm == /* ]]; then
    "${AS_NOBODY[@]}" "$PY" "$TOOL" craft "$shm" "$version" && swapped=$shm
fi
touch "$ATK/go"
for ((i = 0; i < 200; i++)); do [[ -e $ATK/done ]] && break; sleep 0.1; done
bg=$(cat "$ATK/bg.out" 2>/dev/null || true)
bgerr=$(cat "$ATK/bg.err" 2>/dev/null || true)
read_by_other=
[[ -n $swapped ]] && read_by_other=$("$PY" "$TOOL" names "$swapped" first.example second.example third.example)
again=$(addr_of first.example "$bg")
second=$(addr_of second.example "$bg")
if [[ ! -e $ATK/done ]]; then
    fail swapped-state-after-launcher-exit "the background descendant did not finish: $(oneline "$bg $bgerr")"
elif [[ $first =~ $FAKE4_RE && $again == "$first" && $second =~ $FAKE4_RE && $second != "$first" &&
    -z $read_by_other && -z $(crashed "$bg") ]]; then
    pass swapped-state-after-launcher-exit
else
    fail swapped-state-after-launcher-exit "first.example '$first' then '$again'; read by the other user: '$read_by_other'; background: $(oneline "$bg $bgerr")"
fi
if grep -q '^closed-fds rc=2$' <<<"$bg" && [[ $bgerr == *"created it has exited"* ]]; then
    pass closed-fd-after-launcher-exit-fails-loudly
else
    fail closed-fd-after-launcher-exit-fails-loudly "want getent to fail with a log line: $(oneline "$bg $bgerr")"
fi
[[ -n $swapped ]] && rm -f "$swapped"

# --- A header crafted by a program of the run -----------------------------------------
# A huge next index, then a huge capacity: lookups fail (table full, or a log line
# that the table is unusable), known names keep their address or fail, nothing
# crashes, nothing is written past the table.
run $T "${SFY[@]}" -x "$URL" -- sh -c '
    "$0" a.example
    '"$PY $TOOL"' scribble next 0xfffffff0
    "$0" b.example; "$0" a.example
    '"$PY $TOOL"' scribble capacity 0xffffffff
    "$0" c.example; "$0" a.example; "$0" d.example' "$LOOK"
a=$(addr_of a.example "$OUT")
others=$(awk -v a="$a" '$1 == "a.example" && $2 == "rc=0" && $3 != a' <<<"$OUT")
if ((RC == 0)) && [[ $a =~ $FAKE4_RE && -z $others && -z $(crashed "$OUT") && -z $(outside "$OUT") ]] &&
    grep -q '^b.example rc=2' <<<"$OUT" && grep -q '^d.example rc=2' <<<"$OUT"; then
    pass crafted-header-in-run
else
    fail crafted-header-in-run "$(why "want no crash, a.example at one address, new names refused")"
fi

# A process that already uses the table when its capacity is scribbled on still hands
# out addresses of its own range only.
run $T "${SFY[@]}" -x "$URL" --fake-net 240.0.0.0/24 -- "$PY" -c '
import socket, subprocess, sys
def look(name):
    try:
        print(name, "rc=0", socket.gethostbyname(name))
    except OSError as e:
        print(name, "rc=2", e)
look("a.example")
for field, value in (("capacity", "131072"), ("next", "300")):
    subprocess.run([sys.executable, sys.argv[1], "scribble", field, value], close_fds=False, check=True)
look("b.example")' "$TOOL"
b=$(addr_of b.example "$OUT")
if ((RC == 0)) && [[ $(addr_of a.example "$OUT") =~ ^240\.0\.0\. && ( -z $b || $b =~ ^240\.0\.0\. ) ]] &&
    grep -q '^b.example rc=' <<<"$OUT"; then
    pass crafted-capacity-stays-in-own-range
else
    fail crafted-capacity-stays-in-own-range "$(why "want b.example refused or inside 240.0.0.0/24")"
fi

finish
