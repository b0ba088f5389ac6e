#!/usr/bin/env bash
# Issue 11, class 3: the configuration is the one the launcher set. A program that
# changes any SOCKSIFY_* variable the library reads before its first network call —
# setenv, putenv, an edit of environ (pointer or bytes), unsetenv, clearenv, Python's
# os.environ and ctypes setenv — still gets what the launcher set: strict mode, the
# policy, the direct list, UDP off, its fake ranges, its shared table, its audit log,
# its proxy and log level. Each (method, variable) is one run compared with the
# unchanged run; the unchanged run itself must show every setting at work. Python
# (slow to start) walks the variables with os.environ, and flips all of them at once
# with ctypes setenv, os.environ.pop and os.environ.clear. A library preloaded after
# socksify's, whose constructor runs first, flips them too (setenv, unsetenv, clearenv).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher
ensure_scratch
PROBE_C=$SFY_ROOT/build/tests/env_flip
PROBE_PY=$PROGRAMS/env_flip.py
if [[ ! -x $PROBE_C ]]; then
    fail all "$PROBE_C not built (make build/tests/env_flip)"
    finish
fi

AUDIT=$SFY_TMP/audit.jsonl
LAUNCH=("${SFY[@]}" --strict --direct '' --udp off -q --audit "$AUDIT" --timeout 3
    --fake-net 240.0.128.0/17 --fake-net6 fd53:4f43:4b53:1::/96 --default-deny
    --allow '*.socks.test' --allow "$SFY_DEST4:$SFY_PORT_ECHO" --allow 127.0.0.1
    -x "socks5h://$SFY_PROXY4:$SFY_PORT_DANTE" --)

# Every variable the library reads (shim/settings/config.hpp), with a value that would change
# what the probe sees if the library took it. "@" values are paths made per run.
# shellcheck disable=SC2054  # the commas are inside values
declare -A VALUE=(
    [SOCKSIFY_PROXY]=socks5h://127.0.0.1:1
    [SOCKSIFY_PASSWORD]=wrong
    [SOCKSIFY_DIRECT]=0.0.0.0/0,::/0
    [SOCKSIFY_TIMEOUT]=nonsense
    [SOCKSIFY_PIPELINE]=nonsense
    [SOCKSIFY_LOG]=verbose
    [SOCKSIFY_SHM]=@copy
    [SOCKSIFY_DNS]=off
    [SOCKSIFY_FAKE_NET]=240.1.0.0/16
    [SOCKSIFY_FAKE_NET6]=fd53:4f43:4b53:2::/96
    [SOCKSIFY_FAKE_MIN_AGE]=nonsense
    [SOCKSIFY_STRICT]=0
    [SOCKSIFY_SUPERVISED]=0
    [SOCKSIFY_UDP]=on
    [SOCKSIFY_DNS_TCP]=nonsense
    [SOCKSIFY_POLICY]='allow:*'
    [SOCKSIFY_DEFAULT_DENY]=0
    [SOCKSIFY_AUDIT]=%other-audit
    [SOCKSIFY_CHAIN]=socks5h://127.0.0.1:1,socks5h://127.0.0.1:2
    [SOCKSIFY_CHAIN_LEN]=nonsense
    [SOCKSIFY_ROUTES]='*=direct'
)
# The walk covers what the library reads: a variable added to the library and not here
# fails this check.
readarray -t READ < <(grep -oE 'kEnv[A-Za-z0-9]+ = "SOCKSIFY_[A-Z0-9_]+"' "$SFY_ROOT/shim/settings/config.hpp" |
    sed -E 's/.*"(SOCKSIFY_[A-Z0-9_]+)"/\1/' | grep -vx SOCKSIFY_CONFIG)
missing=""
for v in "${READ[@]}"; do [[ -n ${VALUE[$v]:-} ]] || missing+=" $v"; done
if [[ -z $missing && ${#READ[@]} -ge ${#VALUE[@]} ]]; then
    pass walk-covers-every-variable
else
    fail walk-covers-every-variable "variables read by the library but not flipped here:$missing"
fi

# value NAME VAR: VAR's value for run NAME ("@x": a copy of the table at a path of
# its own, "%x": a path of its own).
value() {
    local v=${VALUE[$2]}
    case $v in
        @*) printf '@%s' "$SFY_TMP/${v#@}.$1" ;;
        %*) printf '%s' "$SFY_TMP/${v#%}.$1" ;;
        *) printf '%s' "$v" ;;
    esac
}

