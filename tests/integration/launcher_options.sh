#!/usr/bin/env bash
# shellcheck disable=SC2016  # single-quoted $vars belong to the child shells
# The launcher's contract without a proxy: every bad option is refused with exit 2 and
# one stderr line naming the value (never a password), and a good run hands the program
# the SOCKSIFY_* environment, LD_PRELOAD and a shared state file, and its exit status.
# Prints "PASS <name>", "FAIL <name>: <why>" or "SKIP <name>: <why>" per case; always
# exits 0.
# SOCKSIFY_BIN overrides the launcher (default: build/bin/socksify of this tree).
# No -e: every exit status is checked, failures included.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
S=${SOCKSIFY_BIN:-$root/build/bin/socksify}
SECRET=Sekr3tPw
PROXY=socks5://127.0.0.1:1080

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# The launcher reads these; the cases set them explicitly when they want them.
unset SOCKSIFY_PROXY SOCKSIFY_PASSWORD SOCKSIFY_DIRECT SOCKSIFY_TIMEOUT SOCKSIFY_PIPELINE \
    SOCKSIFY_LOG SOCKSIFY_SHM SOCKSIFY_STALL_MS SOCKSIFY_DNS SOCKSIFY_DNS_TCP SOCKSIFY_FAKE_NET \
    SOCKSIFY_FAKE_NET6 SOCKSIFY_UDP SOCKSIFY_STRICT SOCKSIFY_POLICY SOCKSIFY_DEFAULT_DENY \
    SOCKSIFY_AUDIT ALL_PROXY all_proxy LD_PRELOAD
export SOCKSIFY_CONFIG=/dev/null  # no config file of this machine

report() {  # name [why]: no reason means pass
    if [[ -z ${2:-} ]]; then
        printf 'PASS %s\n' "$1"
    else
        printf 'FAIL %s: %s\n' "$1" "$(printf '%s' "$2" | tr '\n' '|' | head -c 400)"
    fi
}

if [[ ! -x $S ]]; then
    report launcher_options "$S not built (make build/bin/socksify)"
    exit 0
fi

# run cmd...: RC, $T/out, $T/err. Bounded so a hang is a failure, not a stuck run.
# The group's 2>/dev/null drops bash's own "Terminated" report for signalled children.
run() {
    {
        timeout 30 "$@" >"$T/out" 2>"$T/err"
        RC=$?
    } 2>/dev/null
}

one_line() { [[ -s $1 && $(wc -l <"$1") -eq 1 && -z $(tail -c 1 "$1") ]]; }

# expect_refusal name text cmd...: exit 2, one stderr line "socksify: ..." containing
# text, nothing on stdout, and the secret password nowhere.
expect_refusal() {
    local name=$1 want=$2 why=
    shift 2
    run "$@"
    if [[ $RC -ne 2 ]]; then
        why="exit $RC, want 2; stderr: $(cat "$T/err")"
    elif ! one_line "$T/err"; then
        why="stderr is not exactly one line: $(cat "$T/err")"
    elif ! grep -q '^socksify: ' "$T/err"; then
        why="stderr line lacks the 'socksify: ' prefix: $(cat "$T/err")"
    elif ! grep -qF -- "$want" "$T/err"; then
        why="stderr does not name '$want': $(cat "$T/err")"
    elif grep -qF -- "$SECRET" "$T/err" "$T/out"; then
        why="password in the output: $(cat "$T/err")"
    elif [[ -s $T/out ]]; then
        why="unexpected stdout: $(cat "$T/out")"
    fi
    report "$name" "$why"
}

# --- refusals -------------------------------------------------------------------------

