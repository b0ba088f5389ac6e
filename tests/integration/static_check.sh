#!/usr/bin/env bash
# The program check fails closed, wherever a program starts. Every program the
# preload cannot act in — statically linked, unreadable (so not checkable), linked to a
# dynamic loader other than the system's (here a static helper of its own), of another
# ELF class (32-bit) or machine — started every way a program can start one — by the
# launcher, from a shell (execve), posix_spawn/posix_spawnp with a chdir or fchdir file
# action (looked for in the child's directory, not the parent's), syscall(SYS_execve),
# syscall(SYS_execveat), execveat, fexecve — is refused under --strict (EACCES, one log
# line, one audit record; the launcher: exit 2) and runs with one warning line
# without it. Everything runs as nobody, so that an unreadable file is unreadable to
# the check. Needs no test world: nothing here reaches the network.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_launcher
PROBE_BIN=$SFY_ROOT/build/tests/exec_probe
if [[ ! -x $PROBE_BIN ]]; then
    fail all "$PROBE_BIN not built (make build/tests/exec_probe)"
    # File actions the check cannot follow (here an fchdir to a descriptor an earlier
# action closed) leave the program unchecked, dynamic or not: refused under --strict.
strict_refused spawn-unfollowable-actions-refused tool_static "spawn-badfchdir EACCES" \
    "${STRICT[@]}" "$P" spawn-badfchdir "$T/decoy" tool_static
if [[ $ERR == *"file actions socksify cannot follow"* ]]; then
    pass spawn-unfollowable-actions-say-why
else
    fail spawn-unfollowable-actions-say-why "$(why)"
fi
as_user "${PLAIN[@]}" "$P" spawn-badfchdir "$T/decoy" tool_static
if [[ $OUT == "spawn-badfchdir errno 9" && $ERR == *"warning: running"*"cannot follow"* ]]; then
    pass spawn-unfollowable-actions-warned
else
    fail spawn-unfollowable-actions-warned "$(why "want EBADF from the spawn and one warning")"
fi

finish
fi
if ! gcc -static -o /dev/null -x c - <<<'int main(void) { return 0; }' 2>/dev/null; then
    skip all "no static libc to build the test programs"
    # File actions the check cannot follow (here an fchdir to a descriptor an earlier
# action closed) leave the program unchecked, dynamic or not: refused under --strict.
strict_refused spawn-unfollowable-actions-refused tool_static "spawn-badfchdir EACCES" \
    "${STRICT[@]}" "$P" spawn-badfchdir "$T/decoy" tool_static
if [[ $ERR == *"file actions socksify cannot follow"* ]]; then
    pass spawn-unfollowable-actions-say-why
else
    fail spawn-unfollowable-actions-say-why "$(why)"
fi
as_user "${PLAIN[@]}" "$P" spawn-badfchdir "$T/decoy" tool_static
if [[ $OUT == "spawn-badfchdir errno 9" && $ERR == *"warning: running"*"cannot follow"* ]]; then
    pass spawn-unfollowable-actions-warned
else
    fail spawn-unfollowable-actions-warned "$(why "want EBADF from the spawn and one warning")"
fi

finish
fi

# A scratch tree every user can read: the launcher, its library and the probe copied
# in, the programs, an audit log nobody may write.
T=$(mktemp -d /tmp/socksify-static-check.XXXXXX)
trap 'rm -rf "$T"' EXIT
chmod 755 "$T"
mkdir -p "$T/tree/bin" "$T/tree/lib" "$T/progs" "$T/decoy" "$T/audit"
cp "$SOCKSIFY" "$T/tree/bin/socksify"
cp "$SFY_ROOT/build/lib/libsocksify.so" "$T/tree/lib/libsocksify.so"
cp "$PROBE_BIN" "$T/tree/bin/exec_probe"
L=$T/tree/bin/socksify
P=$T/tree/bin/exec_probe
AUDIT=$T/audit/log
URL=socks5h://127.0.0.1:1 # never reached
if ((EUID == 0)); then
    AS=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
    SECRET_MODE=0711 # unreadable by nobody, executable
    chown 65534:65534 "$T/audit"
else
    AS=()
    SECRET_MODE=0111 # unreadable by its owner, executable
fi

