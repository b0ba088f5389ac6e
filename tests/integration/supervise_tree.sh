#!/usr/bin/env bash
# When the supervisor runs (issue 13): in the default mode, programs the preload cannot
# serve that a preloaded shell or make starts later in the run — a static Go client, a
# cgo Go client, busybox-static wget, by name; also started by fexecve or execveat from
# a descriptor — go through the proxy under the run's
# supervisor, share the run's fake-DNS table with curl and glibc, and are named in
# the audit log; nothing else reaches the network. A setuid program keeps its
# privileges in the default mode (and, where the filter covers it, a line says why
# it runs without them). A kernel without the features: one line and exit 126 under
# --strict or --supervise on, a warning otherwise (SOCKSIFY_TEST_OLD_KERNEL).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher
require_names

T=30
TOKEN=$(token)
ensure_scratch
chmod 755 "$SFY_TMP"  # the setuid checks run a copy in here as nobody
BIN=$SFY_ROOT/build/go
mkdir -p "$BIN"
WEB=$SFY_NAME_WEB
URL=http://$WEB/hello.txt
DANTE=socks5h://$SFY_PROXY4:$SFY_PORT_DANTE
MICRO=socks5h://$SFY_PROXY4:$SFY_PORT_MICRO
capture_start

# --- build (offline, as tests/integration/supervisor.sh does) --------------------------------
export GOCACHE=$BIN/cache GOPATH=$BIN/path GOPROXY=off GOFLAGS= GO111MODULE=auto
if ! command -v go >/dev/null; then
    skip all "go is not installed (scripts/install-deps.sh installs golang-go)"
    finish
fi
for p in httpget lookup; do
    CGO_ENABLED=0 go build -o "$BIN/$p-static" "$PROGRAMS/go/$p.go" 2>"$SFY_TMP/go.err" ||
        { fail build-go "$(oneline "$(<"$SFY_TMP/go.err")")"; finish; }
done
CGO_ENABLED=1 go build -o "$BIN/httpget-cgo" "$PROGRAMS/go/httpget.go" 2>"$SFY_TMP/go.err" ||
    { fail build-go-cgo "$(oneline "$(<"$SFY_TMP/go.err")")"; finish; }
HAVE_BUSYBOX=0
file -L "$(command -v busybox || echo /nonexistent)" 2>/dev/null | grep -q "statically linked" &&
    HAVE_BUSYBOX=1
# The programs are run by name: from PATH, as a user's shell or Makefile would.
export PATH=$BIN:$PATH

# body_count: how many times the web server's token is in the last run's output.
body_count() { grep -c "$TOKEN" <<<"$OUT" || true; }

# --- a preloaded shell and make start them -----------------------------------------------------
for px in "dante|$DANTE" "microsocks|$MICRO"; do
    name=${px%%|*}
    run $T "${SFY[@]}" -x "${px#*|}" -- sh -c "httpget-static $URL"
    check_out_noleak "sh-go-static-by-name-$name" "$TOKEN"
done
run $T "${SFY[@]}" -x "$DANTE" -- sh -c "httpget-cgo $URL"
check_out_noleak sh-go-cgo-by-name "$TOKEN"
if ((HAVE_BUSYBOX)); then
    run $T "${SFY[@]}" -x "$MICRO" -- sh -c "busybox wget -q -O - $URL"
    check_out_noleak sh-busybox-wget-by-name "$TOKEN"
else
    skip sh-busybox-wget-by-name "no statically linked busybox (busybox-static)"
fi

# make runs recipe lines without a shell when it can (posix_spawn or vfork + exec) and
# with /bin/sh otherwise: both kinds.
mkdir -p "$SFY_TMP/mk"
{
    printf 'all:\n'
    printf '\thttpget-static %s\n' "$URL"
    printf '\thttpget-static %s | cat\n' "$URL"
    ((HAVE_BUSYBOX)) && printf '\tbusybox wget -q -O - %s\n' "$URL"
    printf '\t@echo\n'
} >"$SFY_TMP/mk/Makefile"
want=$((2 + HAVE_BUSYBOX))
for px in "dante|$DANTE" "microsocks|$MICRO"; do
    run 60 "${SFY[@]}" -x "${px#*|}" -- make -s -C "$SFY_TMP/mk"
    if ((RC == 0 && $(body_count) == want)) && [[ -z $(dns_leaks) ]]; then
        pass "make-static-programs-by-name-${px%%|*}"
    else
        fail "make-static-programs-by-name-${px%%|*}" "$(why "expected $want bodies, no DNS leak: leaks '$(dns_leaks)'")"
    fi