expect_refusal bad_url_path "socks5://127.0.0.1:1080/x" "$S" -x socks5://127.0.0.1:1080/x true
expect_refusal bad_url_host_chars "socks5://bad host" "$S" -x 'socks5://bad host' true
expect_refusal bad_url_empty_host "socks5://:1080" "$S" -x socks5://:1080 true
expect_refusal bad_url_empty "--proxy" "$S" --proxy= true
expect_refusal bad_url_bare_ipv6 "socks5://::1" "$S" -x socks5://::1 true
expect_refusal bad_port_0 "socks5://127.0.0.1:0" "$S" -x socks5://127.0.0.1:0 true
expect_refusal bad_port_65536 "127.0.0.1:65536" "$S" --proxy socks5://127.0.0.1:65536 true
expect_refusal bad_port_abc "127.0.0.1:abc" "$S" --proxy=socks5://127.0.0.1:abc true
expect_refusal unsupported_scheme_https "https proxies are not supported" "$S" -x https://127.0.0.1:8080 true
expect_refusal unsupported_scheme_socks "socks://127.0.0.1" "$S" -x socks://127.0.0.1 true
expect_refusal unresolvable_proxy_host "no-such-host.invalid" \
    "$S" -x socks5h://no-such-host.invalid:1080 true
expect_refusal password_redacted_bad_port "socks5://alice:***@127.0.0.1:0" \
    "$S" -x "socks5://alice:$SECRET@127.0.0.1:0" true
expect_refusal password_redacted_scheme "https://alice:***@h" \
    "$S" -x "https://alice:$SECRET@h" true
expect_refusal password_redacted_unresolvable "no-such-host.invalid" \
    "$S" -x "socks5://alice:$SECRET@no-such-host.invalid" true
expect_refusal bad_cidr_prefix "203.0.113.0/33" "$S" -x "$PROXY" --direct 203.0.113.0/33 true
expect_refusal bad_cidr_address "300.1.2.0/24" "$S" -x "$PROXY" --direct=300.1.2.0/24 true
expect_refusal bad_cidr_empty_item "203.0.113.0/24," "$S" -x "$PROXY" --direct '203.0.113.0/24,' true
expect_refusal bad_direct_suffix "a..b" "$S" -x "$PROXY" --direct a..b true
expect_refusal bad_dns_mode "'maybe'" "$S" -x "$PROXY" --dns maybe true
expect_refusal bad_dns_tcp "'dns.example'" "$S" -x "$PROXY" --dns-tcp dns.example true
expect_refusal bad_dns_tcp_port "1.2.3.4:0" "$S" -x "$PROXY" --dns-tcp=1.2.3.4:0 true
expect_refusal bad_udp "bad --udp value 'maybe'" "$S" -x "$PROXY" --udp maybe true
expect_refusal bad_udp_empty "bad --udp value ''" "$S" -x "$PROXY" --udp= true
expect_refusal udp_needs_value "option '--udp' needs a value" "$S" -x "$PROXY" --udp
expect_refusal bad_fake_net_small "bad --fake-net value '203.0.113.0/31'" \
    "$S" -x "$PROXY" --fake-net 203.0.113.0/31 true
expect_refusal bad_fake_net_family "bad --fake-net value 'fd00::/96'" \
    "$S" -x "$PROXY" --fake-net=fd00::/96 true
expect_refusal bad_fake_net_garbage "bad --fake-net value '240.0.0.0/x'" \
    "$S" -x "$PROXY" --fake-net 240.0.0.0/x true
expect_refusal bad_fake_net6_wide "bad --fake-net6 value 'fd00::/64'" \
    "$S" -x "$PROXY" --fake-net6 fd00::/64 true
expect_refusal bad_fake_net6_family "bad --fake-net6 value '203.0.113.0/24'" \
    "$S" -x "$PROXY" --fake-net6 203.0.113.0/24 true
expect_refusal bad_timeout_0 "'0'" "$S" -x "$PROXY" --timeout 0 true
expect_refusal bad_timeout_negative "'-1'" "$S" -x "$PROXY" --timeout -1 true
expect_refusal bad_timeout_abc "bad --timeout value 'abc': not a number" \
    "$S" -x "$PROXY" --timeout abc true
expect_refusal bad_timeout_equals "'abc'" "$S" -x "$PROXY" --timeout=abc true
expect_refusal bad_timeout_too_big "'3601'" "$S" -x "$PROXY" --timeout 3601 true
expect_refusal missing_password_file "$T/no-such-file" \
    "$S" -x socks5://alice@127.0.0.1 --password-file "$T/no-such-file" true
: >"$T/empty-password"
expect_refusal empty_password_file "$T/empty-password" \
    "$S" -x socks5://alice@127.0.0.1 --password-file "$T/empty-password" true
