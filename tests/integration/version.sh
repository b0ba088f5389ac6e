#!/usr/bin/env bash
# socksify --version: one line each for the version, the library (its path and whether
# it loads), the supervisor and what the kernel offers it, UDP and the upstream kinds.
# Every line is checked against an independent source: the Makefile's VERSION, the
# library the launcher really uses, the kernel's own seccomp list and release, and what
# the launcher's option parser accepts. Needs no test world.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_launcher
ensure_scratch

VERSION=$(sed -n 's/^VERSION := //p' "$SFY_ROOT/Makefile")

# line KEY: the --version line of the last run that starts with "KEY: " (without it).
line() { printf '%s\n' "$OUT" | sed -n "s/^$1: //p"; }

run 10 "$SOCKSIFY" --version
if ((RC == 0)) && [[ -z $ERR && $(printf '%s\n' "$OUT" | head -n 1) == "socksify $VERSION" ]]; then
    pass version-first-line
else
    fail version-first-line "$(why "expected 'socksify $VERSION' first")"
fi
keys=$(printf '%s\n' "$OUT" | tail -n +2 | sed 's/:.*//' | tr '\n' ' ')
if [[ $keys == "library supervisor udp upstream fake-dns " ]]; then
    pass version-one-line-each
else
    fail version-one-line-each "$(why "keys after the first line: '$keys'")"
fi

# The build tree's launcher names the build tree's library, which loads.
if [[ $(line library) == "$SFY_ROOT/build/lib/libsocksify.so (loads)" ]]; then
    pass version-library-build-tree
else
    fail version-library-build-tree "$(why "library line '$(line library)'")"
fi

# A launcher next to a truncated library says it does not load (the same check a run
# makes would refuse it); one with no library next to it names the compiled-in path.
mkdir -p "$SFY_TMP/bad/bin" "$SFY_TMP/bad/lib" "$SFY_TMP/none/bin"
cp "$SOCKSIFY" "$SFY_TMP/bad/bin/socksify"
head -c 4096 "$SFY_ROOT/build/lib/libsocksify.so" >"$SFY_TMP/bad/lib/libsocksify.so"
run 10 "$SFY_TMP/bad/bin/socksify" --version
if ((RC == 0)) && [[ $(line library) == "$SFY_TMP/bad/lib/libsocksify.so (does not load: "* ]]; then
    pass version-library-does-not-load
else
    fail version-library-does-not-load "$(why "library line '$(line library)'")"
fi
cp "$SOCKSIFY" "$SFY_TMP/none/bin/socksify"
run 10 "$SFY_TMP/none/bin/socksify" --version
lib=$(line library)
path=${lib% (*}
if ((RC == 0)) && [[ $path == /*/libsocksify.so && $path != "$SFY_TMP"* ]] &&
    { [[ ! -e $path && $lib == "$path (not found)" ]] || [[ -e $path && $lib != *"(not found)" ]]; }; then
    pass version-library-compiled-in-path
else
    fail version-library-compiled-in-path "$(why "library line '$lib'")"
fi

# The kernel part against the kernel's own word: its list of seccomp actions has
# user_notif when SECCOMP_GET_NOTIF_SIZES works, and SECCOMP_ADDFD_FLAG_SEND came in 5.14.
run 10 "$SOCKSIFY" --version
sup=$(line supervisor)
notif=no
grep -qw user_notif /proc/sys/kernel/seccomp/actions_avail 2>/dev/null && notif=yes
IFS=. read -r major minor _ <<<"$(uname -r)"
send=no
((major > 5 || (major == 5 && minor >= 14))) && send=yes
want_kernel="kernel $(uname -r): seccomp user notification $notif"
if [[ $sup =~ ^(not\ built\ yet|yes)\;\  && $sup == *"; $want_kernel"* &&
    $sup == *", SECCOMP_ADDFD_FLAG_SEND $send"* ]]; then
    pass version-supervisor-kernel
else
    fail version-supervisor-kernel "$(why "supervisor line '$sup', want '$want_kernel' and ADDFD_FLAG_SEND $send")"
fi

# UDP and each upstream kind named are what the option parser takes; another kind is not.
why_up=
[[ $(line udp) == yes* ]] || why_up="udp line '$(line udp)'"
kinds=$(line upstream)
[[ -n $kinds ]] || why_up+=" no upstream line"
kinds=${kinds% (*}  # the kinds, before the "(chains and routes)" remark
for kind in ${kinds//,/ }; do
    run 10 "$SOCKSIFY" -x "$kind://127.0.0.1:1080" --udp on --version
    ((RC == 0)) || why_up+=" $kind refused: $(oneline "$ERR")"
done
run 10 "$SOCKSIFY" -x https://127.0.0.1:1080 --version
((RC == 2)) || why_up+=" https accepted (rc=$RC)"
if [[ -z $why_up ]]; then
    pass version-udp-and-upstream-kinds
else
    fail version-udp-and-upstream-kinds "$why_up"
fi

finish
