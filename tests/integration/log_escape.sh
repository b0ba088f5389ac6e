#!/usr/bin/env bash
# Issue 11, class 8: names in the library's stderr lines are escaped as the audit log
# escapes them. A name holding every control byte (0x01-0x1f, 0x7f), an ESC colour
# sequence, an OSC title sequence and a C1 CSI (U+009B) stays on its one line, with no
# raw control byte, each byte written as \n, \r, \t or \u00XX. Two of the library's
# writers of such lines: log_line (a refusal naming an audit log path) and the exec
# guard's own line (a refused exec naming the program). No test world: nothing leaves.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_launcher
ensure_scratch
LIB=$(dirname "$(dirname "$SOCKSIFY")")/lib/libsocksify.so
[[ -f $LIB ]] || LIB=$SFY_ROOT/build/lib/libsocksify.so

# The name and the text its escaped form must show.
name=x
want=x
for b in $(seq 1 31) 127; do
    # printf -v keeps a newline, which $(...) would drop.
    printf -v ch '%b' "\\x$(printf %02x "$b")"
    name+=$ch
    case $b in
        9) want+='\t' ;;
        10) want+='\n' ;;
        13) want+='\r' ;;
        *) want+=$(printf '\\u%04x' "$b") ;;
    esac
done
name+=$'\e[31mred\e]0;title\a\xc2\x9bcsi-end'
want+='\u001b[31mred\u001b]0;title\u0007\u009bcsi-end'

# check NAME MARK TAIL: stderr has one line holding MARK; it holds the escaped name,
# ends with TAIL, and no line of stderr has a raw control byte (other than the tab
# of a shell's own message, which is not ours) or a C1 control.
check() {
    local test=$1 mark=$2 tail=$3 line
    line=$(grep -aF -- "$mark" <<<"$ERR" | head -n 1 || true)
    if [[ -z $line ]]; then
        fail "$test" "$(why "no line with '$mark'")"
    elif [[ $line != *"$want"* || $line != *"$tail" ]]; then
        fail "$test" "$(why "the line is not the escaped name on one line")"
    elif LC_ALL=C grep -aq -P '[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]' <<<"$line"; then
        fail "$test" "$(why "raw control bytes in the line")"
    else
        pass "$test"
    fi
}

# log_line: the audit log cannot be opened, so every connect is refused with a line
# naming its path.
# A relative path: the line quotes at most 120 bytes of it.
run 20 env -C "$SFY_TMP" LD_PRELOAD="$LIB" SOCKSIFY_PROXY=socks5h://127.0.0.1:1 SOCKSIFY_DIRECT= \
    SOCKSIFY_AUDIT="no-such-dir/$name" bash -c 'exec 3<>/dev/tcp/127.0.0.1/9' || true
check log-line-escapes-name "cannot open audit log" "No such file or directory"

# The exec guard: a setuid program refused under --strict, named with the same bytes.
mkdir -p "$SFY_TMP/bin"
cp /bin/true "$SFY_TMP/bin/$name"
chmod 4755 "$SFY_TMP/bin/$name"
run 20 "$SOCKSIFY" --strict -x socks5h://127.0.0.1:1 -- \
    "$PY" -c 'import os, sys
try:
    os.execv(sys.argv[1], sys.argv[1:])
except OSError as e:
    print("exec refused:", e.errno)' "$SFY_TMP/bin/$name"
check exec-refusal-escapes-name "refusing to run" "(--strict)"
finish
