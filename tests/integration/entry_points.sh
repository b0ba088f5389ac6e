#!/usr/bin/env bash
# Every resolver and connection entry point the system's libc exports by name (what a
# program reaches by linking, dlsym or ctypes, aliases such as __connect included) is
# decided: hooked (shim/hooks/libsocksify.map) or listed in docs/RESOLVER_ENTRY_POINTS.md.
# A new glibc that adds one fails here until someone decides it. No test world needed.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LIBC=$(ldconfig -p 2>/dev/null | awk '/libc\.so\.6 .*x86-64/ {print $NF; exit}')
[[ -n $LIBC ]] || LIBC=/lib/x86_64-linux-gnu/libc.so.6
MAP=$SFY_ROOT/shim/hooks/libsocksify.map
DOC=$SFY_ROOT/docs/RESOLVER_ENTRY_POINTS.md

# The class: socket data and connection calls (with their _chk/_nocancel forms), and
# everything of the resolver, NSS, rcmd and DNS-message families.
CONN='^_*(connect|socket|socketpair|send|sendto|sendmsg|sendmmsg|sendfile|sendfile64|splice|vmsplice|recv|recvfrom|recvmsg|recvmmsg|read|readv|write|writev)(_chk|_nocancel)?$'
DNS='^_*(res_|_res$|_res_hconf|getaddrinfo|gai_|gethostby|gethostent|sethostent|endhostent|getnameinfo|getnetby|getnetent|rcmd|rexec|rresvport|ruserok|iruserok|ruserpass|_?nss_|resolv_context|res_context|libc_res|dn_|libc_dn|ns_|libc_ns|inet6_scopeid|bindresvport)'

if [[ ! -r $LIBC || ! -r $MAP || ! -r $DOC ]]; then
    fail walk "missing $LIBC, $MAP or $DOC"
    finish
fi
# Default-version and unversioned symbols only: a single '@' is a compat symbol no
# new link and no dlsym can reach (the document says why that is enough).
mapfile -t SYMS < <(nm -D --defined-only "$LIBC" | awk '$3 ~ /@@/ || $3 !~ /@/ {print $3}' |
    sed 's/@.*//' | sort -u | grep -E "$CONN|$DNS")
mapfile -t HOOKED < <(sed 's#/\*.*\*/##' "$MAP" | grep -oE '[A-Za-z_][A-Za-z_0-9]*' |
    grep -vxE 'global|local')
# Names and globs in the first column of the document's tables.
mapfile -t DECIDED < <(grep -E '^\| `' "$DOC" | cut -d'|' -f2 | grep -oE '`[^`]+`' | tr -d '`')

declare -A IS_HOOKED=()
for h in "${HOOKED[@]}"; do IS_HOOKED[$h]=1; done
undecided=()
for s in "${SYMS[@]}"; do
    [[ -n ${IS_HOOKED[$s]:-} ]] && continue
    ok=0
    for d in "${DECIDED[@]}"; do
        # shellcheck disable=SC2053  # globs in the document are meant to match
        if [[ $s == $d ]]; then
            ok=1
            break
        fi
    done
    ((ok)) || undecided+=("$s")
done
if ((${#SYMS[@]} < 100)); then
    fail walk "only ${#SYMS[@]} symbols of the class in $LIBC: the patterns no longer match"
elif ((${#undecided[@]} == 0)); then
    pass "every-resolver-and-connection-symbol-decided (${#SYMS[@]} symbols)"
else
    fail every-resolver-and-connection-symbol-decided \
        "neither hooked nor in docs/RESOLVER_ENTRY_POINTS.md: ${undecided[*]}"
fi

# The aliases a program can call by name are the hooks themselves.
for a in __connect __socket __send __recv __read __write getaddrinfo_a; do
    if [[ -n ${IS_HOOKED[$a]:-} ]]; then pass "hooked-$a"; else fail "hooked-$a" "not in $MAP"; fi
done

# getnetby* are decided "local" because nsswitch.conf keeps the networks database on
# files; a dns source there would undo that decision.
if grep -qE '^networks:.*\bdns\b' /etc/nsswitch.conf 2>/dev/null; then
    fail nsswitch-networks-has-no-dns "/etc/nsswitch.conf sends network names to DNS"
else
    pass nsswitch-networks-has-no-dns
fi
finish