printf '%s\n' "$SECRET" >"$T/password"
expect_refusal password_file_without_user "--password-file" \
    "$S" -x "$PROXY" --password-file "$T/password" true
expect_refusal user_without_password "socks5://alice@127.0.0.1" \
    "$S" -x socks5://alice@127.0.0.1 true
expect_refusal unknown_long_option "--bogus" "$S" -x "$PROXY" --bogus true
expect_refusal unknown_short_option "-Z" "$S" -x "$PROXY" -Z true
expect_refusal unknown_option_hides_value "--proxi" \
    "$S" "--proxi=socks5://alice:$SECRET@127.0.0.1" true
expect_refusal option_without_value "--timeout" "$S" -x "$PROXY" --timeout
expect_refusal flag_with_value "--no-pipeline" "$S" -x "$PROXY" --no-pipeline=1 true
expect_refusal missing_program "no program" "$S" -x "$PROXY"
expect_refusal missing_program_after_dashes "no program" "$S" -x "$PROXY" --
expect_refusal no_proxy "no proxy given" "$S" true
expect_refusal all_proxy_http_ignored "no proxy given" env ALL_PROXY=http://127.0.0.1:3128 "$S" true
expect_refusal bad_env_proxy "SOCKSIFY_PROXY" \
    env "SOCKSIFY_PROXY=socks5://alice:$SECRET@127.0.0.1:0" "$S" true
expect_refusal bad_all_proxy "ALL_PROXY" env ALL_PROXY=socks5://127.0.0.1:0 "$S" true
expect_refusal bad_inherited_log "SOCKSIFY_LOG" env SOCKSIFY_LOG=loud "$S" -x "$PROXY" true
expect_refusal bad_inherited_udp "bad SOCKSIFY_UDP value 'maybe'" \
    env SOCKSIFY_UDP=maybe "$S" -x "$PROXY" true
expect_refusal bad_inherited_fake_net "bad SOCKSIFY_FAKE_NET value '203.0.113.0/31'" \
    env SOCKSIFY_FAKE_NET=203.0.113.0/31 "$S" -x "$PROXY" true
expect_refusal bad_inherited_fake_net6 "bad SOCKSIFY_FAKE_NET6 value 'fd00::/127'" \
    env SOCKSIFY_FAKE_NET6=fd00::/127 "$S" -x "$PROXY" true

# --- help and version -------------------------------------------------------------------

run "$S" --help
why=
[[ $RC -eq 0 ]] || why="exit $RC"
[[ -s $T/err ]] && why="stderr: $(cat "$T/err")"
for opt in -x --proxy --direct --dns --dns-tcp --fake-net --fake-net6 --udp --timeout \
    --no-pipeline --strict --password-file --allow --deny --default-deny --audit \
    --audit-summary --config --proxychains-conf -v --verbose -q --quiet -h --help --version; do
    grep -qE -- "(^|[ ,])$opt([ ,=]|$)" "$T/out" || why="${why:+$why; }help lacks $opt"
done
report help_lists_every_option "$why"

# The defaults a user would otherwise have to look up in the source.
why=
for text in "default port 1080" "(default 10," "(default 240.0.0.0/12)" \
    "(default fd53:4f43:4b53::/96)" "(default on)" "remote for socks5h, local for socks5" \
    "--udp on|off"; do
    grep -qF -- "$text" "$T/out" || why="${why:+$why; }help lacks '$text'"
done
report help_documents_defaults "$why"

run "$S" -h
if [[ $RC -eq 0 ]] && cmp -s "$T/out" <("$S" --help); then
    report short_help
else
    report short_help "exit $RC or output differs from --help"
fi

run "$S" --version
# The first line is the version; the lines after it are tests/integration/version.sh's.
if [[ $RC -eq 0 && $(head -n 1 "$T/out") =~ ^socksify\ [0-9]+\.[0-9]+\.[0-9]+$ && ! -s $T/err ]]; then
    report version
else
    report version "exit $RC, stdout '$(cat "$T/out")'"
fi

# --- running the program ------------------------------------------------------------------

