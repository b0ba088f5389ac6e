# Stopping the servers a script started, by PID; sourced by world.sh and
# bench-peers.sh.

# A zombie counts as gone: the init of some containers reaps orphans late.
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}

# TERM, then KILL after a bounded wait. Every server is started as a process-group
# leader (setsid), so its forked children (socat, sockd) go with it.
stop_pid() {
    local pid=$1 i
    alive "$pid" || return 0
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
        alive "$pid" || return 0
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do
        alive "$pid" || return 0
        sleep 0.1
    done
    echo "${0##*/}: process $pid did not exit" >&2
}