done

# A program started from a descriptor — fexecve, execveat relative to a directory fd,
# execveat(fd, "", AT_EMPTY_PATH) — joins the same way: the static Go client and
# busybox wget fetch by name through the proxy, with no warning and no DNS leak.
PROBE_BIN=$SFY_ROOT/build/tests/exec_probe
if [[ -x $PROBE_BIN ]]; then
    for mode in fexecve execveat execveat-empty; do
        run $T "${SFY[@]}" -x "$DANTE" -- "$PROBE_BIN" "$mode" "$BIN" httpget-static "$URL"
        if [[ $OUT == *"$TOKEN"*"$mode exit 0"* && $ERR != *warning* && -z $(dns_leaks) ]]; then
            pass "$mode-go-static-by-name-joined"
        else
            fail "$mode-go-static-by-name-joined" "$(why "expected the body, exit 0, no warning, no leak '$(dns_leaks)'")"
        fi
        if ((HAVE_BUSYBOX)); then
            bb=$(readlink -f "$(command -v busybox)")
            run $T "${SFY[@]}" -x "$MICRO" -- "$PROBE_BIN" "$mode" "$(dirname "$bb")" \
                "$(basename "$bb")" wget -q -O - "$URL"
            if [[ $OUT == *"$TOKEN"*"$mode exit 0"* && $ERR != *warning* && -z $(dns_leaks) ]]; then
                pass "$mode-busybox-wget-by-name-joined"
            else
                fail "$mode-busybox-wget-by-name-joined" "$(why "expected the body, exit 0, no warning")"
            fi
            # A script run by the static busybox: its interpreter reads it by /dev/fd.
            printf '#!%s sh\nbusybox wget -q -O - %s\n' "$bb" "$URL" >"$BIN/bb-script"
            chmod 755 "$BIN/bb-script"
            run $T "${SFY[@]}" -x "$DANTE" -- "$PROBE_BIN" "$mode" "$BIN" bb-script
            if [[ $OUT == *"$TOKEN"*"$mode exit 0"* && $ERR != *warning* && -z $(dns_leaks) ]]; then
                pass "$mode-busybox-script-by-name-joined"
            else
                fail "$mode-busybox-script-by-name-joined" "$(why "expected the body, exit 0, no warning")"
            fi
        fi
    done
else
    fail exec-by-fd "$PROBE_BIN not built (make build/tests/exec_probe)"
fi

# Under --strict every process of the run is under the filter from the first exec
# (strict_kernel.sh): a cgo and a static Go program started by the shell are both
# supervised, through the proxy, with no DNS leak.
run $T "${SFY[@]}" --strict -x "$DANTE" -- sh -c "httpget-cgo $URL; httpget-static $URL; echo rc=\$?"
if [[ $OUT == *"$TOKEN"*"rc=0"* && $(body_count) == 2 && $ERR != *"refusing to run"* ]] &&
    [[ -z $(dns_leaks) ]]; then
    pass strict-sh-go-cgo-and-static-supervised
else
    fail strict-sh-go-cgo-and-static-supervised "$(why "expected two bodies through the proxy")"
fi

# A program that cleared its environment still starts them under the supervisor: the
# library keeps the launcher's variables from load time.
run $T "${SFY[@]}" -x "$DANTE" -- sh -c "env -i $BIN/httpget-static $URL"
check_out_noleak env-cleared-still-supervised "$TOKEN"

