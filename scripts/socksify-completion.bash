# bash completion for socksify, installed as
# $(PREFIX)/share/bash-completion/completions/socksify (make install, the Debian
# package). Options and their fixed values are socksify --help's; the program after
# the options (or after `--`) is completed as a command with its own completion.
# tests/integration/completion.sh checks this file against --help.
# shellcheck shell=bash

# Options that take a value (the next word, or after '=').
_socksify_value_opts='-x --proxy --direct --dns --dns-tcp --fake-net --fake-net6 --fake-min-age --udp
    --timeout --password-file --allow --deny --audit --audit-summary --config
    --proxychains-conf --supervise --chain --chain-mode --chain-len --route'
_socksify_flag_opts='--check --no-pipeline --strict --default-deny -v --verbose -q --quiet -h --help
    --version'

# _socksify_takes_value WORD: WORD is an option whose value is the next word: a long
# one from the list, or a cluster of short ones ending in its first x (-x, -vx).
_socksify_takes_value() {
    case $1 in
        --*) [[ " ${_socksify_value_opts//[$'\n ']/ } " == *" $1 "* ]] ;;
        -*x) [[ ${1%x} != *x* ]] ;;
        *) return 1 ;;
    esac
}

_socksify() {
    local cur prev words cword split
    _init_completion -s || return

    # Options come first; the first word that is not one (or the word after `--`) is the
    # program, and the rest is its own command line.
    local i word opt=
    for ((i = 1; i < cword; i++)); do
        word=${words[i]}
        if [[ $word == -- ]]; then
            _command_offset $((i + 1))
            return
        fi
        if [[ $word != -?* ]]; then
            _command_offset "$i"
            return
        fi
        if _socksify_takes_value "$word"; then
            if ((i + 1 == cword)); then
                opt=$word
                break
            fi
            ((i++))
        fi
    done
    # --option=value: _init_completion split it into prev and cur.
    [[ $split == true ]] && _socksify_takes_value "$prev" && opt=$prev

    if [[ -n $opt ]]; then
        case $opt in
            --udp) mapfile -t COMPREPLY < <(compgen -W 'on off' -- "$cur") ;;
            --dns) mapfile -t COMPREPLY < <(compgen -W 'remote local off' -- "$cur") ;;
            --supervise) mapfile -t COMPREPLY < <(compgen -W 'auto on off' -- "$cur") ;;
            --chain-mode)
                mapfile -t COMPREPLY < <(compgen -W 'strict dynamic random round-robin' -- "$cur")
                ;;
            --proxy | -*x)
                mapfile -t COMPREPLY < <(compgen -W 'socks5:// socks5h:// socks4:// socks4a:// http:// raw://' -- "$cur")
                compopt -o nospace 2>/dev/null
                ;;
            --config | --proxychains-conf | --password-file | --audit | --audit-summary)
                _filedir
                ;;
            *) ;;  # addresses, lists, rules, seconds: nothing to offer
        esac
        return
    fi

    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$_socksify_value_opts $_socksify_flag_opts" -- "$cur")
        return
    fi
    _command_offset "$cword"
}

complete -F _socksify socksify