run "$S" -x "$PROXY" no-such-program-socksify-test
if [[ $RC -eq 127 ]] && one_line "$T/err" && grep -qF "'no-such-program-socksify-test' not found" "$T/err"; then
    report program_not_found
else
    report program_not_found "exit $RC, stderr: $(cat "$T/err")"
fi

run "$S" -x "$PROXY" sh -c 'exit 3'
if [[ $RC -eq 3 ]]; then report exit_status_propagates; else report exit_status_propagates "exit $RC"; fi

run "$S" -x "$PROXY" true
if [[ $RC -eq 0 && ! -s $T/err ]]; then
    report exit_zero_silent
else
    report exit_zero_silent "exit $RC: $(cat "$T/err")"
fi

run "$S" -x "$PROXY" sh -c 'echo "$SOCKSIFY_SHM"; kill -TERM $$'
shm=$(head -n 1 "$T/out")
if [[ $RC -ne 143 ]]; then
    report killed_by_signal_propagates "exit $RC, want 143"
elif [[ -n $shm && -e $shm ]]; then
    report killed_by_signal_propagates "shared state file left behind: $shm"
else
    report killed_by_signal_propagates
fi

# env_has name line...: each line is present verbatim in $T/out.
env_has() {
    local name=$1 why=
    shift
    for line in "$@"; do
        grep -qxF -- "$line" "$T/out" || why="${why:+$why; }missing '$line'"
    done
    report "$name" "$why"
}

