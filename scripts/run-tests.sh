#!/usr/bin/env bash
# Runs every test `make test` has built — unit tests, fuzz-corpus replays, the library's
# exported symbols and dependencies, then the integration scripts inside the test world —
# and ends with one line: "N passed, N failed, N skipped". Exits non-zero on a failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
LIB=build/lib/libsocksify.so
MAP=shim/hooks/libsocksify.map
UNIT=build/tests/unit_tests
LOGDIR=build/test-logs

passed=0
failed=0
skipped=0
pass() {
    echo "PASS $1"
    passed=$((passed + 1))
}
fail() {
    echo "FAIL $1: $2"
    failed=$((failed + 1))
}
skip() {
    echo "SKIP $1: $2"
    skipped=$((skipped + 1))
}

rm -rf "$LOGDIR"
mkdir -p "$LOGDIR"

# --- Unit tests (GoogleTest): counted test by test ----------------------------------

run_unit() {
    if [[ ! -x $UNIT ]]; then
        fail unit_tests "$UNIT not built"
        return
    fi
    local rc=0 out=$LOGDIR/unit_tests.log ran p s f
    timeout -k 5 600 "$UNIT" --gtest_brief=1 >"$out" 2>&1 || rc=$?
    # --gtest_brief prints only failures and the summary: "[==========] N tests from M
    # test suites ran.", "[  PASSED  ] N tests.", "[  SKIPPED ] N tests."; the rest failed.
    grep -v '^\[==========\]\|^Running main()' "$out" || true
    ran=$(sed -n 's/^\[==========\] \([0-9]*\) tests\? from .* ran\..*/\1/p' "$out" | tail -n 1)
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\?\..*/\1/p' "$out" | tail -n 1)
    s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) tests\?[.,].*/\1/p' "$out" | tail -n 1)
    f=$((${ran:-0} - ${p:-0} - ${s:-0}))
    passed=$((passed + ${p:-0}))
    failed=$((failed + f))
    skipped=$((skipped + ${s:-0}))
    echo "unit_tests: ${p:-0} ok, $f not ok, ${s:-0} skipped (log: $out)"
    if ((rc != 0 && f == 0)); then
        fail unit_tests "exited with status $rc without a failed test (crash or timeout)"
    fi
}

# --- Fuzz corpora replayed through the plain-main build of each target -------------

run_replays() {
    local bin name corpus rc
    for bin in build/tests/replay_fuzz_*; do
        [[ -x $bin ]] || continue
        name=${bin#build/tests/replay_}
        corpus=tests/fuzz/corpus/$name
        if [[ ! -d $corpus ]]; then
            fail "replay/$name" "no corpus directory $corpus"
            continue
        fi
        rc=0
        timeout -k 5 300 "$bin" "$corpus" >"$LOGDIR/replay_$name.log" 2>&1 || rc=$?
        if ((rc == 0)); then
            pass "replay/$name"
        else
            fail "replay/$name" "exit status $rc: $(tail -n 3 "$LOGDIR/replay_$name.log" | tr '\n' ' ')"
        fi
    done
}

# --- The shared object: only the hooks exported, only libc needed ------------------

run_library_checks() {
    if [[ ! -f $LIB ]]; then
        fail library/exported-symbols "$LIB not built"
        fail library/dependencies "$LIB not built"
        return
    fi
    local want have extra missing deps
    # Names in the version script's global: section (comments and ';' stripped).
    want=$(sed -e 's:/\*.*\*/::g' -e 's/#.*//' "$MAP" |
        awk '/global:/ {on = 1; sub(/.*global:/, "")} /local:/ {on = 0} on' |
        tr -s ' \t;{}' '\n' | grep -E '^[A-Za-z_][A-Za-z0-9_]*$' | sort -u)
    have=$(nm -D --defined-only "$LIB" | awk '{print $NF}' | sed 's/@.*//' | sort -u)
    extra=$(comm -13 <(echo "$want") <(echo "$have") | tr '\n' ' ')
    missing=$(comm -23 <(echo "$want") <(echo "$have") | tr '\n' ' ')
    if [[ -n $want && -z $extra && -z $missing ]]; then
        pass library/exported-symbols
    else
        fail library/exported-symbols "exported but not in $MAP: [${extra% }]; in $MAP but not exported: [${missing% }]"
    fi

    deps=$(ldd "$LIB" | awk '{print $1}' | grep -vE '^(linux-vdso\.so\.[0-9]+|libc\.so\.6|(/.*/)?ld-linux[-a-z0-9_.]*\.so\.[0-9]+)$' |
        tr '\n' ' ' || true)
    if [[ -z $deps ]]; then
        pass library/dependencies
    else
        fail library/dependencies "needs more than libc: ${deps% }"
    fi
}

# --- Integration scripts inside the test world --------------------------------------

world_started=0
stop_world() {
    if ((world_started)); then
        scripts/world.sh stop >/dev/null 2>&1 || true
        world_started=0
    fi
}
trap stop_world EXIT
trap 'exit 130' INT TERM

run_integration() {
    local why="" script name log rc np nf ns
    if ((EUID != 0)); then
        why="not root (the test world needs network namespaces)"
    elif ! unshare --net true 2>/dev/null; then
        why="network namespaces unavailable here"
    fi
    if [[ -z $why ]]; then
        if scripts/world.sh start >"$LOGDIR/world-start.log" 2>&1; then
            world_started=1
        else
            fail world/start "$(tail -n 3 "$LOGDIR/world-start.log" | tr '\n' ' ')"
            why="the test world did not start"
        fi
    fi

    for script in tests/integration/*.sh; do
        name=$(basename "$script" .sh)
        [[ $name == lib ]] && continue
        log=$LOGDIR/integration_$name.log
        rc=0
        SFY_WORLD_SKIP=$why timeout -k 10 900 bash "$script" </dev/null 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
        np=$(grep -c '^PASS ' "$log" || true)
        nf=$(grep -c '^FAIL ' "$log" || true)
        ns=$(grep -c '^SKIP ' "$log" || true)
        passed=$((passed + np))
        failed=$((failed + nf))
        skipped=$((skipped + ns))
        if ((rc == 124 || rc == 137)); then
            fail "$name" "timed out after $((np + nf + ns)) results"
        elif ((rc != 0 && nf == 0)); then
            fail "$name" "exited with status $rc after $((np + nf + ns)) results (log: $log)"
        fi
    done
    stop_world
}

run_unit
run_replays
run_library_checks
run_integration

echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
