#!/usr/bin/env bash
# Starts or stops the integration test world: two network namespaces, SOCKS servers
# (Dante sockd, microsocks) and destinations on TEST-NET addresses. State (PID files,
# configs, logs, served files) lives in build/world/. Usage: scripts/world.sh start|stop
#
#   sfy-client: sfy-c 198.51.100.2/24 2001:db8:1::2/64    (no other route)
#        | veth
#   sfy-proxy:  sfy-p 198.51.100.1/24 2001:db8:1::1/64    proxies on :1080-:1083
#               sfy-dst 203.0.113.10/24 2001:db8:2::10/64  echo :7, whoami :8, http :80
#
# sfy-dst is one end of a veth pair whose other end has no address; with ARP off, a
# packet to any other address of its subnet (203.0.113.99) leaves and is dropped
# silently, so a connection there times out. (A dummy interface would do the same, but
# not every kernel has the dummy driver.)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/world-env.sh
source "$ROOT/scripts/world-env.sh"
WORLD=$ROOT/build/world
RUN=$WORLD/run
LOG=$WORLD/log

die() {
    echo "world: $*" >&2
    exit 1
}

in_ns() {
    local ns=$1
    shift
    ip netns exec "$ns" "$@"
}

# --- stop -------------------------------------------------------------------------

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
    echo "world: process $pid did not exit" >&2
}