# One run, one fake-DNS table: glibc in the shell, curl, Go's own resolver in static
# and cgo children — the same fake address, every body through the proxy.
cat >"$SFY_TMP/mixed.sh" <<EOS
set -e
getent ahostsv4 $WEB | awk 'NR == 1 { print "libc " \$1 }'
lookup-static $WEB | grep -v : | sed 's/^/go /'
curl -sS $URL
httpget-static $URL
httpget-cgo $URL
EOS
run $T "${SFY[@]}" -x "$DANTE" -- bash "$SFY_TMP/mixed.sh"
libc_addr=$(awk '$1 == "libc" { print $2 }' <<<"$OUT")
go_addr=$(awk '$1 == "go" { print $2 }' <<<"$OUT")
if ((RC == 0)) && [[ -n $libc_addr && $libc_addr == "$go_addr" ]] && (($(body_count) == 3)) &&
    [[ -z $(dns_leaks) ]]; then
    pass mixed-shell-one-fake-table-default-mode
else
    fail mixed-shell-one-fake-table-default-mode "$(why "libc '$libc_addr' go '$go_addr' bodies $(body_count) leaks '$(dns_leaks)'")"
fi

# Without the supervisor the same shell warns and the program reaches nothing.
run $T "${SFY[@]}" --supervise off -x "$DANTE" -- sh -c "httpget-static $URL"
if ((RC != 0)) && [[ $ERR == *"statically linked"*"not proxied"* && $OUT != *"$TOKEN"* ]]; then
    pass supervise-off-sh-unproxied
else
    fail supervise-off-sh-unproxied "$(why "expected the warning and no body")"
fi

# Where the launcher cannot be exec'd (hidden by a mount, as after a chroot) the
# program runs as without a supervisor: one warning, nothing through the proxy.
run $T "${SFY[@]}" -x "$DANTE" -- unshare -m sh -c \
    "mount -t tmpfs none '$(dirname "$SOCKSIFY")' && httpget-static $URL"
if ((RC != 0)) && [[ $OUT != *"$TOKEN"* && $ERR == *"httpget-static': it is statically linked"*"not proxied"* ]]; then
    pass launcher-hidden-warns
else
    fail launcher-hidden-warns "$(why "expected the warning and no body")"
fi

# A program started after the launcher exited: a warning (under --strict it is still
# under the run's filter, whose trapped calls fail once the launcher is gone: ENOSYS,
# nothing direct), never a hang. The background job writes to a file; waited for up to 10 s.
for strict in "" --strict; do
    : >"$SFY_TMP/late.out"
    run $T "${SFY[@]}" $strict -x "$DANTE" -- sh -c \
        "(sleep 0.5; httpget-cgo $URL; echo rc=\$?) >'$SFY_TMP/late.out' 2>&1 &"
    for ((i = 0; i < 100; i++)); do
        grep -q "^rc=" "$SFY_TMP/late.out" && break
        sleep 0.1
    done
    late=$(<"$SFY_TMP/late.out")
    if [[ -z $strict && $late == *"cannot supervise"*"launcher is gone"*"not proxied"* ]] ||
        [[ -n $strict && $late == *"function not implemented"* && $late == *"rc=1"* ]]; then
        pass "outlived-launcher${strict:+-strict}"
    else
        fail "outlived-launcher${strict:+-strict}" "$(oneline "$late")"
    fi
    [[ $late != *"$TOKEN"* ]] || fail "outlived-launcher-no-body${strict:+-strict}" "the body arrived"
done

# --- the audit log names the program, for lookups and connects alike -----------------------------
AUDIT=$SFY_TMP/audit.log
: >"$AUDIT"
run $T "${SFY[@]}" -x "$DANTE" --audit "$AUDIT" -- sh -c "httpget-static $URL; lookup-static -tcp $WEB"
records() { grep -c "\"program\":\"$1\",\"kind\":\"$2\"" "$AUDIT" || true; }
if ((RC == 0)) && (($(records httpget-static lookup) >= 1 && $(records httpget-static connect) == 1)) &&
    (($(records lookup-static lookup) >= 1)) && ! grep -q '"program":"socksify"' "$AUDIT"; then
    pass audit-names-supervised-program
else
    fail audit-names-supervised-program "$(oneline "$(cut -c1-160 "$AUDIT")")"
fi