# The programs. Each prints "<name> ran" when it runs.
printf '#include <stdio.h>\nint main(void) { puts("%s ran"); return 0; }\n' tool_static >"$T/static.c"
gcc -static -o "$T/progs/tool_static" "$T/static.c"
printf '#include <stdio.h>\nint main(void) { puts("%s ran"); return 0; }\n' tool_secret >"$T/secret.c"
gcc -static -o "$T/progs/tool_secret" "$T/secret.c"
chmod "$SECRET_MODE" "$T/progs/tool_secret"
PROGRAMS=(tool_static tool_secret)
# A "dynamic loader" that is a program of its own (no libc: two system calls), and a
# dynamic program that names it in PT_INTERP: the kernel runs the helper, not ld.so.
case $(uname -m) in
x86_64)
    cat >"$T/helper.c" <<'EOF'
static long sys3(long n, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}
void _start(void) {
    static const char msg[] = "tool_loader ran\n";
    sys3(1, 1, (long)msg, sizeof msg - 1);
    sys3(60, 0, 0, 0);
    for (;;) {}
}
EOF
    gcc -static -nostdlib -fno-stack-protector -O2 -o "$T/progs/helper" "$T/helper.c"
    printf 'int main(void) { return 3; }\n' >"$T/dyn.c"
    gcc -o "$T/progs/tool_loader" "$T/dyn.c" -Wl,--dynamic-linker="$T/progs/helper"
    PROGRAMS+=(tool_loader)
    ;;
*) skip foreign-loader "the helper loader is written for x86_64" ;;
esac
# ELF files of another class or machine, written out byte by byte (no cross toolchain
# needed): make_elf OUT CLASS MACHINE [INTERP]. A 32-bit i386 one without INTERP is a
# whole program: write(1, "tool_32 ran\n"), exit(0); the others are a header and
# program headers naming INTERP, which is all the check (and a kernel without that
# machine) looks at.
make_elf() {
    "$PY" - "$@" <<'EOF'
import struct, sys
out, cls, machine = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
interp = sys.argv[4].encode() + b"\0" if len(sys.argv) > 4 else b""
w = "I" if cls == 32 else "Q"
ehsize, phsize = (52, 32) if cls == 32 else (64, 56)
base = 0x08048000 if cls == 32 else 0x400000
nph = 2 if interp else 1
body_at = ehsize + nph * phsize
body = interp
entry = base + body_at
if cls == 32 and machine == 3 and not interp:
    msg = b"tool_32 ran\n"
    code_len = 5 + 5 + 5 + 5 + 2 + 5 + 2 + 2
    body = (b"\xb8\x04\x00\x00\x00" + b"\xbb\x01\x00\x00\x00"
            + b"\xb9" + struct.pack("<I", entry + code_len) + b"\xba" + struct.pack("<I", len(msg))
            + b"\xcd\x80" + b"\xb8\x01\x00\x00\x00" + b"\x31\xdb" + b"\xcd\x80" + msg)
size = body_at + len(body)
ident = b"\x7fELF" + bytes([1 if cls == 32 else 2, 1, 1]) + b"\x00" * 9
ehdr = ident + struct.pack("<HHI" + w * 3 + "IHHHHHH", 2, machine, 1, entry, ehsize, 0, 0,
                           ehsize, phsize, nph, 0, 0, 0)
def phdr(kind, off, filesz, flags):
    align = 0x1000 if kind == 1 else 1
    if cls == 32:
        return struct.pack("<8I", kind, off, base + off, base + off, filesz, filesz, flags, align)
    return struct.pack("<IIQQQQQQ", kind, flags, off, base + off, base + off, filesz, filesz, align)
phdrs = phdr(3, body_at, len(interp), 4) if interp else b""  # PT_INTERP
phdrs += phdr(1, 0, size, 5)  # PT_LOAD: the whole file
open(out, "wb").write(ehdr + phdrs + body)
EOF
    chmod 755 "$1"
}
case $(uname -m) in
x86_64)
    make_elf "$T/progs/tool_32" 32 3 # i386, whole: runs where the kernel has ia32 support
    make_elf "$T/progs/tool_32dyn" 32 3 /lib/ld-linux.so.2
    make_elf "$T/progs/tool_machine" 64 183 /lib/ld-linux-aarch64.so.1
    PROGRAMS+=(tool_32 tool_32dyn tool_machine)
    ;;
