#!/usr/bin/env bash
# --strict: the launcher refuses what the preload cannot cover (static, setuid,
# capability programs; direct networks; local DNS) and the library refuses sockets
# that could reach the network around the proxy. Needs no test world: every refusal
# happens before any packet could leave.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_launcher
ensure_scratch

URL=socks5h://127.0.0.1:1   # never reached: every case is refused before
STRICT=("$SOCKSIFY" --strict -x "$URL" --)

# refused NAME EXPECTED-IN-STDERR COMMAND...: exit 2 and one line naming the reason.
refused() {
    local name=$1 want=$2
    shift 2
    run 10 "$@"
    if ((RC == 2)) && [[ $ERR == *"$want"* ]] && (($(wc -l <<<"$ERR") == 1)); then
        pass "$name"
    else
        fail "$name" "$(why "expected exit 2 and '$want'")"
    fi
}

printf 'int main(void) { return 0; }\n' >"$SFY_TMP/t.c"
if gcc -static -o "$SFY_TMP/static_true" "$SFY_TMP/t.c" 2>/dev/null; then
    # Under --strict every program runs under the supervisor from the first exec: a
    # static one is covered by the kernel, not refused.
    run 10 "${STRICT[@]}" "$SFY_TMP/static_true"
    if ((RC == 0)) && [[ -z $ERR ]]; then pass static-program-supervised; else fail static-program-supervised "$(why)"; fi
    refused strict-needs-supervisor "--strict needs the supervisor" "$SOCKSIFY" --strict --supervise off \
        -x "$URL" -- "$SFY_TMP/static_true"
    # (By default it runs under the supervisor: supervisor.sh. Unsupervised: warned.)
    run 10 "$SOCKSIFY" --supervise off -x "$URL" -- "$SFY_TMP/static_true"
    if ((RC == 0)) && [[ $ERR == *"warning"*"statically linked"* ]]; then
        pass static-program-warned-without-strict
    else
        fail static-program-warned-without-strict "$(why)"
    fi
else
    skip static-program-supervised "no static libc to build a test program"
    skip static-program-warned-without-strict "no static libc"
fi

cp /bin/true "$SFY_TMP/setuid_true"
chmod 4755 "$SFY_TMP/setuid_true"
refused setuid-program-refused "is setuid: the preloaded library cannot act in it" "${STRICT[@]}" "$SFY_TMP/setuid_true"
cp /bin/true "$SFY_TMP/cap_true"
if command -v setcap >/dev/null && setcap cap_net_raw+ep "$SFY_TMP/cap_true" 2>/dev/null; then
    refused capability-program-refused "file capabilities" "${STRICT[@]}" "$SFY_TMP/cap_true"
else
    skip capability-program-refused "setcap unavailable or not permitted here"
fi
printf '#!%s\nexit 0\n' "$SFY_TMP/setuid_true" >"$SFY_TMP/script"
chmod 755 "$SFY_TMP/script"
refused script-judged-by-its-interpreter "is run by a setuid interpreter: the preloaded library cannot act in it" "${STRICT[@]}" "$SFY_TMP/script"

refused direct-network-refused "a direct network other than loopback" "$SOCKSIFY" --strict --direct 203.0.113.0/24 \
    -x "$URL" -- true
refused direct-suffix-refused "a direct domain suffix" "$SOCKSIFY" --strict --direct .corp.internal \
    -x "$URL" -- true
refused local-dns-scheme-refused "local DNS would leave unproxied" "$SOCKSIFY" --strict \
    -x socks5://127.0.0.1:1 -- true
refused local-dns-option-refused "local DNS would leave unproxied" "$SOCKSIFY" --strict --dns local \
    -x "$URL" -- true
run 10 "${STRICT[@]}" true
if ((RC == 0)) && [[ -z $ERR ]]; then pass loopback-only-strict-runs; else fail loopback-only-strict-runs "$(why)"; fi

