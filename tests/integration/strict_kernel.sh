#!/usr/bin/env bash
# --strict as a kernel guarantee (issue 14): a hostile job, run by an unprivileged user
# under --strict --default-deny --allow <one name> in the namespace world, tries every
# way around the proxy — raw system calls, io_uring, a static and a Go child, a re-exec
# without LD_PRELOAD, libc ahead of socksify in LD_PRELOAD, ctypes' __connect, a
# thread rewriting the address during connect thousands of times, odd address forms,
# UDP to a nameserver address, raw and packet sockets, a seccomp listener of its own,
# SOCKS5 spoken to the proxy itself for a denied name, ptrace/gdb of the launcher —
# and a listener on the far side hears nothing, while the audit log (which the job can
# neither find nor silence) holds a refusal for each attempt the supervisor saw. Then
# normal work passes under --strict (curl, python, a static and a Go client) and a
# kernel without user notification makes --strict refuse to start with one line.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher
require_names
ensure_scratch
T=60
TOKEN=$(token)
WEB=$SFY_NAME_WEB
DENIED=$SFY_NAME_GIT
PORT=4343 # nothing else in the world listens here
DANTE=socks5h://$SFY_PROXY4:$SFY_PORT_DANTE

# Everything the unprivileged job and launcher touch lives here (SFY_TMP is root's).
W=$(mktemp -d /tmp/socksify-strict-kernel.XXXXXX)
chmod 711 "$W"
mkdir -p "$W/bin" "$W/log"
chown 65534:65534 "$W/log"
chmod 700 "$W/log"
AUDIT=$W/log/audit.jsonl
LISTEN_LOG=$SFY_TMP/listener.log
"${IN_PROXY[@]}" "$PY" "$PROGRAMS/addr_listener.py" "$LISTEN_LOG" "$PORT" 600 "$SFY_PROXY4" \
    "$SFY_PROXY6" >/dev/null 2>"$SFY_TMP/listener.err" &
LISTENER=$!
cleanup() {
    kill "$LISTENER" 2>/dev/null || true
    rm -rf "$W" "$SFY_TMP"
}
trap cleanup EXIT
for ((i = 0; i < 50; i++)); do
    grep -q listening "$LISTEN_LOG" 2>/dev/null && break
    sleep 0.1
done
heard() { grep -c -E '^(tcp|udp) ' "$LISTEN_LOG" || true; }
denials() { grep -c '"verdict":"deny"' "$AUDIT" 2>/dev/null || true; }

gcc -O2 -Wall -pthread -o "$W/bin/hostile" "$PROGRAMS/strict_hostile.c" 2>"$SFY_TMP/cc.err" ||
    { fail build "$(oneline "$(<"$SFY_TMP/cc.err")")"; finish; }
HAVE_STATIC=1
gcc -static -O2 -Wall -pthread -o "$W/bin/hostile_static" "$PROGRAMS/strict_hostile.c" 2>/dev/null &&
    gcc -static -O2 -o "$W/bin/static_connect" "$PROGRAMS/static_connect.c" 2>/dev/null || HAVE_STATIC=0
HAVE_GO=0
if command -v go >/dev/null; then
    export GOCACHE=$SFY_ROOT/build/go/cache GOPATH=$SFY_ROOT/build/go/path GOPROXY=off GOFLAGS= GO111MODULE=auto
    CGO_ENABLED=0 go build -o "$W/bin/httpget" "$PROGRAMS/go/httpget.go" 2>"$SFY_TMP/go.err" && HAVE_GO=1
fi
chmod -R a+rX "$W/bin"

# The job and the launcher run as nobody: the guarantee is for an unprivileged job.
AS=("${IN_CLIENT[@]}" setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/nonexistent)
JOB=("${AS[@]}" "$SOCKSIFY" -q --strict --default-deny --allow "$WEB" --audit "$AUDIT" -x "$DANTE" --)
ARGS=("$SFY_PROXY4" "$SFY_PROXY6" "$PORT" "$SFY_PROXY4" "$SFY_PORT_DANTE" "$DENIED")
before=$(heard)

# attempt NAME WANT-IN-STDOUT RECORDS COMMAND...: the attempt fails as WANT says and the
# audit log gains RECORDS refusal records.
attempt() {
    local name=$1 want=$2 records=$3 d0
    shift 3
    d0=$(denials)
    run $T "${JOB[@]}" "$@"
    local got=$(($(denials) - d0))
    if [[ $OUT == *"$want"* && $got == "$records" ]]; then
        pass "$name"
    else
        fail "$name" "$(why "want '$want' and $records refusal record(s), got $got")"
    fi
}

