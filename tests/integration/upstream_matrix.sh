#!/usr/bin/env bash
# Issue 17, every upstream kind with every kind of program: curl, wget, python, git and
# nc, each through each real server from Debian alone — Dante speaking SOCKS5 and
# SOCKS4, microsocks, ssh -D speaking SOCKS4a and SOCKS5 (against the world's sshd),
# tinyproxy and squid with Basic auth (HTTP CONNECT). By name wherever the kind carries
# names (and the name never reaches the client side's resolver), by address for
# SOCKS4. The client namespace has no route to the destinations, so an answer can only
# have come through a proxy; the server's own log must also name the destination, so
# the connection went through that server (ssh -D's at debug level, scripts/world.sh). Error paths are upstreams.sh's and
# hostile_upstreams.sh's. One line per cell: matrix-UPSTREAM-PROGRAM.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher
require_names
ensure_scratch

T=30
TOKEN=$(token)
PY=${PY:-python3}
P=$SFY_PROXY4

# NAME URL LOG SERVER: the upstreams, with the log that shows their connections and
# the world server that must be running.
UPSTREAMS=(
    "dante-socks5 socks5h://$P:$SFY_PORT_DANTE danted.log danted"
    "dante-socks4 socks4://$P:$SFY_PORT_DANTE danted.log danted"
    "microsocks socks5h://$P:$SFY_PORT_MICRO microsocks4.log microsocks4"
    "ssh-d-socks4a socks4a://$P:$SFY_PORT_SSH_D ssh-d.log ssh-d"
    "ssh-d-socks5 socks5h://$P:$SFY_PORT_SSH_D ssh-d.log ssh-d"
    "tinyproxy http://$P:$SFY_PORT_TINYPROXY tinyproxy.log tinyproxy"
    "squid http://$SFY_USER:$SFY_PASS@$P:$SFY_PORT_SQUID squid-access.log squid"
)

have() { [[ -f $SFY_WORLD/run/$1.pid ]]; }

# program_cmd PROGRAM WEB ECHO CLONE: CMD, the command line of one program, reaching the
# web server, the echo server or the git repository at the given host.
program_cmd() {
    local web=$2 echo=$3 clone=$4
    case $1 in
        curl) CMD=(curl -sS -m 20 "http://$web/hello.txt") ;;
        wget) CMD=(wget -q -O - -T 20 "http://$web/hello.txt") ;;
        python) CMD=("$PY" -c "
import socket
s = socket.create_connection(('$echo', $SFY_PORT_ECHO), timeout=20)
s.sendall(b'$TOKEN'); print(s.recv(100).decode())") ;;
        nc) CMD=(sh -c "printf %s '$TOKEN' | nc -W 1 -w 20 '$echo' $SFY_PORT_ECHO") ;;
        git) CMD=(sh -c "GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null git clone -q \
            'http://$web/$SFY_GIT_REPO' '$clone' && cat '$clone/token.txt'") ;;
    esac
}

# cell UPSTREAM URL LOG PROGRAM: one program through one upstream alone.
cell() {
    local up=$1 url=$2 log=$3 prog=$4 name=matrix-$1-$4 host web echo size
    web=$SFY_NAME_WEB echo=$SFY_NAME_ECHO host=
    # SOCKS4 carries addresses only: the program uses the address itself.
    [[ $url == socks4://* ]] && web=$SFY_DEST4 echo=$SFY_DEST4
    [[ $prog == python || $prog == nc ]] && host=$echo || host=$web
    program_cmd "$prog" "$web" "$echo" "$SFY_TMP/clone-$up"
    size=$(stat -c %s "$SFY_LOG/$log" 2>/dev/null || echo 0)
    run $T "${SFY[@]}" -x "$url" "${CMD[@]}"
    sleep 0.3 # squid writes its access line when the connection ends
    local new
    new=$(tail -c +"$((size + 1))" "$SFY_LOG/$log" 2>/dev/null || true)
    # Dante logs the address it connected to, the others what they were asked for.
    if [[ $new != *"$host"* && $new != *"$SFY_DEST4"* ]]; then
        fail "$name" "$(why "$log gained no line naming $host: $(oneline "$new")")"
    elif [[ $host == "$SFY_DEST4" ]]; then
        check_out "$name" "$TOKEN"
    else
        check_out_noleak "$name" "$TOKEN"
    fi
}

for u in "${UPSTREAMS[@]}"; do
    read -r up url log server <<<"$u"
    if ! have "$server"; then
        skip "matrix-$up" "$server not in the world (scripts/install-deps.sh, then world.sh start)"
        continue
    fi
    for prog in curl wget python nc git; do cell "$up" "$url" "$log" "$prog"; done
done
finish
