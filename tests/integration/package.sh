#!/usr/bin/env bash
# The Debian package (debian/, make deb): built from a fresh git clone of this tree's
# HEAD (so commit first) in a scratch directory under build/, it leaves the clone
# clean; lintian finds no error or warning; dpkg -i puts every file where dpkg -L says;
# the installed /usr/bin/socksify runs curl by name through the test world's Dante
# with the installed library (curl's own /proc/self/maps shows it); the installed
# example config and completion work; dpkg -r removes every file again. Root only: it
# installs the package on this machine, and removes it at exit whatever happened.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ((EUID != 0)); then
    skip all "not root (the test installs the package with dpkg -i)"
    finish
fi
for tool in dpkg-buildpackage dh lintian git; do
    if ! command -v "$tool" >/dev/null; then
        skip all "$tool not installed (scripts/install-deps.sh installs it)"
        finish
    fi
done
if [[ ! -e $SFY_ROOT/.git ]]; then
    skip all "$SFY_ROOT is not a git repository (the test builds from a clone)"
    finish
fi
# The package must not replace a socksify this machine already has (Dante's
# dante-client ships /usr/bin/socksify too; the package conflicts with it).
if owner=$(dpkg-query -S /usr/bin/socksify 2>/dev/null); then
    skip all "/usr/bin/socksify already belongs to ${owner%%:*}"
    finish
elif [[ -e /usr/bin/socksify ]]; then
    skip all "/usr/bin/socksify exists and belongs to no package"
    finish
fi
if [[ $(dpkg-query -W -f='${db:Status-Status}' socksify 2>/dev/null || true) != @(|not-installed) ]]; then
    skip all "a socksify package is already installed here"
    finish
fi

ensure_scratch
VERSION=$(sed -n 's/^VERSION := //p' "$SFY_ROOT/Makefile")
ARCH=$(dpkg-architecture -qDEB_HOST_ARCH)
TRIPLET=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
LIBPATH=/usr/lib/$TRIPLET/socksify/libsocksify.so
installed=0

# dpkg ACTION...: dpkg, waiting a bounded while for another dpkg or apt to finish.
dpkg_bounded() {
    local i
    for ((i = 0; i < 60; i++)); do
        run 120 dpkg "$@"
        [[ $RC != 2 || $ERR != *"lock"* ]] && return 0
        sleep 2
    done
}

# At exit, whatever failed: the package leaves this machine (waiting a bounded while
# for a dpkg lock), the scratch goes.
# shellcheck disable=SC2317  # called by the trap
cleanup() {
    local i
    for ((i = 0; installed && i < 60; i++)); do
        [[ $(dpkg-query -W -f='${db:Status-Status}' socksify 2>/dev/null || true) == @(|not-installed) ]] &&
            break
        dpkg -r socksify >/dev/null 2>&1 && break
        sleep 2
    done
    rm -rf "$SFY_TMP"
}
trap cleanup EXIT

# --- build from a clean clone -------------------------------------------------------

SRC=$SFY_TMP/src
run 120 git -c safe.directory='*' clone -q "$SFY_ROOT" "$SRC"
if ((RC != 0)); then
    fail clone "$(why)"
    finish
fi
# nocheck: the unit tests run in make test already; the build alone takes minutes.
run 780 env DEB_BUILD_OPTIONS="nocheck parallel=2" DEB_BUILD_PROFILES=nocheck \
    make -C "$SRC" deb
DEB=$SRC/build/deb/socksify_${VERSION}_$ARCH.deb
CHANGES=$SRC/build/deb/socksify_${VERSION}_$ARCH.changes
if ((RC == 0)) && [[ -f $DEB && -f $CHANGES ]]; then
    pass builds-from-clean-clone
else
    fail builds-from-clean-clone "$(why "no $DEB")"
    finish
fi
# Nothing outside build/ changed in the clone, and nothing landed beside it.
dirty=$(git -C "$SRC" status --porcelain --ignored | grep -v '^!! build/$' || true)
beside=$(find "$SFY_TMP" -mindepth 1 -maxdepth 1 ! -name src ! -name out ! -name err ! -name 'comp*')
if [[ -z $dirty && -z $beside ]]; then
    pass clone-stays-clean
else
    fail clone-stays-clean "$(oneline "changed in the clone: $dirty; beside it: $beside")"
fi

deb_version=$(dpkg-deb -f "$DEB" Version)
deb_depends=$(dpkg-deb -f "$DEB" Depends)
if [[ $deb_version == "$VERSION" && $deb_depends =~ ^libc6\ \(\>=\ [0-9.]+\)$ ]]; then
    pass control-version-and-depends
else
    fail control-version-and-depends "Version '$deb_version', Depends '$deb_depends': want $VERSION and libc6 alone"
fi

# No error and no warning that debian/socksify.lintian-overrides does not explain.
run 300 lintian --tag-display-limit 0 "$CHANGES"
tags=$(printf '%s\n' "$OUT" | grep -E '^[EW]: ' || true)
if [[ -z $tags && $RC == 0 ]]; then
    pass lintian-no-errors-or-warnings