run "$S" -x "$PROXY" env
lib=$(sed -n 's/^LD_PRELOAD=//p' "$T/out")
shm=$(sed -n 's/^SOCKSIFY_SHM=//p' "$T/out")
env_has child_env_proxy "SOCKSIFY_PROXY=$PROXY"
if [[ $lib == /*/libsocksify.so && -f $lib ]]; then
    report child_env_ld_preload
else
    report child_env_ld_preload "LD_PRELOAD='$lib' (exit $RC: $(cat "$T/err"))"
fi
# <creator pid>:<fd>:<dev>:<inode>:<uid> of the inherited state (no path).
if [[ $shm =~ ^[0-9]+:[0-9]+:[0-9]+:[0-9]+:[0-9]+$ ]]; then
    report child_env_shm
else
    report child_env_shm "SOCKSIFY_SHM='$shm'"
fi
if grep -q '^SOCKSIFY_PASSWORD=' "$T/out"; then
    report child_env_no_password "SOCKSIFY_PASSWORD set without a user"
else
    report child_env_no_password
fi

run "$S" -x "$PROXY" --direct 203.0.113.0/24 --direct=fd00::/8,198.51.100.0/24 --timeout 2.5 \
    --no-pipeline -v env
env_has child_env_options "SOCKSIFY_DIRECT=127.0.0.0/8,::1/128,203.0.113.0/24,fd00::/8,198.51.100.0/24" \
    "SOCKSIFY_TIMEOUT=2.5" "SOCKSIFY_PIPELINE=0" "SOCKSIFY_LOG=verbose"

run "$S" -x "$PROXY" --direct corp.example --dns local --dns-tcp '[2001:db8::53]:5353' env
env_has dns_options_to_env "SOCKSIFY_DIRECT=127.0.0.0/8,::1/128,corp.example" \
    "SOCKSIFY_DNS=local" "SOCKSIFY_DNS_TCP=[2001:db8::53]:5353"

run "$S" -x "$PROXY" --udp off --fake-net 203.0.113.0/24 --fake-net6=fd00:1::/112 env
env_has udp_and_fake_nets_to_env "SOCKSIFY_UDP=off" "SOCKSIFY_FAKE_NET=203.0.113.0/24" \
    "SOCKSIFY_FAKE_NET6=fd00:1::/112"

run "$S" -x "$PROXY" --udp=ON env
env_has udp_on_to_env "SOCKSIFY_UDP=on"

run env SOCKSIFY_UDP=maybe "$S" -x "$PROXY" --udp 0 env
env_has udp_option_beats_environment "SOCKSIFY_UDP=off"

run env SOCKSIFY_UDP=off SOCKSIFY_FAKE_NET=198.51.100.0/24 "$S" -x "$PROXY" env
env_has udp_environment_kept "SOCKSIFY_UDP=off" "SOCKSIFY_FAKE_NET=198.51.100.0/24"

run "$S" -x "$PROXY" env
if grep -qE '^SOCKSIFY_(UDP|FAKE_NET6?|DNS|DNS_TCP)=' "$T/out"; then
    report defaults_leave_env_unset "$(grep -E '^SOCKSIFY_(UDP|FAKE_NET6?|DNS|DNS_TCP)=' "$T/out" | tr '\n' ' ')"
else
    report defaults_leave_env_unset
fi

run "$S" -x "$PROXY" --direct '' -q env
env_has direct_empty_proxies_loopback "SOCKSIFY_DIRECT=" "SOCKSIFY_LOG=quiet"

run "$S" -vqx "$PROXY" env
env_has short_options_cluster "SOCKSIFY_LOG=quiet" "SOCKSIFY_PROXY=$PROXY"

# ENV_AND_STATE: the program's environment, then "state:" and each printable run of
# the shared state's header (where the password travels instead of the environment).
ENV_AND_STATE='env; fd=${SOCKSIFY_SHM#*:}; head -c 4096 "/proc/self/fd/${fd%%:*}" |
    tr -c "[:print:]" "\n" | sed -n "s/^./state:&/p"'
# password_in_state NAME PASSWORD: it is in the state, not in the environment.
password_in_state() {
    local why=
    grep -qxF -- "state:$2" "$T/out" || why="not in the shared state"
    grep -q '^SOCKSIFY_PASSWORD=' "$T/out" && why="${why:+$why; }SOCKSIFY_PASSWORD in the environment"
    grep -v '^state:' "$T/out" | grep -qF -- "$2" && why="${why:+$why; }password in the environment"
    report "$1" "$why"
}

run "$S" -x socks5://alice@127.0.0.1:1080 --password-file "$T/password" sh -c "$ENV_AND_STATE"
password_in_state password_file_to_state "$SECRET"
env_has password_file_user_in_url "SOCKSIFY_PROXY=socks5://alice@127.0.0.1:1080"
if grep '^SOCKSIFY_PROXY=' "$T/out" | grep -qF "$SECRET"; then
    report password_not_in_proxy_url "SOCKSIFY_PROXY carries the password"
else
    report password_not_in_proxy_url
fi

run "$S" -x 'socks5h://al%3Ace:p%40ss@127.0.0.1' sh -c "$ENV_AND_STATE"
password_in_state url_password_moves_to_state "p@ss"
env_has url_user_kept "SOCKSIFY_PROXY=socks5h://al%3Ace@127.0.0.1:1080"

run env "SOCKSIFY_PASSWORD=$SECRET" "$S" -x socks5://alice@127.0.0.1 sh -c "$ENV_AND_STATE"
password_in_state password_from_environment_to_state "$SECRET"

run env "SOCKSIFY_PASSWORD=$SECRET" "$S" -x "$PROXY" sh -c "$ENV_AND_STATE"
if [[ $RC -ne 0 ]] || grep -qF -- "$SECRET" "$T/out"; then
    report password_without_user_dropped "exit $RC: $(cat "$T/err")"
else
    report password_without_user_dropped
fi

run "$S" -x localhost:1080 env
if grep -qxE 'SOCKSIFY_PROXY=socks5h://(127\.0\.0\.1|\[::1\]):1080' "$T/out"; then
    report proxy_name_resolved_once
else
    report proxy_name_resolved_once "$(grep '^SOCKSIFY_PROXY' "$T/out") exit $RC $(cat "$T/err")"
fi

run env SOCKSIFY_PROXY=socks5://127.0.0.1:1081 "$S" env
env_has proxy_from_socksify_proxy "SOCKSIFY_PROXY=socks5://127.0.0.1:1081"

run env ALL_PROXY=socks5h://127.0.0.1:1082 "$S" env
env_has proxy_from_all_proxy "SOCKSIFY_PROXY=socks5h://127.0.0.1:1082"

run env SOCKSIFY_PROXY=socks5://127.0.0.1:1081 "$S" -x "$PROXY" env
env_has option_beats_environment "SOCKSIFY_PROXY=$PROXY"

run env LD_PRELOAD=libc.so.6 "$S" -x "$PROXY" env
if grep -qxE 'LD_PRELOAD=/[^ :]*/libsocksify\.so:libc\.so\.6' "$T/out"; then
    report ld_preload_prepended
else
    report ld_preload_prepended "$(grep '^LD_PRELOAD' "$T/out")"
fi

run "$S" -x "$PROXY" -- sh -c 'echo "$1"' sh -x
env_has dashes_end_options "-x"

run "$S" -x "$PROXY" sh -c 'fd=${SOCKSIFY_SHM#*:}; stat -L -c "%a %s %F" "/proc/self/fd/${fd%%:*}"'
read -r mode size kind < <(sed -n 1p "$T/out")
# Header page plus the fake-DNS table (tens of MB, sparse): a regular file of the user's.
if [[ $RC -ne 0 || $mode != 600 || ! $size =~ ^[0-9]+$ || $size -le 4096 || $kind != regular* ]]; then
    report shm_inherited_during_run "exit $RC, stat '$(sed -n 1p "$T/out")' $(cat "$T/err")"
else
    report shm_inherited_during_run
fi

sh -c 'exit 0' &
dead=$!
wait "$dead"
stale=/dev/shm/socksify-$dead-0123456789abcdef
live=/dev/shm/socksify-$$-0123456789abcdef
: >"$stale"
: >"$live"
run "$S" -x "$PROXY" true
if [[ -e $stale ]]; then
    report stale_shm_removed "$stale still exists"
elif [[ ! -e $live ]]; then
    report stale_shm_removed "removed $live of a live process"
else
    report stale_shm_removed
fi
rm -f "$stale" "$live"

# --udp off: a datagram to a proxied destination fails with EACCES before any proxy is
# asked; --udp on asks the proxy (none listens on a just-freed port: ECONNREFUSED).
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3 || true)
if [[ -z $PY ]]; then
    printf 'SKIP udp_off_refuses_send: python3 not installed\n'
    printf 'SKIP udp_off_from_environment: python3 not installed\n'
    printf 'SKIP udp_on_asks_the_proxy: python3 not installed\n'
    printf 'SKIP fake_nets_used_by_lookups: python3 not installed\n'
else
    udp_send='import errno, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(b"x", ("192.0.2.1", 9))
    print("sent")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))'
    free_port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    run "$S" -x "socks5://127.0.0.1:$free_port" --timeout 5 --udp off "$PY" -c "$udp_send"
    if [[ $RC -eq 0 && $(cat "$T/out") == EACCES ]]; then
        report udp_off_refuses_send
    else
        report udp_off_refuses_send "exit $RC, got '$(cat "$T/out")': $(cat "$T/err")"
    fi
    run env SOCKSIFY_UDP=off "$S" -x "socks5://127.0.0.1:$free_port" --timeout 5 "$PY" -c "$udp_send"
    if [[ $RC -eq 0 && $(cat "$T/out") == EACCES ]]; then
        report udp_off_from_environment
    else
        report udp_off_from_environment "exit $RC, got '$(cat "$T/out")': $(cat "$T/err")"
    fi
    run "$S" -x "socks5://127.0.0.1:$free_port" --timeout 5 --udp on "$PY" -c "$udp_send"
    if [[ $RC -eq 0 && $(cat "$T/out") == ECONNREFUSED ]]; then
        report udp_on_asks_the_proxy
    else
        report udp_on_asks_the_proxy "exit $RC, got '$(cat "$T/out")': $(cat "$T/err")"
    fi

    # The fake ranges reach the library: the first name is host 1 of each range. A
    # lookup under remote DNS asks no nameserver, so this needs no network.
    lookup='import socket