aarch64)
    make_elf "$T/progs/tool_32dyn" 32 40 /lib/ld-linux-armhf.so.3
    make_elf "$T/progs/tool_machine" 64 62 /lib64/ld-linux-x86-64.so.2
    PROGRAMS+=(tool_32dyn tool_machine)
    ;;
*) skip foreign-class "no ELF files of another class or machine written for $(uname -m)" ;;
esac
# The parent's directory holds dynamic programs of the same names: checking there
# instead of where the child will be would pass them.
for p in "${PROGRAMS[@]}"; do cp /bin/true "$T/decoy/$p"; done
chmod -R a+rX "$T/progs" "$T/decoy"
chmod "$SECRET_MODE" "$T/progs/tool_secret"

# Runs a command as the test user from the decoy directory.
as_user() { run 20 "${AS[@]}" env -C "$T/decoy" "$@"; }

audit_count() {
    local n
    n=$(grep -c "\"program\":\"$1\",\"kind\":\"refusal\".*\"reason\":\"not-preloadable\"" "$AUDIT" 2>/dev/null) || true
    echo "${n:-0}"
}

# strict_refused NAME PROGRAM WANT-IN-OUT COMMAND...: WANT in stdout, one "refusing to
# run" line naming the program, the program not run. No audit record: under --strict
# the log is the supervisor's, and the library in the job has no path to it.
strict_refused() {
    local name=$1 prog=$2 want=$3 before lines
    shift 3
    before=$(audit_count "$prog")
    as_user "$@"
    lines=$(grep -c "refusing to run '[^']*$prog'" <<<"$ERR" || true)
    if [[ $OUT == *"$want"* && $OUT != *"$prog ran"* && $lines == 1 &&
        $(audit_count "$prog") == "$before" ]]; then
        pass "$name"
    else
        fail "$name" "$(why "want '$want', one log line ($lines), no audit record ($before -> $(audit_count "$prog"))")"
    fi
}

# warned NAME PROGRAM WANT-IN-OUT COMMAND...: WANT in stdout and one warning line
# naming the program.
warned() {
    local name=$1 prog=$2 want=$3 lines
    shift 3
    as_user "$@"
    lines=$(grep -c "warning: running '[^']*$prog'" <<<"$ERR" || true)
    if [[ $OUT == *"$want"* && $lines == 1 ]]; then
        pass "$name"
    else
        fail "$name" "$(why "want '$want' and one warning line ($lines)")"
    fi
}

# What each program does when it runs, without strict mode: the program's own line,
# or (another machine) the exec's failure.
ran() {
    case $1 in
    tool_machine | tool_32dyn) echo "" ;;
    tool_32) if "$T/progs/tool_32" >/dev/null 2>&1; then echo "tool_32 ran"; else echo ""; fi ;;
    *) echo "$1 ran" ;;
    esac
}