for kind in hostile hostile_static; do
    [[ $kind == hostile_static ]] && ((!HAVE_STATIC)) && { skip static-child "no static libc"; continue; }
    P=$W/bin/$kind
    attempt "$kind-raw-syscall-connect" "raw-connect EACCES" 1 "$P" raw-connect "${ARGS[@]}"
    attempt "$kind-io-uring-refused" "io-uring EPERM" 0 "$P" io-uring "${ARGS[@]}"
    attempt "$kind-short-sockaddr-in6" "short-sin6 EACCES" 1 "$P" short-sin6 "${ARGS[@]}"
    attempt "$kind-af-unspec-sendto" "unspec-sendto EACCES" 1 "$P" unspec-sendto "${ARGS[@]}"
    attempt "$kind-udp-to-nameserver" "udp-nameserver EACCES" 1 "$P" udp-nameserver "${ARGS[@]}"
    attempt "$kind-udp-sendmsg" "udp-far EACCES" 1 "$P" udp-far "${ARGS[@]}"
    attempt "$kind-raw-socket" "raw-socket EACCES" 1 "$P" raw-socket "${ARGS[@]}"
    attempt "$kind-packet-socket" "packet-socket EACCES" 1 "$P" packet-socket "${ARGS[@]}"
    attempt "$kind-unspec-then-fast-open" "fastopen EACCES" 1 "$P" fastopen "${ARGS[@]}"
    attempt "$kind-socks5-to-the-proxy" "socks-direct EACCES" 1 "$P" socks-direct "${ARGS[@]}"
    attempt "$kind-own-seccomp-listener" "own-listener EACCES" 0 "$P" own-listener "${ARGS[@]}"
done

# A thread rewrites the address while another is inside connect, 5000 times: every
# connect reaches loopback (direct) or is refused (one record each), never the target.
d0=$(denials)
run 120 "${JOB[@]}" "$W/bin/hostile" race "${ARGS[@]}" 5000
refused=$(sed -n 's/.*refused=\([0-9]*\).*/\1/p' <<<"$OUT")
if [[ $OUT == *"other=0 leak=0"* && -n $refused ]] && (($(denials) - d0 == refused)); then
    pass "race-rewritten-address-never-leaves ($(oneline "$OUT"))"
else
    fail race-rewritten-address-never-leaves "$(why "records $(($(denials) - d0)) for refused=$refused")"
fi

# The job clears LD_PRELOAD (and everything else) and re-executes itself.
attempt reexec-without-preload "raw-connect EACCES" 1 env -i "$W/bin/hostile" raw-connect "${ARGS[@]}"
# libc ahead of socksify in LD_PRELOAD; libc's public alias called through ctypes.
PYCONNECT='import ctypes, errno, socket, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
s = socket.socket()
addr = struct.pack("!HH4s8x", socket.AF_INET, int(sys.argv[2]), socket.inet_aton(sys.argv[1]))
addr = struct.pack("<H", socket.AF_INET) + addr[2:]
rc = getattr(libc, sys.argv[3])(s.fileno(), addr, len(addr))
print(sys.argv[3], "ok" if rc == 0 else errno.errorcode[ctypes.get_errno()])'
attempt libc-first-in-ld-preload "connect EACCES" 1 sh -c \
    'LD_PRELOAD="/lib/x86_64-linux-gnu/libc.so.6 $LD_PRELOAD" exec "$0" -c "$1" "$2" "$3" connect' \
    "$PY" "$PYCONNECT" "$SFY_PROXY4" "$PORT"
attempt ctypes-libc-alias "__connect EACCES" 1 "$PY" -c "$PYCONNECT" "$SFY_PROXY4" "$PORT" __connect
if ((HAVE_GO)); then
    d0=$(denials)
    run $T "${JOB[@]}" "$W/bin/httpget" "http://$SFY_PROXY4:$PORT/"
    if ((RC != 0)) && (($(denials) > d0)); then pass go-child-refused; else fail go-child-refused "$(why)"; fi
else
    skip go-child-refused "go is not installed"
fi

# The launcher (same user) cannot be traced, nor its memory read: no way to make the
# unpreloaded launcher connect for the job.
run $T "${JOB[@]}" "$PY" -c '
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
pp = os.getppid()
print("attach", "ok" if libc.ptrace(16, pp, 0, 0) == 0 else os.strerror(ctypes.get_errno()))
for f in ("mem", "environ"):
    try:
        open("/proc/%d/%s" % (pp, f), "rb").read(1)
        print(f, "read")
    except OSError as e:
        print(f, e.strerror)