# --- setuid programs (no_new_privs) ------------------------------------------------------------
# A setuid-root copy of id run by nobody: the default mode leaves the shell unfiltered,
# so it keeps its privileges; --supervise on filters the tree, and a line says why it
# runs without them.
cp "$(command -v id)" "$SFY_TMP/id-suid"
chown root: "$SFY_TMP/id-suid"
chmod 4755 "$SFY_TMP/id-suid"
AS_NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
if command -v setpriv >/dev/null; then
    run $T "${IN_CLIENT[@]}" "${AS_NOBODY[@]}" "$SOCKSIFY" -x "$DANTE" -- sh -c "$SFY_TMP/id-suid -u"
    if ((RC == 0)) && [[ $OUT == 0 ]]; then
        pass setuid-keeps-privileges-default-mode
    else
        fail setuid-keeps-privileges-default-mode "$(why "expected euid 0")"
    fi
    run $T "${IN_CLIENT[@]}" "${AS_NOBODY[@]}" "$SOCKSIFY" --supervise on -x "$DANTE" -- \
        sh -c "$SFY_TMP/id-suid -u"
    if ((RC == 0)) && [[ $OUT == 65534 && $ERR == *"setuid"*"no_new_privs"* ]]; then
        pass setuid-under-filter-says-why
    else
        fail setuid-under-filter-says-why "$(why "expected euid 65534 and a no_new_privs line")"
    fi
    if command -v ping >/dev/null; then
        run $T "${IN_CLIENT[@]}" "${AS_NOBODY[@]}" "$SOCKSIFY" -x "$DANTE" -- sh -c "ping -c1 -W2 127.0.0.1"
        check_out ping-default-mode "1 received"
        # Filtered: ping loses cap_net_raw; it fails, and a line says why.
        run $T "${IN_CLIENT[@]}" "${AS_NOBODY[@]}" "$SOCKSIFY" --supervise on -x "$DANTE" -- \
            sh -c "ping -c1 -W2 127.0.0.1"
        if ((RC != 0)) && [[ $ERR == *"ping"*"file capabilities"*"no_new_privs"* ]]; then
            pass ping-under-filter-says-why
        else
            fail ping-under-filter-says-why "$(why "expected a no_new_privs line")"
        fi
    else
        skip ping-default-mode "ping is not installed (iputils-ping)"
    fi
else
    skip setuid "setpriv is not installed"
fi

# --- a kernel without the features (test-only knob) ------------------------------------------
OLD=(env SOCKSIFY_TEST_OLD_KERNEL=1)
run $T "${IN_CLIENT[@]}" "${OLD[@]}" "$SOCKSIFY" -x "$DANTE" -- sh -c "httpget-static $URL"
if ((RC != 0)) && [[ $OUT != *"$TOKEN"* ]] && (($(grep -c . <<<"$ERR") >= 1)) &&
    [[ $(grep -c "warning: cannot supervise.*Linux 5.19 or later is needed.*not proxied" <<<"$ERR") == 1 ]]; then
    pass old-kernel-warns
else
    fail old-kernel-warns "$(why "expected one warning naming the kernel")"
fi
run $T "${IN_CLIENT[@]}" "${OLD[@]}" "$SOCKSIFY" --strict -x "$DANTE" -- sh -c "httpget-cgo $URL"
if ((RC == 126)) && [[ -z $OUT && $(grep -c . <<<"$ERR") == 1 && $ERR == *"cannot supervise"*"Linux 5.19"* ]]; then
    pass old-kernel-strict-one-line
else
    fail old-kernel-strict-one-line "$(why "expected exit 126 and one line")"
fi
for mode in "--supervise on" "--strict"; do
    # shellcheck disable=SC2086
    run $T "${IN_CLIENT[@]}" "${OLD[@]}" "$SOCKSIFY" $mode -x "$DANTE" -- httpget-cgo "$URL"
    if ((RC == 126)) && [[ -z $OUT && $(grep -c . <<<"$ERR") == 1 && $ERR == *"cannot supervise"*"Linux 5.19"* ]]; then
        pass "old-kernel-top-$(tr -d - <<<"${mode// /}")-one-line"
    else
        fail "old-kernel-top-$(tr -d - <<<"${mode// /}")-one-line" "$(why "expected exit 126 and one line")"
    fi
done

capture_stop capture-only-the-proxy
finish