STRICT=("$L" --strict --audit "$AUDIT" -x "$URL" --)
# Without --strict the launcher would supervise static and 32-bit programs (issue 13):
# this script checks the preload's own verdicts, so the supervisor stays off.
PLAIN=("$L" --supervise off -x "$URL" --)
MODES=(spawn-chdir spawnp-chdir spawn-fchdir syscall-execve syscall-execveat execveat fexecve)
# What --strict runs under the supervisor (the whole tree is under its filter from the
# first exec): a static program and one with another dynamic loader. The rest (setuid,
# capabilities, another class or machine) stays refused everywhere.
supervisable() { [[ $1 == tool_static || $1 == tool_loader ]]; }
# strict_runs NAME PROG WANT CMD...: under --strict PROG runs (supervised), WANT in its
# output, nothing refused.
strict_runs() {
    local name=$1 prog=$2 want=$3
    shift 3
    as_user "$@"
    if [[ $OUT == *"$prog ran"* && $OUT == *"$want"* && $ERR != *"refusing to run"* ]]; then
        pass "$name"
    else
        fail "$name" "$(why "want '$prog ran' and '$want', nothing refused")"
    fi
}
for prog in "${PROGRAMS[@]}"; do
    path=$T/progs/$prog
    # The launcher itself, and a script the program interprets.
    before=$(audit_count "$prog")
    as_user "${STRICT[@]}" "$path"
    if supervisable "$prog"; then
        # --strict runs it under the supervisor: the kernel covers its calls.
        if ((RC == 0)) && [[ $OUT == *"$prog ran"* ]]; then
            pass "launcher-supervises-$prog"
        else
            fail "launcher-supervises-$prog" "$(why "expected it to run supervised")"
        fi
    elif ((RC == 2)) && [[ $ERR == *"program '$path' is "* && $OUT != *"$prog ran"* &&
        $(audit_count "$prog") == $((before + 1)) ]]; then
        pass "launcher-refuses-$prog"
    else
        fail "launcher-refuses-$prog" "$(why "expected exit 2, the reason, one audit record")"
    fi
    as_user "${PLAIN[@]}" "$path"
    if [[ $ERR == *"socksify: warning: program '$path' is "* && $OUT == *"$(ran "$prog")"* ]]; then
        pass "launcher-warns-$prog"
    else
        fail "launcher-warns-$prog" "$(why "expected a warning")"
    fi
    printf '#!%s\n' "$path" >"$T/progs/script_$prog"
    chmod 755 "$T/progs/script_$prog"
    as_user "${STRICT[@]}" "$T/progs/script_$prog"
    if supervisable "$prog" && ((RC == 0)) && [[ $OUT == *"$prog ran"* ]]; then
        pass "launcher-supervises-script-run-by-$prog"
    elif ((RC == 2)) && [[ $ERR == *"is run by "*"interpreter"* ]]; then
        pass "launcher-refuses-script-run-by-$prog"
    else
        fail "launcher-refuses-script-run-by-$prog" "$(why "expected exit 2 naming the interpreter")"
    fi
    # A shell's execve.
    if supervisable "$prog"; then
        strict_runs "sh-exec-supervises-$prog" "$prog" "rc=0" \
            "${STRICT[@]}" sh -c '"$1"; echo "rc=$?"' sh "$path"
    else
        strict_refused "sh-exec-refuses-$prog" "$prog" "rc=126" \
            "${STRICT[@]}" sh -c '"$1"; echo "rc=$?"' sh "$path"
    fi
    warned "sh-exec-warns-$prog" "$prog" "$(ran "$prog")" "${PLAIN[@]}" sh -c '"$1"' sh "$path"
    # The probe's ways, from the decoy directory.
    for mode in "${MODES[@]}"; do
        if supervisable "$prog"; then
            strict_runs "$mode-supervises-$prog" "$prog" "$mode exit 0" "${STRICT[@]}" "$P" "$mode" "$T/progs" "$prog"
        else
            strict_refused "$mode-refuses-$prog" "$prog" "$mode EACCES" "${STRICT[@]}" "$P" "$mode" "$T/progs" "$prog"
        fi
        if [[ $prog == tool_machine || $prog == tool_32dyn ]]; then
            warned "$mode-warns-$prog" "$prog" "$mode " "${PLAIN[@]}" "$P" "$mode" "$T/progs" "$prog"
        else
            warned "$mode-warns-$prog" "$prog" "$(ran "$prog")" "${PLAIN[@]}" "$P" "$mode" "$T/progs" "$prog"
        fi
    done
done

# What the preload acts in still runs, every way, with nothing said: the decoys are
# dynamic programs.
for mode in "${MODES[@]}"; do
    as_user "${STRICT[@]}" "$P" "$mode" "$T/decoy" tool_static
    if [[ $OUT == "$mode exit 0" && -z $ERR ]]; then
        pass "$mode-runs-a-dynamic-program"
    else
        fail "$mode-runs-a-dynamic-program" "$(why "want '$mode exit 0' and no stderr")"
    fi
done

# File actions the check cannot follow (here an fchdir to a descriptor an earlier
# action closed) leave the program unchecked, dynamic or not: refused under --strict.
strict_refused spawn-unfollowable-actions-refused tool_static "spawn-badfchdir EACCES" \
    "${STRICT[@]}" "$P" spawn-badfchdir "$T/decoy" tool_static
if [[ $ERR == *"file actions socksify cannot follow"* ]]; then
    pass spawn-unfollowable-actions-say-why
else
    fail spawn-unfollowable-actions-say-why "$(why)"
fi
as_user "${PLAIN[@]}" "$P" spawn-badfchdir "$T/decoy" tool_static
if [[ $OUT == "spawn-badfchdir errno 9" && $ERR == *"warning: running"*"cannot follow"* ]]; then
    pass spawn-unfollowable-actions-warned
else
    fail spawn-unfollowable-actions-warned "$(why "want EBADF from the spawn and one warning")"
fi

finish