# Sockets: refused ones fail with EACCES and one log line each; carried ones work.
run 10 "${STRICT[@]}" "$PY" -c '
import errno, socket
cases = [("raw-icmp", socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
         ("raw-icmp6", socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6),
         ("packet", socket.AF_PACKET, socket.SOCK_RAW, 0),
         ("ping", socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP),
         ("sctp", socket.AF_INET, socket.SOCK_STREAM, 132),
         ("tcp", socket.AF_INET, socket.SOCK_STREAM, 0),
         ("udp6", socket.AF_INET6, socket.SOCK_DGRAM, 0),
         ("unix", socket.AF_UNIX, socket.SOCK_STREAM, 0)]
for name, *args in cases:
    try:
        socket.socket(*args).close()
        print(name, "ok")
    except OSError as e:
        print(name, errno.errorcode[e.errno])
'
for c in "raw-icmp EACCES" "raw-icmp6 EACCES" "packet EACCES" "ping EACCES" "sctp EACCES" \
    "tcp ok" "udp6 ok" "unix ok"; do
    if grep -qx "$c" <<<"$OUT"; then pass "socket-${c% *}-${c#* }"; else fail "socket-${c% *}-${c#* }" "$(why "want '$c'")"; fi
done
# Each refusal is the shim's own (the kernel may refuse a ping socket too): one line
# naming its domain, type and protocol.
want_lines="refusing socket(domain 2, type 3, protocol 1)
refusing socket(domain 10, type 3, protocol 58)
refusing socket(domain 17, type 3, protocol 0)
refusing socket(domain 2, type 2, protocol 1)
refusing socket(domain 2, type 1, protocol 132)"
got_lines=$(grep -o "refusing socket([^)]*)" <<<"$ERR" || true)
if [[ $got_lines == "$want_lines" ]]; then
    pass one-log-line-per-refused-socket
else
    fail one-log-line-per-refused-socket "$(why "want: $(oneline "$want_lines")")"
fi

# The same refusal when the socket is asked for through syscall(2).
run 10 "${STRICT[@]}" "$PY" -c '
import ctypes, os, socket
nr = {"x86_64": 41, "aarch64": 198}[os.uname().machine]
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.syscall(nr, socket.AF_PACKET, socket.SOCK_RAW, 0)
print(fd, os.strerror(ctypes.get_errno()) if fd < 0 else "")
'
check_out packet-socket-by-syscall-refused "-1 Permission denied"

# UDP off under strict: EACCES, nothing sent.
run 10 "$SOCKSIFY" --strict --udp off -x "$URL" -- "$PY" -c '
import errno, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(b"x", ("203.0.113.10", 7)); print("sent")
except OSError as e:
    print(errno.errorcode[e.errno])
'
check_out udp-off-refused-in-strict EACCES
# --- What the program runs in turn -------------------------------------------------
# Under --strict the whole tree is under the supervisor's filter from the first exec
# (strict_kernel.sh), so a static program runs, supervised, from every exec entry point
# (its connects are the supervisor's: strict_kernel.sh, supervise_tree.sh); every other
# exec keeps the preload and socksify's variables even when the caller cleared or
# changed them.
EXEC_AUDIT=$SFY_TMP/exec-audit.log
if [[ -x $SFY_TMP/static_true ]]; then
    run 10 "$SOCKSIFY" --strict --audit "$EXEC_AUDIT" -x "$URL" -- sh -c '"$1"; echo "rc=$?"' sh "$SFY_TMP/static_true"
    if [[ $OUT == "rc=0" && $ERR != *"refusing to run"* ]]; then
        pass exec-of-static-program-supervised
    else
        fail exec-of-static-program-supervised "$(why "expected sh to run it (rc=0), supervised")"
    fi
    # The library's early refusal leaves no record: under --strict the log is the
    # supervisor's and its path is not in the job's environment.
    if [[ $(grep -c '"program":"static_true","kind":"refusal".*"reason":"not-preloadable"' "$EXEC_AUDIT") == 0 ]]; then
        pass exec-refusal-not-in-jobs-reach
    else
        fail exec-refusal-not-in-jobs-reach "$(oneline "$(cat "$EXEC_AUDIT" 2>/dev/null)")"
    fi
    # Each way a program can start another: execve, execvp with a cleared environment,
    # posix_spawn, posix_spawnp, system(), os.execl in a child.
    run 20 "${STRICT[@]}" "$PY" -c '
import os, subprocess, sys
static = sys.argv[1]
def attempt(name, fn):
    try:
        r = fn()
        print(name, "ran", r)
    except PermissionError:
        print(name, "EACCES")
attempt("subprocess", lambda: subprocess.run([static], env={}).returncode)
attempt("subprocess-path", lambda: subprocess.run(["static_true"], env={"PATH": os.path.dirname(static)}).returncode)
attempt("posix_spawn", lambda: os.waitpid(os.posix_spawn(static, [static], {}), 0)[1])
os.environ["PATH"] = os.path.dirname(static) + ":" + os.environ["PATH"]  # posix_spawnp searches ours
attempt("posix_spawnp", lambda: os.waitpid(os.posix_spawnp("static_true", ["x"], {}), 0)[1])
print("system", os.waitstatus_to_exitcode(os.system(static)))
pid = os.fork()
if pid == 0:
    try:
        os.execl(static, static)
    except PermissionError:
        os._exit(13)
    os._exit(0)
print("execl", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
' "$SFY_TMP/static_true"
    for c in "subprocess ran 0" "subprocess-path ran 0" "posix_spawn ran 0" "posix_spawnp ran 0" "system 0" "execl 0"; do
        if grep -qx "$c" <<<"$OUT"; then pass "exec-supervised-${c%% *}"; else fail "exec-supervised-${c%% *}" "$(why "want '$c'")"; fi
    done
    run 10 "$SOCKSIFY" -q -x "$URL" -- sh -c '"$1"; echo "rc=$?"' sh "$SFY_TMP/static_true"
    check_out exec-of-static-program-allowed-without-strict "rc=0"
    # execvp skips a directory of the same name earlier in PATH, and so must the check.
    mkdir -p "$SFY_TMP/p1/static_true" "$SFY_TMP/p2"
    cp "$SFY_TMP/static_true" "$SFY_TMP/p2/static_true"
    # (env(1) runs its program with execvp, the search the hook must repeat.)
    run 10 "${STRICT[@]}" /usr/bin/env "PATH=$SFY_TMP/p1:$SFY_TMP/p2" static_true
    if ((RC == 0)) && [[ $ERR != *"refusing to run"* ]]; then
        pass exec-path-search-skips-a-directory
    else
        fail exec-path-search-skips-a-directory "$(why "expected env to find and run p2/static_true")"
    fi
else
    skip exec-of-static-program-supervised "no static libc to build a test program"
fi
# A FIFO is not inspected (open would block): exec refuses it at once, strict or not.
mkfifo -m 755 "$SFY_TMP/fifo"
run 10 "$SOCKSIFY" -x "$URL" -- "$SFY_TMP/fifo"
if ((RC == 126)); then pass launcher-fifo-does-not-hang; else fail launcher-fifo-does-not-hang "$(why "expected exit 126")"; fi
run 10 "${STRICT[@]}" sh -c '"$1"; echo "rc=$?"' sh "$SFY_TMP/fifo"
check_out exec-of-fifo-does-not-hang "rc=126"
# execl with more arguments than any fixed array: sized by the count, as in glibc.
# sh counts what arrived: 5000 arguments, the last one "last".
printf '%s\n' '#include <unistd.h>' \
    'int main(void) { execl("/bin/sh", "sh", "-c", "[ $# -eq 5000 ] && [ \"${5000}\" = last ]", "sh",' \
    "$(printf '"x",%.0s' $(seq 4999))" '"last", (char*)0); return 3; }' >"$SFY_TMP/many.c"
if gcc -o "$SFY_TMP/many" "$SFY_TMP/many.c" 2>/dev/null; then
    run 10 "$SOCKSIFY" -x "$URL" -- "$SFY_TMP/many"
    if ((RC == 0)); then pass execl-5000-arguments; else fail execl-5000-arguments "$(why)"; fi
    run 10 "${STRICT[@]}" "$SFY_TMP/many"
    if ((RC == 0)); then pass execl-5000-arguments-strict; else fail execl-5000-arguments-strict "$(why)"; fi
else
    skip execl-5000-arguments "gcc failed"
fi
# Strict mode that cannot carry its variables into children refuses every exec.
run 10 env $(for i in $(seq 70); do printf 'SOCKSIFY_PAD%d=1 ' "$i"; done) "${STRICT[@]}" sh -c '/bin/true; echo "rc=$?"'
if [[ $OUT == "rc=126" && $ERR == *"strict mode could not be carried into it"* ]]; then
    pass exec-refused-when-strict-cannot-be-carried
else
    fail exec-refused-when-strict-cannot-be-carried "$(why)"
fi
run 10 "${STRICT[@]}" sh -c '"$1"; echo "rc=$?"' sh "$SFY_TMP/setuid_true"
check_out exec-of-setuid-program-refused "rc=126"

run 10 "${STRICT[@]}" env -i /usr/bin/env
if grep -qx "LD_PRELOAD=$SFY_ROOT/build/lib/libsocksify.so" <<<"$OUT" && grep -qx "SOCKSIFY_STRICT=1" <<<"$OUT" &&
    grep -qx "SOCKSIFY_PROXY=$URL" <<<"$OUT"; then
    pass cleared-environment-gets-preload-back
else
    fail cleared-environment-gets-preload-back "$(why)"
fi
run 10 "${STRICT[@]}" env SOCKSIFY_STRICT=0 SOCKSIFY_PROXY=socks5://192.0.2.1:9 LD_PRELOAD=/lib/none.so /usr/bin/env
if grep -qx "SOCKSIFY_STRICT=1" <<<"$OUT" && grep -qx "SOCKSIFY_PROXY=$URL" <<<"$OUT" &&
    grep -qx "LD_PRELOAD=$SFY_ROOT/build/lib/libsocksify.so:/lib/none.so" <<<"$OUT"; then
    pass changed-environment-cannot-leave-strict-mode
else
    fail changed-environment-cannot-leave-strict-mode "$(why)"
fi
run 10 "$SOCKSIFY" -x "$URL" -- env -i /usr/bin/env
if ((RC == 0)) && [[ -z $OUT ]]; then
    pass cleared-environment-left-alone-without-strict
else
    fail cleared-environment-left-alone-without-strict "$(why "expected an empty environment")"
fi

# A library the loader would skip (truncated) must stop the launcher, not let the
# program run unproxied. The launcher takes ../lib/libsocksify.so beside its bin/.
mkdir -p "$SFY_TMP/tree/bin" "$SFY_TMP/tree/lib"
cp "$SOCKSIFY" "$SFY_TMP/tree/bin/socksify"
for n in 100 5000 50000; do
    head -c "$n" "$SFY_ROOT/build/lib/libsocksify.so" >"$SFY_TMP/tree/lib/libsocksify.so"
    refused "truncated-library-$n-refused" "not a whole shared object" \
        "$SFY_TMP/tree/bin/socksify" -x "$URL" -- true
done

finish
