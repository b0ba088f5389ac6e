#!/usr/bin/env bash
# Bash completion (scripts/socksify-completion.bash) through bash's own machinery: a
# clean bash sources bash-completion and the file, takes the function `complete -p
# socksify` names, sets COMP_WORDS/COMP_CWORD/COMP_LINE/COMP_POINT as readline would
# and reads COMPREPLY. Checked against socksify --help: the same options, the same
# arity (an option with a value never lets the program be completed in its place), the
# same fixed values; files where the help says FILE; the program and its own completion
# after the options or `--`. Needs no test world and no root.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_launcher
ensure_scratch

COMPLETION=${SOCKSIFY_COMPLETION:-$SFY_ROOT/scripts/socksify-completion.bash}
BASH_COMPLETION=/usr/share/bash-completion/bash_completion
if [[ ! -f $BASH_COMPLETION ]]; then
    skip all "bash-completion is not installed ($BASH_COMPLETION)"
    finish
fi

# A directory with known files: FILE options must offer them, others must not.
DIR=$SFY_TMP/cwd
mkdir -p "$DIR/sub"
touch "$DIR/a.conf" "$DIR/b.txt" "$DIR/sub/c.conf"

# comp WORD...: the candidates for the command line "socksify WORD..." with the cursor
# at the end of the last word (give '' to complete a new word), sorted, space-separated,
# in CANDS. A word holding '=' is split there, as readline's COMP_WORDBREAKS does.
# shellcheck disable=SC2016  # the single-quoted script is the child bash's
comp() {
    local out rc=0
    out=$(cd "$DIR" && timeout -k 2 20 bash --norc --noprofile -c '
        source "$1" >/dev/null 2>&1 || { echo "NO-BASH-COMPLETION"; exit 0; }
        source "$2" || { echo "NO-SOURCE"; exit 0; }
        spec=$(complete -p socksify 2>/dev/null) || { echo "NO-SPEC"; exit 0; }
        [[ $spec =~ -F\ ([^ ]+) ]] || { echo "NO-FUNCTION: $spec"; exit 0; }
        fn=${BASH_REMATCH[1]}
        shift 2
        COMP_WORDS=(socksify)
        for w in "$@"; do
            if [[ $w == *=* ]]; then
                COMP_WORDS+=("${w%%=*}" "=" "${w#*=}")
            else
                COMP_WORDS+=("$w")
            fi
        done
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMP_LINE="socksify $*"
        COMP_POINT=${#COMP_LINE}
        COMPREPLY=()
        "$fn" socksify "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
        printf "%s\n" "${COMPREPLY[@]}"
    ' comp "$BASH_COMPLETION" "$COMPLETION" "$@" 2>"$SFY_TMP/comp.err") || rc=$?
    CANDS=$(printf '%s\n' "$out" | sed 's/ *$//' | { grep -v '^$' || true; } | sort -u | tr '\n' ' ')
    CANDS=${CANDS% }
    ((rc == 0)) || CANDS="(exit $rc: $(oneline "$(cat "$SFY_TMP/comp.err")"))"
}

# expect NAME "WANT" WORD...: the candidates are exactly WANT (sorted, space-separated).
expect() {
    local name=$1 want=$2
    shift 2
    comp "$@"
    if [[ $CANDS == "$want" ]]; then
        pass "$name"
    else
        fail "$name" "for 'socksify $*': got '$CANDS', want '$want'"
    fi
}

# has NAME "WANT..." WORD...: the candidates include every one of WANT.
has() {
    local name=$1 want=$2 w missing=
    shift 2
    comp "$@"
    for w in $want; do
        [[ " $CANDS " == *" $w "* ]] || missing+=" $w"
    done
    if [[ -z $missing ]]; then
        pass "$name"
    else
        fail "$name" "for 'socksify $*': lacks$missing; got '$(oneline "${CANDS:0:200}")'"
    fi
}

# --- the options, their arity and values, as --help states them ---------------------

run 10 "$SOCKSIFY" --help
HELP=$OUT
declare -A METAVAR=()  # option -> its metavar ('' for a flag)
declare -A DESC=()     # long option -> its description (the lines up to the next option)
declare -A LONG=()     # option -> its long form
help_opts=()
last=
while IFS= read -r l; do
    if [[ $l =~ ^\ +(-[a-z],\ )?(--[a-z0-9-]+)(\ ([^ ]+))?(\ {2,}(.*)|$) ]]; then
        long=${BASH_REMATCH[2]}
        short=${BASH_REMATCH[1]%, }
        METAVAR[$long]=${BASH_REMATCH[4]}
        DESC[$long]=${BASH_REMATCH[6]}
        help_opts+=("$long")
        LONG[$long]=$long
        if [[ -n $short ]]; then
            METAVAR[$short]=${METAVAR[$long]}
            LONG[$short]=$long
            help_opts+=("$short")
        fi
        last=$long
    elif [[ -n $last && $l =~ ^\ {10,}(.*) ]]; then
        DESC[$last]+=" ${BASH_REMATCH[1]}"
    else
        last=
    fi
done <<<"$HELP"
HELP_OPTS=$(printf '%s\n' "${help_opts[@]}" | sort -u | tr '\n' ' ')
HELP_OPTS=${HELP_OPTS% }
if ((${#help_opts[@]} >= 20)); then
    pass help-parsed
else
    fail help-parsed "only ${#help_opts[@]} options read from --help: $HELP_OPTS"
fi

# Every option of --help is offered after '-', and nothing else.
expect options-match-help "$HELP_OPTS" -

# Arity: after an option that takes a value, the next word is that value, never the
# program (whose completion would offer the command 'bash'); after a flag it is.
why=
for opt in "${help_opts[@]}"; do
    comp "$opt" ba
    if [[ -n ${METAVAR[$opt]} && " $CANDS " == *" bash "* ]]; then
        why+=" $opt(takes ${METAVAR[$opt]}, completed as a program)"
    elif [[ -z ${METAVAR[$opt]} && " $CANDS " != *" bash "* ]]; then
        why+=" $opt(a flag, program not completed after it: '$CANDS')"
    fi
done
if [[ -z $why ]]; then pass arity-matches-help; else fail arity-matches-help "$why"; fi

# Fixed values: a metavar like on|off lists them; MODE names them in its description
# as "value:" (--dns: "remote: ...; local: ...; off: ..."); the proxy URL's schemes are
# its [a|b]:// part. Each set offered must be exactly the help's.
why=
nvalues=0
for opt in "${help_opts[@]}"; do
    mv=${METAVAR[$opt]}
    desc=${DESC[${LONG[$opt]}]}
    want=
    if [[ $mv == *"|"* ]]; then
        want=$(tr '|' '\n' <<<"$mv" | sort -u | tr '\n' ' ')
    elif [[ $mv == MODE ]]; then
        want=$(grep -oE '(^| )[a-z]+:' <<<"$desc" | tr -d ' :' | grep -vx default |
            sort -u | tr '\n' ' ')
    elif [[ $mv == URL && $desc =~ \[([a-z0-9|]+)\]:// ]]; then
        want=$(tr '|' '\n' <<<"${BASH_REMATCH[1]}" | sed 's|$|://|' | sort -u | tr '\n' ' ')
    fi
    [[ -z $want ]] && continue
    want=${want% }
    nvalues=$((nvalues + 1))
    comp "$opt" ''
    [[ $CANDS == "$want" ]] || why+=" $opt: offered '$CANDS', help says '$want';"
done
if ((nvalues >= 4)) && [[ -z $why ]]; then
    pass values-match-help
else
    fail values-match-help "${why:-only $nvalues options with fixed values found in --help}"
fi

# The offered values are ones the launcher takes (it checks a value as it reads it:
# --version after it exits 0 only when the value was good).
why=
for opt in --udp --dns; do
    comp "$opt" ''
    for v in $CANDS; do
        run 10 "$SOCKSIFY" "$opt" "$v" --version
        ((RC == 0)) || why+=" $opt $v refused: $(oneline "$ERR");"
    done
done
if [[ -z $why ]]; then pass values-accepted-by-launcher; else fail values-accepted-by-launcher "$why"; fi

# FILE options offer the files and directories here, and complete a prefix.
why=
for opt in "${help_opts[@]}"; do
    [[ ${METAVAR[$opt]} == FILE ]] || continue
    comp "$opt" ''
    [[ $CANDS == "a.conf b.txt sub" ]] || why+=" $opt '': '$CANDS';"
done
if [[ -z $why ]]; then pass files-after-file-options; else fail files-after-file-options "$why"; fi

# --- a few prefixes and values, as a user types them ------------------------------

expect prefix-double-dash-u "--udp" --u
expect prefix-double-dash-de "--default-deny --deny" --de
expect prefix-double-dash-audit "--audit --audit-summary" --aud
expect prefix-fake "--fake-min-age --fake-net --fake-net6" --fake
expect prefix-after-value "--dns --dns-tcp" -x socks5h://198.51.100.1 --dn
expect udp-values "off on" --udp ''
expect udp-value-prefix "off" --udp of
expect udp-value-after-equals "off" --udp=of
expect dns-value-after-equals "local" --dns=l
expect dns-values "local off remote" --dns ''
expect dns-value-prefix "remote" -v --dns r
expect proxy-schemes "http:// raw:// socks4:// socks4a:// socks5:// socks5h://" -x ''
expect proxy-schemes-cluster "socks5h://" -vx socks5h
expect config-file-prefix "a.conf" --config a
expect config-file-in-dir "sub/c.conf" --config sub/
expect config-file-after-equals "a.conf" --config=a
expect audit-file "a.conf b.txt sub" --audit ''
expect proxychains-conf-file "b.txt" --proxychains-conf b
expect no-values-for-free-text "" --timeout ''

# --- the program and its own completion --------------------------------------------

has command-after-double-dash "curl" -x socks5h://198.51.100.1 -- cur
has command-as-first-non-option "curl" --udp off cur
# Options after the program are the program's: socksify's are not offered there.
comp -- curl --u
if [[ " $CANDS " != *" --udp "* ]]; then
    pass program-options-not-socksify
else
    fail program-options-not-socksify "'socksify -- curl --u' offered socksify's --udp: '$CANDS'"
fi
# The program's own completion: curl's (bash-completion loads it on demand) knows
# --version and --verbose; ls's (bash-completion's --help parser) knows --almost-all.
if [[ -f /usr/share/bash-completion/completions/curl ]]; then
    has program-own-completion-curl "--verbose --version" -x socks5h://198.51.100.1 -- curl --ver
else
    skip program-own-completion-curl "curl has no bash completion here"
fi
has program-own-completion-ls "--all --almost-all" --dns remote -- ls --al
# A file argument of the program (cat completes files).
expect program-file-argument "a.conf" -- cat a

finish