for fam in (socket.AF_INET, socket.AF_INET6):
    print(socket.getaddrinfo("web.socksify-test.example", 80, fam, socket.SOCK_STREAM)[0][4][0])'
    run "$S" -x "socks5h://127.0.0.1:$free_port" --fake-net 203.0.113.0/24 \
        --fake-net6 fd00:1:2::/112 "$PY" -c "$lookup"
    if [[ $RC -eq 0 && $(tr '\n' ' ' <"$T/out") == "203.0.113.1 fd00:1:2::1 " ]]; then
        report fake_nets_used_by_lookups
    else
        report fake_nets_used_by_lookups "exit $RC, got '$(tr '\n' ' ' <"$T/out")': $(cat "$T/err")"
    fi
fi

# --- configuration files against the environment -------------------------------------

# env_has NAME LINE...: every LINE is a whole line of the last run's stdout (an `env`).
env_has() {
    local name=$1 why=
    shift
    [[ $RC -eq 0 ]] || why="exit $RC: $(cat "$T/err")"
    for line in "$@"; do
        [[ -n $why ]] || grep -qxF -- "$line" "$T/out" || why="no '$line' in the environment"
    done
    report "$name" "$why"
}

# A file's booleans win over inherited variables both ways; strict only ever turns on.
printf 'pipeline = yes\ndefault-deny = no\nstrict = no\n' >"$T/bools.conf"
run env SOCKSIFY_PIPELINE=0 SOCKSIFY_DEFAULT_DENY=1 SOCKSIFY_STRICT=1 \
    "$S" --config "$T/bools.conf" -x socks5h://127.0.0.1:1080 -- env
