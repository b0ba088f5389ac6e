#!/usr/bin/env bash
# Programs the preload cannot reach, through the proxy by the launcher's seccomp
# supervisor (issue 13): Go (static and cgo) and static C and busybox programs by
# name and by address through Dante and microsocks, 50 parallel Go dials, a shell
# mixing a preloaded curl and a static Go program on one fake-DNS table, the policy
# and audit log on static programs, UDP refused with EACCES, --supervise off/auto,
# and a thread rewriting the address while another is inside connect.
# Go programs are built offline from tests/programs/go/*.go into build/go/.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher
require_names

T=30
TOKEN=$(token)
ensure_scratch
BIN=$SFY_ROOT/build/go
mkdir -p "$BIN"
WEB=$SFY_NAME_WEB
DANTE=socks5h://$SFY_PROXY4:$SFY_PORT_DANTE
MICRO=socks5h://$SFY_PROXY4:$SFY_PORT_MICRO

# A packet capture on the client's only interface for the whole script: at the end it
# must hold TCP with the proxies' SOCKS ports and nothing else (no DNS, no UDP, nothing
# to a destination).
HAVE_CAPTURE=0
if command -v tcpdump >/dev/null; then
    IFACE=$(ip -n "$SFY_NS_CLIENT" -o link show | awk -F': ' '$2 != "lo" {sub(/@.*/, "", $2); print $2; exit}')
    PCAP=$SFY_TMP/supervisor.pcap
    # ip netns exec execs tcpdump: $! is tcpdump itself.
    "${IN_CLIENT[@]}" tcpdump -i "$IFACE" -n -U -w "$PCAP" >/dev/null 2>"$SFY_TMP/tcpdump.err" &
    TCPDUMP=$!
    trap 'kill "$TCPDUMP" 2>/dev/null || true; rm -rf "$SFY_TMP"' EXIT
    for ((i = 0; i < 50; i++)); do
        grep -q "listening on" "$SFY_TMP/tcpdump.err" 2>/dev/null && { HAVE_CAPTURE=1; break; }
        sleep 0.1
    done
fi

# --- build (offline: the standard library only, caches under build/) ---------------------
export GOCACHE=$BIN/cache GOPATH=$BIN/path GOPROXY=off GOFLAGS= GO111MODULE=auto
HAVE_GO=1
if ! command -v go >/dev/null; then
    HAVE_GO=0
    skip go "go is not installed (scripts/install-deps.sh installs golang-go)"
else
    for p in httpget lookup udp; do
        CGO_ENABLED=0 go build -o "$BIN/$p-static" "$PROGRAMS/go/$p.go" 2>"$SFY_TMP/go.err" ||
            { fail build-go "$(oneline "$(<"$SFY_TMP/go.err")")"; finish; }
    done
    CGO_ENABLED=1 go build -o "$BIN/httpget-cgo" "$PROGRAMS/go/httpget.go" 2>"$SFY_TMP/go.err" ||
        { fail build-go-cgo "$(oneline "$(<"$SFY_TMP/go.err")")"; finish; }
fi
HAVE_STATIC_C=1
for c in static_connect addr_race; do
    gcc -static -O2 -Wall -pthread -o "$BIN/$c" "$PROGRAMS/$c.c" 2>"$SFY_TMP/cc.err" || HAVE_STATIC_C=0
done
((HAVE_STATIC_C)) || skip static-c "gcc -static failed (libc6-dev's libc.a?): $(oneline "$(<"$SFY_TMP/cc.err")")"