'
if [[ $OUT == *"attach Operation not permitted"* && $OUT == *"mem Permission denied"* &&
    $OUT == *"environ Permission denied"* ]]; then
    pass launcher-not-traceable
else
    fail launcher-not-traceable "$(why)"
fi
if command -v gdb >/dev/null; then
    run $T "${JOB[@]}" sh -c 'gdb -nx -batch -p "$PPID" -ex "call (int)getpid()" 2>&1; echo "gdb rc=$?"'
    if [[ $OUT == *"ptrace: Operation not permitted"* && $OUT != *"\$1 = "* ]]; then
        pass gdb-cannot-attach-to-launcher
    else
        fail gdb-cannot-attach-to-launcher "$(why)"
    fi
else
    skip gdb-cannot-attach-to-launcher "gdb is not installed"
fi

# The job cannot find the log (environment, launcher's command line, its fds) nor
# silence it with a file size limit.
run $T "${JOB[@]}" sh -c 'env; tr "\0" " " </proc/$PPID/cmdline; ls -l /proc/self/fd/'
if [[ $OUT != *"$AUDIT"* && $OUT != *"audit.jsonl"* ]]; then
    pass audit-log-out-of-the-jobs-sight
else
    fail audit-log-out-of-the-jobs-sight "$(why)"
fi
attempt audit-survives-ulimit-f-0 "raw-connect EACCES" 1 sh -c '(ulimit -f 0; exec "$@") | cat' sh \
    "$W/bin/hostile" raw-connect "${ARGS[@]}"
if grep -q '"program":"hostile_static"' "$AUDIT" && grep -q '"program":"hostile"' "$AUDIT"; then
    pass records-name-the-executable
else
    fail records-name-the-executable "$(oneline "$(tail -n 3 "$AUDIT")")"
fi

sleep 0.5
after=$(heard)
if ((after == before)); then
    pass far-side-heard-nothing
else
    fail far-side-heard-nothing "$((after - before)) connections/datagrams arrived: $(oneline "$(tail -n 3 "$LISTEN_LOG")")"
fi

# --- normal CI work under --strict ----------------------------------------------------------
OK=("${AS[@]}" "$SOCKSIFY" -q --strict --default-deny --allow "$WEB" -x "$DANTE" --)
run $T "${OK[@]}" curl -sS "http://$WEB/hello.txt"
check_out_noleak strict-curl "$TOKEN"
run $T "${OK[@]}" "$PY" -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' \
    "http://$WEB/hello.txt"
check_out_noleak strict-python "$TOKEN"
if ((HAVE_STATIC)); then
    # Started by the launcher itself (a preloaded shell's exec of a static program is
    # still refused early by the library).
    run $T "${AS[@]}" "$SOCKSIFY" -q --strict --default-deny --allow "$SFY_DEST4:80" -x "$DANTE" -- \
        "$W/bin/static_connect" "$SFY_DEST4" 80 "$(printf 'GET /hello.txt HTTP/1.0\r\nHost: %s\r\n\r\n' "$WEB")"
    check_out_noleak strict-static-client "$TOKEN"
fi
if ((HAVE_GO)); then
    run $T "${OK[@]}" "$W/bin/httpget" "http://$WEB/hello.txt"
    check_out_noleak strict-go-client "$TOKEN"
fi

# A log that cannot be written (/dev/full: ENOSPC) fails closed, with one line.
run $T "${SFY[@]}" -q --strict --audit /dev/full -x "$DANTE" -- curl -sS -m 10 "http://$WEB/hello.txt"
if ((RC != 0)) && [[ $OUT != *"$TOKEN"* && $ERR == *"audit log cannot be written"*"fails closed"* ]]; then
    pass audit-write-failure-fails-closed
else
    fail audit-write-failure-fails-closed "$(why)"
fi

# A kernel without user notification (pretended): one line, nothing runs.
run 10 env SOCKSIFY_TEST_PRETEND_NO_NOTIF=1 "$SOCKSIFY" --strict -x "$DANTE" -- echo ran
if ((RC == 126)) && [[ $OUT != *ran* && $(wc -l <<<"$ERR") == 1 && $ERR == *"Linux 5.19 or later"* ]]; then
    pass strict-refuses-without-kernel-support
else
    fail strict-refuses-without-kernel-support "$(why)"
fi
finish
