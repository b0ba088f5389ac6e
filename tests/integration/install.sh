#!/usr/bin/env bash
# make install: the installed launcher runs programs with the installed library,
# found by the absolute path compiled in for PREFIX; DESTDIR stages the same tree.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ensure_scratch
prefix=$SFY_TMP/prefix
stage=$SFY_TMP/stage

run 300 make -s -C "$SFY_ROOT" install PREFIX="$prefix"
if ((RC == 0)) && [[ -x $prefix/bin/socksify && -f $prefix/lib/socksify/libsocksify.so &&
    -f $prefix/share/man/man1/socksify.1 ]]; then
    pass install-prefix-files
else
    fail install-prefix-files "$(why "missing files")"
fi

run 10 "$prefix/bin/socksify" -x socks5://127.0.0.1:1 -- env
check_out installed-launcher-uses-installed-library \
    "LD_PRELOAD=$prefix/lib/socksify/libsocksify.so"

run 300 make -s -C "$SFY_ROOT" install PREFIX=/opt/socksify-test DESTDIR="$stage"
if ((RC == 0)) && [[ -x $stage/opt/socksify-test/bin/socksify &&
    -f $stage/opt/socksify-test/lib/socksify/libsocksify.so ]]; then
    pass install-destdir-stages
else
    fail install-destdir-stages "$(why "missing staged files")"
fi
# A staged launcher looks where it will be installed, not where it was staged.
run 10 "$stage/opt/socksify-test/bin/socksify" -x socks5://127.0.0.1:1 -- true
if ((RC == 2)) && [[ $ERR == *"/opt/socksify-test/lib/socksify/libsocksify.so"* ]]; then
    pass staged-launcher-names-its-install-path
else
    fail staged-launcher-names-its-install-path "$(why)"
fi

# The installed man page renders and documents every option --help lists.
if command -v man >/dev/null; then
    run 30 env MANWIDTH=200 man -l "$prefix/share/man/man1/socksify.1"
    missing=
    for opt in $("$prefix/bin/socksify" --help | grep -oE -- '--[a-z0-9-]+' | sort -u); do
        [[ $OUT == *"$opt"* ]] || missing+=" $opt"
    done
    if ((RC == 0)) && [[ -z $missing ]]; then
        pass man-page-lists-every-option
    else
        fail man-page-lists-every-option "$(why "man page lacks:$missing")"
    fi
else
    skip man-page-lists-every-option "man not installed"
fi

run 300 make -s -C "$SFY_ROOT" uninstall PREFIX="$prefix"
if ((RC == 0)) && [[ ! -e $prefix/bin/socksify && ! -e $prefix/share/man/man1/socksify.1 ]]; then
    pass uninstall-removes-files
else
    fail uninstall-removes-files "$(why)"
fi

# Leave the build tree's own launcher as make all builds it.
run 300 make -s -C "$SFY_ROOT" all
finish