stop_world() {
    local f pid ns
    if [[ -d $RUN ]]; then
        for f in "$RUN"/*.pid; do
            [[ -e $f ]] || continue
            pid=$(<"$f")
            [[ $pid =~ ^[0-9]+$ ]] && stop_pid "$pid"
            rm -f "$f"
        done
    fi
    # Leftovers of a run whose PID files were lost (a test that leaked a child, a
    # killed runner): anything still inside our namespaces is ours; stop it by PID.
    for ns in "$SFY_NS_CLIENT" "$SFY_NS_PROXY"; do
        [[ -e /run/netns/$ns ]] || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            stop_pid "$pid"
        done
        ip netns delete "$ns" 2>/dev/null || true
    done
}

# --- start ------------------------------------------------------------------------

make_namespaces() {
    ip netns add "$SFY_NS_CLIENT"
    ip netns add "$SFY_NS_PROXY"
    local ns
    for ns in "$SFY_NS_CLIENT" "$SFY_NS_PROXY"; do
        in_ns "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
        ip -n "$ns" link set lo up
    done

    ip link add sfy-c netns "$SFY_NS_CLIENT" type veth peer name sfy-p netns "$SFY_NS_PROXY"
    ip -n "$SFY_NS_CLIENT" addr add "$SFY_CLIENT4/24" dev sfy-c
    ip -n "$SFY_NS_CLIENT" addr add "$SFY_CLIENT6/64" dev sfy-c nodad
    ip -n "$SFY_NS_CLIENT" link set sfy-c up
    ip -n "$SFY_NS_PROXY" addr add "$SFY_PROXY4/24" dev sfy-p
    ip -n "$SFY_NS_PROXY" addr add "$SFY_PROXY6/64" dev sfy-p nodad
    ip -n "$SFY_NS_PROXY" link set sfy-p up

    ip -n "$SFY_NS_PROXY" link add sfy-dst type veth peer name sfy-sink
    in_ns "$SFY_NS_PROXY" sysctl -qw net.ipv6.conf.sfy-sink.disable_ipv6=1
    ip -n "$SFY_NS_PROXY" link set sfy-dst arp off
    ip -n "$SFY_NS_PROXY" addr add "$SFY_DEST4/24" dev sfy-dst
    ip -n "$SFY_NS_PROXY" addr add "$SFY_DEST6/64" dev sfy-dst nodad
    ip -n "$SFY_NS_PROXY" link set sfy-sink up
    ip -n "$SFY_NS_PROXY" link set sfy-dst up

    # sockd binds every outgoing socket; short connection storms would otherwise run
    # out of ports in TIME_WAIT.
    in_ns "$SFY_NS_PROXY" sysctl -qw net.ipv4.tcp_max_tw_buckets=64
}

write_files() {
    mkdir -p "$RUN" "$LOG" "$WORLD/www" "$WORLD/etc"
    # A token no other run or file has: a test that prints it really fetched it.
    printf 'sfy-token-%s-%s\n' "$(date +%s%N)" "$RANDOM" >"$WORLD/www/hello.txt"

    local rules
    rules=$(
        cat <<'EOF'
client pass {
    from: 0/0 to: 0/0
    log: error connect disconnect
}
socks pass {
    from: 0/0 to: 0/0
    command: connect bind udpassociate bindreply udpreply
    log: error connect disconnect
}
EOF
    )
    cat >"$WORLD/danted.conf" <<EOF
logoutput: $LOG/danted.log
internal: $SFY_PROXY4 port = $SFY_PORT_DANTE
internal: $SFY_PROXY6 port = $SFY_PORT_DANTE
external: $SFY_DEST4
external: $SFY_DEST6
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
$rules
EOF
    cat >"$WORLD/danted-auth.conf" <<EOF
logoutput: $LOG/danted-auth.log
internal: $SFY_PROXY4 port = $SFY_PORT_DANTE_AUTH
internal: $SFY_PROXY6 port = $SFY_PORT_DANTE_AUTH
external: $SFY_DEST4
external: $SFY_DEST6
clientmethod: none
socksmethod: username
user.privileged: root
user.unprivileged: nobody
$rules
EOF
    # sockd's username method checks the system password DB. It runs in its own mount
    # namespace whose /etc is etc/view: copies of passwd and shadow that add the test
    # user, and symlinks to the host's /etc (bound at etc/host) for the rest. Binding
    # the two files alone is not enough: when the host replaces /etc/passwd (adduser
    # renames a new file over it), the kernel drops mounts on the old file in every
    # namespace, and sockd would silently see the host's files again.
    local view=$WORLD/etc/view f
    mkdir -p "$view" "$WORLD/etc/host"
    for f in /etc/* /etc/.[!.]*; do
        [[ -e $f || -L $f ]] || continue
        f=${f#/etc/}
        [[ $f == passwd || $f == shadow ]] || ln -s "$WORLD/etc/host/$f" "$view/$f"
    done
    cp /etc/passwd "$view/passwd"
    # The shadow copy holds the test user alone: no host hash lands in build/.
    install -m 0640 /dev/null "$view/shadow"
    printf '%s:x:64999:65534:socksify test:/nonexistent:/usr/sbin/nologin\n' "$SFY_USER" \
        >>"$view/passwd"
    printf '%s:%s:19000:0:99999:7:::\n' "$SFY_USER" "$(openssl passwd -6 "$SFY_PASS")" \
        >>"$view/shadow"
}

# start_server NAME COMMAND...: runs COMMAND in the proxy namespace as a new session
# (ip netns exec and setsid both exec in place, so $! is the server's own PID).
start_server() {
    local name=$1
    shift
    setsid ip netns exec "$SFY_NS_PROXY" "$@" >"$LOG/$name.log" 2>&1 </dev/null &
    echo $! >"$RUN/$name.pid"
}

WHOAMI_PY='
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, port))
s.listen(128)
while True:
    c, peer = s.accept()
    try:
        c.sendall((peer[0] + "\n").encode())
    except OSError:
        pass
    c.close()
'

start_servers() {
    start_server danted danted -f "$WORLD/danted.conf" -p "$RUN/danted.sockd-pid"
    # shellcheck disable=SC2016
    start_server danted-auth unshare -m sh -c \
        'mount --bind /etc "$1" && mount --bind "$2" /etc && exec danted -f "$3" -p "$4"' \
        sh "$WORLD/etc/host" "$WORLD/etc/view" "$WORLD/danted-auth.conf" "$RUN/danted-auth.sockd-pid"
    start_server microsocks4 microsocks -i "$SFY_PROXY4" -p "$SFY_PORT_MICRO"
    start_server microsocks6 microsocks -i "$SFY_PROXY6" -p "$SFY_PORT_MICRO"
    start_server microsocks-auth microsocks -i "$SFY_PROXY4" -p "$SFY_PORT_MICRO_AUTH" \
        -u "$SFY_USER" -P "$SFY_PASS"

    start_server echo4 socat "TCP4-LISTEN:$SFY_PORT_ECHO,bind=$SFY_DEST4,reuseaddr,fork" PIPE
    start_server echo6 socat "TCP6-LISTEN:$SFY_PORT_ECHO,bind=[$SFY_DEST6],reuseaddr,fork" PIPE
    start_server whoami4 python3 -c "$WHOAMI_PY" "$SFY_DEST4" "$SFY_PORT_WHOAMI"
    start_server whoami6 python3 -c "$WHOAMI_PY" "$SFY_DEST6" "$SFY_PORT_WHOAMI"
    start_server http4 python3 -m http.server "$SFY_PORT_HTTP" --bind "$SFY_DEST4" \
        --directory "$WORLD/www"
    start_server http6 python3 -m http.server "$SFY_PORT_HTTP" --bind "$SFY_DEST6" \
        --directory "$WORLD/www"
}

# port_open NS HOST PORT: one TCP connect, bounded to one second.
port_open() {
    # shellcheck disable=SC2016
    in_ns "$1" timeout 1 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$2" "$3" 2>/dev/null
}

# Waits until every server answers: at most 50 rounds of 0.1 s (about 5 s).
wait_ready() {
    local checks=(
        "$SFY_NS_CLIENT $SFY_PROXY4 $SFY_PORT_DANTE"
        "$SFY_NS_CLIENT $SFY_PROXY6 $SFY_PORT_DANTE"
        "$SFY_NS_CLIENT $SFY_PROXY4 $SFY_PORT_DANTE_AUTH"
        "$SFY_NS_CLIENT $SFY_PROXY4 $SFY_PORT_MICRO"
        "$SFY_NS_CLIENT $SFY_PROXY6 $SFY_PORT_MICRO"
        "$SFY_NS_CLIENT $SFY_PROXY4 $SFY_PORT_MICRO_AUTH"
        "$SFY_NS_PROXY $SFY_DEST4 $SFY_PORT_ECHO"
        "$SFY_NS_PROXY $SFY_DEST6 $SFY_PORT_ECHO"
        "$SFY_NS_PROXY $SFY_DEST4 $SFY_PORT_WHOAMI"
        "$SFY_NS_PROXY $SFY_DEST6 $SFY_PORT_WHOAMI"
        "$SFY_NS_PROXY $SFY_DEST4 $SFY_PORT_HTTP"
        "$SFY_NS_PROXY $SFY_DEST6 $SFY_PORT_HTTP"
    )
    local check ns host port round=0 f
    for check in "${checks[@]}"; do
        read -r ns host port <<<"$check"
        until port_open "$ns" "$host" "$port"; do
            if ((++round >= 50)); then
                echo "world: $host port $port does not answer from $ns" >&2
                for f in "$RUN"/*.pid; do
                    alive "$(<"$f")" || echo "world: $(basename "$f" .pid) exited:" \
                        "$(tail -n 3 "$LOG/$(basename "$f" .pid).log" | tr '\n' ' ')" >&2
                done
                return 1
            fi
            sleep 0.1
        done
    done
}

start_world() {
    ((EUID == 0)) || die "must run as root (network namespaces)"
    local tool
    for tool in danted microsocks socat python3 openssl unshare; do
        command -v "$tool" >/dev/null || die "missing $tool (scripts/install-deps.sh)"
    done
    stop_world
    rm -rf "$WORLD"
    mkdir -p "$WORLD"
    make_namespaces
    write_files
    start_servers
    if ! wait_ready; then
        stop_world
        die "start failed; logs in $LOG"
    fi
}

case ${1:-} in
    start) start_world ;;
    stop) stop_world ;;
    *) die "usage: $0 start|stop" ;;
esac