# --- Go --------------------------------------------------------------------------------------
if ((HAVE_GO)); then
    for px in "dante|$DANTE" "microsocks|$MICRO"; do
        name=${px%%|*}
        url=${px#*|}
        run $T "${SFY[@]}" -x "$url" -- "$BIN/httpget-static" "http://$SFY_DEST4/hello.txt"
        check_out "go-static-by-ip-$name" "$TOKEN"
        run $T "${SFY[@]}" -x "$url" -- "$BIN/httpget-static" "http://$WEB/hello.txt"
        check_out_noleak "go-static-by-name-$name" "$TOKEN"
    done

    # A cgo program is dynamic (the preload loads) but connects by raw system calls:
    # auto mode supervises it as a Go program.
    run $T "${SFY[@]}" -x "$DANTE" -- "$BIN/httpget-cgo" "http://$WEB/hello.txt"
    check_out_noleak go-cgo-by-name "$TOKEN"

    run 60 "${SFY[@]}" -x "$DANTE" -- "$BIN/httpget-static" -parallel 50 -want "$TOKEN" \
        "http://$WEB/hello.txt"
    check_out_noleak go-static-50-parallel-by-name "ok 50 of 50"

    # Without the supervisor the program is warned about and reaches nothing.
    run $T "${SFY[@]}" --supervise off -x "$DANTE" -- "$BIN/httpget-static" \
        "http://$SFY_DEST4/hello.txt"
    if ((RC != 0)) && [[ $ERR == *"statically linked"*"not proxied"* && $OUT != *"$TOKEN"* ]]; then
        pass supervise-off-unproxied
    else
        fail supervise-off-unproxied "$(why "expected the warning and no body")"
    fi

    # Both UDP forms are refused with EACCES (the supervisor does not relay UDP); an
    # addressed send also logs one line.
    run $T "${SFY[@]}" -x "$DANTE" -- "$BIN/udp-static" dial "$SFY_DEST4:$SFY_PORT_UDP_ECHO" "$TOKEN"
    if ((RC == 1)) && [[ $OUT == *"connect: permission denied"* ]] && ! log_new udpecho | grep -q .; then
        pass go-udp-connect-refused
    else
        fail go-udp-connect-refused "$(why "expected EACCES from connect")"
    fi
    run $T "${SFY[@]}" -x "$DANTE" -- "$BIN/udp-static" writeto "$SFY_DEST4:$SFY_PORT_UDP_ECHO" "$TOKEN"
    if ((RC == 1)) && [[ $OUT == *"sendto: permission denied"* && $ERR == *"refusing UDP to"*"does not relay UDP"* ]] &&
        ! log_new udpecho | grep -q .; then
        pass go-udp-sendto-refused
    else
        fail go-udp-sendto-refused "$(why "expected EACCES from sendto and a log line")"
    fi

    # Go's resolver over TCP reaches the supervisor's nameserver too, never the real one.
    run $T "${SFY[@]}" -x "$DANTE" -- "$BIN/lookup-static" -tcp "$WEB"
    check_out_noleak go-dns-over-tcp "240.0."

    # One run, one table: glibc in a preloaded shell and Go's own resolver in a static
    # child give the name the same fake address, and both fetch through the proxy.
    cat >"$SFY_TMP/mixed.sh" <<EOS
set -e
getent ahostsv4 $WEB | awk 'NR == 1 { print "libc " \$1 }'
"$BIN/lookup-static" $WEB | grep -v : | sed 's/^/go /'
curl -sS http://$WEB/hello.txt
"$BIN/httpget-static" http://$WEB/hello.txt
EOS
    run $T "${SFY[@]}" --supervise on -x "$DANTE" -- bash "$SFY_TMP/mixed.sh"
    libc_addr=$(awk '$1 == "libc" { print $2 }' <<<"$OUT")
    go_addr=$(awk '$1 == "go" { print $2 }' <<<"$OUT")
    bodies=$(grep -c "$TOKEN" <<<"$OUT" || true)
    if ((RC == 0)) && [[ -n $libc_addr && $libc_addr == "$go_addr" ]] && ((bodies == 2)) &&
        [[ -z $(dns_leaks) ]]; then
        pass mixed-shell-one-fake-table
    else
        fail mixed-shell-one-fake-table "$(why "libc '$libc_addr' go '$go_addr' bodies $bodies leaks '$(dns_leaks)'")"
    fi
fi

# --- static C and busybox --------------------------------------------------------------------
if ((HAVE_STATIC_C)); then
    for px in "dante|$DANTE" "microsocks|$MICRO"; do
        run $T "${SFY[@]}" -x "${px#*|}" -- "$BIN/static_connect" "$SFY_DEST4" "$SFY_PORT_HTTP" \
            "GET /hello.txt HTTP/1.0"
        check_out "static-c-by-ip-${px%%|*}" "$TOKEN"
    done
    # The library's errno table: the destination refused the connection.
    run $T "${SFY[@]}" -x "$DANTE" -- "$BIN/static_connect" "$SFY_DEST4" "$SFY_PORT_CLOSED"
    if ((RC == 1)) && [[ $OUT == "connect: ECONNREFUSED" ]]; then
        pass static-c-refused-errno
    else
        fail static-c-refused-errno "$(why "expected ECONNREFUSED")"
    fi
fi
if file -L "$(command -v busybox || echo /nonexistent)" 2>/dev/null | grep -q "statically linked"; then
    run $T "${SFY[@]}" -x "$DANTE" -- busybox wget -q -O - "http://$WEB/hello.txt"
    check_out_noleak busybox-static-wget-by-name "$TOKEN"
else
    skip busybox-static-wget-by-name "no statically linked busybox (busybox-static)"
fi

# --- policy and audit on static programs ---------------------------------------------------
AUDIT=$SFY_TMP/audit.log
audit_is() {
    local name=$1 got
    shift
    got=$("$PY" "$PROGRAMS/audit_check.py" records "$AUDIT" 0 "$@" 2>&1) || true
    if [[ $got == ok ]]; then pass "$name"; else fail "$name" "$(oneline "$got")"; fi
}
if ((HAVE_GO && HAVE_STATIC_C)); then
    : >"$AUDIT"
    run $T "${SFY[@]}" -x "$DANTE" --default-deny --allow "$WEB:80" --audit "$AUDIT" -- \
        "$BIN/httpget-static" "http://$WEB/hello.txt"
    check_out_noleak policy-static-go-allowed "$TOKEN"
    audit_is policy-static-go-allowed-audit "lookup $WEB - allow ok" "lookup $WEB - allow ok" \
        "connect $WEB 80 allow ok"
    # The record names the program, not the launcher.
    if grep -q '"program":"httpget-static"' "$AUDIT" 2>/dev/null &&
        grep '"kind":"connect"' "$AUDIT" | grep -q '"program":"httpget-static"'; then
        pass policy-static-go-audit-names-program
    else
        fail policy-static-go-audit-names-program "$(oneline "$(cat "$AUDIT")")"
    fi

    : >"$AUDIT"
    run $T "${SFY[@]}" -x "$DANTE" --deny "$SFY_DEST4" --audit "$AUDIT" -- \
        "$BIN/static_connect" "$SFY_DEST4" "$SFY_PORT_HTTP" "GET /hello.txt HTTP/1.0"
    if ((RC == 1)) && [[ $OUT == "connect: EACCES" && $ERR == *"denied by policy"* ]]; then
        pass policy-static-c-denied
    else
        fail policy-static-c-denied "$(why "expected EACCES and one denial line")"
    fi
    audit_is policy-static-c-denied-audit "connect $SFY_DEST4 $SFY_PORT_HTTP deny policy"

    : >"$AUDIT"
    run $T "${SFY[@]}" -x "$DANTE" --deny "$WEB" --audit "$AUDIT" -- \
        "$BIN/httpget-static" "http://$WEB/hello.txt"
    if ((RC == 1)) && [[ $OUT != *"$TOKEN"* ]] && [[ -z $(dns_leaks) ]]; then
        pass policy-static-go-denied-name
    else
        fail policy-static-go-denied-name "$(why "expected the lookup to fail")"
    fi
    audit_is policy-static-go-denied-name-audit "lookup $WEB - deny policy" \
        "lookup $WEB - deny policy"
fi

# --- the address rewritten while connect waits ---------------------------------------------
# Loopback is proxied and denied; the destination allowed. Every connection must reach
# the proxy (whoami answers) or be refused: none may reach the program's own listener.
if ((HAVE_STATIC_C)); then
    run 120 "${SFY[@]}" -q -x "$MICRO" --direct '' --deny 127.0.0.1 -- \
        "$BIN/addr_race" "$SFY_DEST4" "$SFY_PORT_WHOAMI" 1000
    read -r _ ok _ denied _ other _ escaped <<<"$OUT" || true
    if ((RC == 0)) && [[ ${escaped:-x} == 0 ]] && ((${ok:-0} > 0 && ${denied:-0} > 0)); then
        pass addr-rewrite-race
    else
        fail addr-rewrite-race "$(why "connections must go where the supervisor decided")"
    fi
fi

# --- options ---------------------------------------------------------------------------------
run $T "${SFY[@]}" --supervise sometimes -x "$DANTE" -- true
if ((RC == 2)) && [[ $ERR == *"--supervise"*"sometimes"* ]]; then
    pass supervise-bad-value
else
    fail supervise-bad-value "$(why "expected exit 2 naming the option")"
fi
# Forced on for a dynamic program: the preload and the supervisor together.
run $T "${SFY[@]}" --supervise on -x "$DANTE" -- curl -sS "http://$WEB/hello.txt"
check_out_noleak supervise-on-curl "$TOKEN"

# --- the capture ----------------------------------------------------------------------------
if ((HAVE_CAPTURE)); then
    kill "$TCPDUMP" 2>/dev/null || true
    wait "$TCPDUMP" 2>/dev/null || true
    P='198\.51\.100\.[12]'
    socks=" $P\.[0-9]+ > $P\.($SFY_PORT_DANTE|$SFY_PORT_MICRO): tcp| $P\.($SFY_PORT_DANTE|$SFY_PORT_MICRO) > $P\.[0-9]+: tcp"
    all=$(tcpdump -r "$PCAP" -n -q 2>/dev/null | awk '$2 == "IP" || $2 == "IP6"' || true)
    bad=$(grep -vE "$socks" <<<"$all" | grep -vE " fe80::[0-9a-f:.]+ > (ff02|fe80)::| :: > ff02::" | grep . || true)
    if [[ -n $all && -z $bad ]]; then
        pass capture-only-the-proxy
    else
        fail capture-only-the-proxy "$(oneline "${bad:-no packets captured}")"
    fi
else
    skip capture-only-the-proxy "tcpdump is not installed or did not start"
fi

finish