env_has config_booleans_override_environment SOCKSIFY_PIPELINE=1 SOCKSIFY_DEFAULT_DENY=0 \
    SOCKSIFY_STRICT=1
printf 'pipeline = no\ndefault-deny = yes\nstrict = yes\n' >"$T/bools2.conf"
run "$S" --config "$T/bools2.conf" -x socks5h://127.0.0.1:1080 -- env
env_has config_booleans_turn_on SOCKSIFY_PIPELINE=0 SOCKSIFY_DEFAULT_DENY=1 SOCKSIFY_STRICT=1

# An inherited SOCKSIFY_AUDIT is made absolute and checked before the program runs.
(cd "$T" && SOCKSIFY_AUDIT=rel.log "$S" -x "$PROXY" -- env >"$T/out" 2>"$T/err")
RC=$?
env_has inherited_audit_made_absolute "SOCKSIFY_AUDIT=$T/rel.log"
expect_refusal inherited_audit_checked "cannot open audit log '/nonexistent-dir/a.log'" \
    env SOCKSIFY_AUDIT=/nonexistent-dir/a.log "$S" -x "$PROXY" -- true

# -x's scheme decides the DNS mode even when a proxychains.conf without proxy_dns is read.
printf '[ProxyList]\nsocks5 127.0.0.1 1080\n' >"$T/pc.conf"
run "$S" -x socks5h://127.0.0.1:1080 --proxychains-conf "$T/pc.conf" -- env
if [[ $RC -eq 0 ]] && ! grep -qx "SOCKSIFY_DNS=local" "$T/out"; then
    report proxychains_dns_follows_its_own_proxy_only
else
    report proxychains_dns_follows_its_own_proxy_only "exit $RC: $(grep SOCKSIFY_DNS "$T/out")"
fi
run "$S" --proxychains-conf "$T/pc.conf" -- env
env_has proxychains_without_proxy_dns_is_local_dns SOCKSIFY_DNS=local

# A bad rule in a file reads like the option's error, with the file and line.
printf '# rules\nallow 300.1.2.3\n' >"$T/badrule.conf"
expect_refusal config_bad_rule_like_the_option \
    "$T/badrule.conf:2: bad allow value '300.1.2.3': bad address" \
    "$S" --config "$T/badrule.conf" -x "$PROXY" -- true

# SIGTERM to the launcher alone reaches the program, whose exit status comes back.
"$S" -x "$PROXY" sh -c 'trap "kill \$!; exit 7" TERM; sleep 20 & : >"$1"; wait' sh "$T/ready" \
    >/dev/null 2>&1 &
launcher=$!
for _ in $(seq 100); do [[ -e $T/ready ]] && break; sleep 0.05; done
kill -TERM "$launcher" 2>/dev/null
wait "$launcher"
RC=$?
if [[ $RC -eq 7 ]]; then report sigterm_forwarded; else report sigterm_forwarded "exit $RC, want 7"; fi

exit 0