else
    fail lintian-no-errors-or-warnings "$(why "$(oneline "$tags")")"
fi

# --- install --------------------------------------------------------------------------

installed=1  # from here on, the exit trap removes whatever dpkg -i left
dpkg_bounded -i "$DEB"
if ((RC == 0)); then
    pass dpkg-install
else
    fail dpkg-install "$(why)"
    finish
fi

run 30 dpkg -L socksify
LISTED=$OUT
missing=
files=()
while IFS= read -r p; do
    [[ -z $p || $p == /. ]] && continue
    [[ -e $p ]] || missing+=" $p"
    [[ -f $p ]] && files+=("$p")
done <<<"$LISTED"
contents=$(dpkg-deb -c "$DEB" | awk '{print $NF}' | sed 's|^\./|/|; s|/$||' | grep -v '^$' | sort)
unlisted=$(comm -23 <(printf '%s\n' "$contents") <(printf '%s\n' "$LISTED" | sort) | tr '\n' ' ')
for want in /usr/bin/socksify "$LIBPATH" /usr/share/man/man1/socksify.1.gz \
    /usr/share/doc/socksify/examples/socksify.conf.example \
    /usr/share/bash-completion/completions/socksify /usr/share/doc/socksify/copyright; do
    [[ $'\n'$LISTED$'\n' == *$'\n'$want$'\n'* ]] || missing+=" (not listed) $want"
done
if [[ -z $missing && -z ${unlisted// /} && ${#files[@]} -ge 6 ]]; then
    pass files-where-dpkg-says
else
    fail files-where-dpkg-says "$(oneline "missing:$missing; in the .deb but not listed: $unlisted")"
fi

run 10 /usr/bin/socksify --version
if ((RC == 0)) && [[ $OUT == "socksify $VERSION"$'\n'"library: $LIBPATH (loads)"$'\n'* ]]; then
    pass installed-version-names-installed-library
else
    fail installed-version-names-installed-library "$(why)"
fi

run 10 /usr/bin/socksify --config /usr/share/doc/socksify/examples/socksify.conf.example -- env
check_out installed-example-config-valid "SOCKSIFY_PROXY=socks5h://198.51.100.1:1080"

if cmp -s /usr/share/bash-completion/completions/socksify "$SFY_ROOT/scripts/socksify-completion.bash" &&
    bash --norc -c 'source /usr/share/bash-completion/completions/socksify && complete -p socksify' \
        >/dev/null 2>&1; then
    pass installed-completion
else
    fail installed-completion "the installed completion differs or does not register"
fi

if command -v man >/dev/null; then
    run 30 man -w socksify
    check_out installed-man-page /usr/share/man/man1/socksify.1.gz
fi

# --- the installed launcher through the test world ----------------------------------

world=
if [[ -n ${SFY_WORLD_SKIP:-} ]]; then
    world=$SFY_WORLD_SKIP
elif [[ ! -e /run/netns/$SFY_NS_CLIENT || ! -e /run/netns/$SFY_NS_PROXY ]]; then
    world="test world not running (scripts/world.sh start)"
fi
if [[ -n $world ]]; then
    skip installed-curl-by-name-through-dante "$world"
else
    require_names
    TOKEN=$(token)
    # curl fetches the page by a name only the proxy side knows, then prints its own
    # memory map: the library mapped into curl is the installed one.
    run 30 "${IN_CLIENT[@]}" /usr/bin/socksify -x "socks5h://$SFY_PROXY4:$SFY_PORT_DANTE" -- \
        curl -sS --max-time 20 "http://$SFY_NAME_WEB/hello.txt" file:///proc/self/maps
    leaks=$(dns_leaks)
    maps=$(printf '%s\n' "$OUT" | grep libsocksify || true)
    if ((RC == 0)) && [[ $OUT == "$TOKEN"* && -z $leaks && $maps == *" $LIBPATH"* &&
        $maps != *"$SFY_ROOT"* ]]; then
        pass installed-curl-by-name-through-dante
    else
        fail installed-curl-by-name-through-dante \
            "$(why "want the token first, $LIBPATH mapped, no DNS leak (leaks: $leaks)")"
    fi
fi

# --- remove -------------------------------------------------------------------------

dpkg_bounded -r socksify
left=
for p in "${files[@]}"; do
    [[ -e $p ]] && left+=" $p"
done
for d in "/usr/lib/$TRIPLET/socksify" /usr/share/doc/socksify; do
    [[ -e $d ]] && left+=" $d"
done
status=$(dpkg-query -W -f='${db:Status-Status}' socksify 2>/dev/null || true)
if ((RC == 0)) && [[ -z $left && $status == @(|not-installed) ]]; then
    installed=0
    pass dpkg-remove-removes-everything
else
    fail dpkg-remove-removes-everything "$(why "left:$left; status '$status'")"
fi

finish