# probe NAME PROGRAM METHOD [VAR...]: one run (the C probe takes one VAR); LINE gets
# its observations, or "".
LINE=""
probe() {
    local name=$1 prog=$2 method=$3 var
    shift 3
    local args=()
    if [[ $prog == py ]]; then
        for var in "$@"; do args+=("$var=$(value "$name" "$var")"); done
        run 60 "${LAUNCH[@]}" "$PY" "$PROBE_PY" "$method" "${args[@]}"
    else
        run 30 "${LAUNCH[@]}" "$PROBE_C" "$method" "${1:--}" "$(value "$name" "${1:-SOCKSIFY_PROXY}")"
    fi
    LINE=""
    ((RC == 0)) || return 0
    LINE=$OUT
}

# The unchanged run shows every setting at work, or the comparisons prove nothing.
probe baseline c none
BASE=$LINE
# (--strict: the names are in the supervisor's own table, not the job's shared one.)
want='^table=no a=240\.0\.(1(2[89]|[3-9][0-9])|2[0-5][0-9])\.[0-9]+ aaaa=fd53:4f43:4b53:1::[0-9a-f:]+ name=ok ip=ok deny=EACCES raw=EACCES udp=EACCES loop=E[A-Z]+$'
if [[ $BASE =~ $want && -z $ERR ]] && grep -q '"reason":"policy"' "$AUDIT" 2>/dev/null; then
    pass baseline-shows-every-setting
else
    fail baseline-shows-every-setting "$(why "expected /$want/, quiet stderr and a policy record")"
    finish
fi
# Unsetting matters for the variables the launcher set.
run 10 "${LAUNCH[@]}" env
declare -A SET=()
while read -r v; do SET[$v]=1; done < <(grep -oE '^SOCKSIFY_[A-Z0-9_]+' <<<"$OUT")

# check NAME: the run saw what the unchanged run saw, logged nothing (--quiet), and its
# records reached the launcher's audit log.
check() {
    local name=$1 pid_records
    pid_records=$(grep -c '"reason":"policy"' "$AUDIT" 2>/dev/null || true)
    if [[ -z $LINE ]]; then
        fail "$name" "$(why "probe did not finish")"
    elif [[ $LINE != "$BASE" ]]; then
        fail "$name" "$(why "saw '$LINE', launcher's settings give '$BASE'")"
    elif [[ -n $ERR ]]; then
        fail "$name" "$(why "logged under --quiet")"
    elif ((pid_records <= LAST_RECORDS)); then
        fail "$name" "$(why "no policy record in the launcher's audit log")"
    else
        pass "$name"
    fi
    LAST_RECORDS=$pid_records
}
LAST_RECORDS=$(grep -c '"reason":"policy"' "$AUDIT" || true)

for var in "${READ[@]}"; do
    short=${var#SOCKSIFY_}
    short=${short,,}
    methods=(setenv putenv environ inplace)
    [[ -n ${SET[$var]:-} ]] && methods+=(unsetenv)
    for method in "${methods[@]}"; do
        probe "$method-$short" c "$method" "$var"
        check "c-$method-$short"
    done
    probe "os.environ-$short" py os.environ "$var"
    check "py-os.environ-$short"
done
probe clearenv c clearenv
check c-clearenv
for method in ctypes.setenv os.environ.pop os.environ.clear; do
    probe "$method-all" py "$method" "${READ[@]}"
    check "py-$method-all"
done

# A constructor that runs before the library's: the env_flip probe built as a library
# and preloaded after socksify's (the launcher's LD_PRELOAD is kept when it is named).
FLIP_LIB=$SFY_TMP/libenv_flip.so
if gcc -O2 -shared -fPIC -DFLIP_CONSTRUCTOR -o "$FLIP_LIB" "$PROGRAMS/env_flip.c"; then
    run 10 "${LAUNCH[@]}" printenv LD_PRELOAD
    PRELOAD=$OUT
    ctor() {
        local name=ctor-$1-$2 value
        value=$(value "$name" "${3:-SOCKSIFY_PROXY}")
        run 30 "${LAUNCH[@]}" env LD_PRELOAD="$PRELOAD:$FLIP_LIB" ENV_FLIP_METHOD="$1" \
            ENV_FLIP_VAR="${3:--}" ENV_FLIP_VALUE="${value#@}" "$PROBE_C" none -
        LINE=""
        ((RC == 0)) && LINE=$OUT
        check "$name"
    }
    for var in "${READ[@]}"; do
        short=${var#SOCKSIFY_}
        ctor setenv "${short,,}" "$var"
        [[ -n ${SET[$var]:-} ]] && ctor unsetenv "${short,,}" "$var"
    done
    ctor clearenv all
else
    fail ctor-flips "gcc could not build the constructor library"
fi
if ls "$SFY_TMP"/other-audit.* >/dev/null 2>&1; then
    fail audit-elsewhere-never-written "$(ls "$SFY_TMP"/other-audit.*)"
else
    pass audit-elsewhere-never-written
fi
finish
