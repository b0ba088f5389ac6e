#!/usr/bin/env bash
# Starts or stops the integration test world: two network namespaces, SOCKS servers
# (Dante sockd, microsocks) and destinations on TEST-NET addresses. State (PID files,
# configs, logs, served files) lives in build/world/.
# Usage: scripts/world.sh start|stop|restart SERVER (e.g. restart danted: stop by PID,
# start again, wait until it answers).
#
#   sfy-client: sfy-c 198.51.100.2/24 2001:db8:1::2/64    (no other route)
#               resolver: dnsmasq 127.0.0.1:53 (logs queries, knows no *.socks.test)
#               UDP echo 127.0.0.1:7 (loopback: always direct)
#        | veth
#   sfy-proxy:  sfy-p 198.51.100.1/24 2001:db8:1::1/64    proxies on :1080-:1083, whoami :8
#               sfy-dst 203.0.113.10/24 2001:db8:2::10/64  echo :7 (TCP and UDP), whoami :8,
#                                                          http :80 (+ git), dnsmasq :53
#
# Names: every process of the proxy side (started by "ip netns exec sfy-proxy") sees
# /etc/hosts, /etc/resolv.conf and /etc/nsswitch.conf from /etc/netns/sfy-proxy/ (ip
# bind-mounts them in its own mount namespace): the *.socks.test names and nothing else
# to resolve with. The client side gets /etc/netns/sfy-client/: a hosts file without
# those names and its own logging dnsmasq as nameserver. Both directories are removed
# at stop.
#
# sfy-dst is one end of a veth pair whose other end has no address; with ARP off, a
# packet to any other address of its subnet (203.0.113.99) leaves and is dropped
# silently, so a connection there times out. (A dummy interface would do the same, but
# not every kernel has the dummy driver.)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/world-env.sh
source "$ROOT/scripts/world-env.sh"
# shellcheck source=scripts/pids.sh
source "$ROOT/scripts/pids.sh"
WORLD=$ROOT/build/$SFY_WORLD_SUBDIR
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
        rm -rf "/etc/netns/$ns"
        [[ -e /run/netns/$ns ]] || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            stop_pid "$pid"
        done
        ip netns delete "$ns" 2>/dev/null || true
    done
    rmdir /etc/netns 2>/dev/null || true  # only when no one else has files there
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
    # out of ports in TIME_WAIT. On the client side the kernel's port search for a new
    # connect walks every TIME_WAIT socket to the proxy: after a few 10,000 connections
    # that cost hundreds of microseconds per connect and grew through a benchmark run.
    in_ns "$SFY_NS_PROXY" sysctl -qw net.ipv4.tcp_max_tw_buckets=64
    in_ns "$SFY_NS_CLIENT" sysctl -qw net.ipv4.tcp_max_tw_buckets=64
}

# The name files each side sees (ip netns exec bind-mounts /etc/netns/<ns>/* over
# /etc/*): only "files dns" for hosts, so no host-wide resolver (systemd-resolved over
# D-Bus, say) can answer from outside the namespace.
write_name_files() {
    local p=/etc/netns/$SFY_NS_PROXY c=/etc/netns/$SFY_NS_CLIENT
    mkdir -p "$p" "$c"
    sed 's/^hosts:.*/hosts:          files dns/' /etc/nsswitch.conf >"$p/nsswitch.conf"
    grep -q '^hosts:' "$p/nsswitch.conf" || echo 'hosts:          files dns' >>"$p/nsswitch.conf"
    cp "$p/nsswitch.conf" "$c/nsswitch.conf"
    cat >"$p/hosts" <<EOF
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
$SFY_DEST4 $SFY_NAME_WEB $SFY_NAME_ECHO $SFY_NAME_GIT $SFY_NAME_DNS
$SFY_DEST6 $SFY_NAME_WEB6
EOF
    # Nothing answers DNS on the proxy side's loopback: a name missing from its hosts
    # file fails at once (port unreachable), so an unknown name fails fast.
    printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$p/resolv.conf"
    # The proxy by name (the launcher and the library resolve it once, locally).
    cat >"$c/hosts" <<EOF
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
$SFY_PROXY4 proxy4.sfy.lan
$SFY_PROXY6 proxy6.sfy.lan
EOF
    printf 'nameserver %s\noptions timeout:1 attempts:1\n' "$SFY_CLIENT_DNS" >"$c/resolv.conf"
}

# dnsmasq_conf FILE LOGFILE LISTEN-ADDRESS... : an authoritative-only dnsmasq (no
# upstream, no /etc/hosts) that logs every query; its records come on stdin.
dnsmasq_conf() {
    local file=$1 logfile=$2 a
    shift 2
    {
        echo "port=$SFY_PORT_DNS"
        for a in "$@"; do echo "listen-address=$a"; done
        echo "bind-interfaces"
        echo "no-resolv"
        echo "no-hosts"
        echo "no-poll"
        echo "no-negcache"
        echo "log-queries"
        echo "log-facility=$logfile"
        echo "pid-file="
        echo "user=root"
        cat
    } >"$file"
}

write_files() {
    mkdir -p "$RUN" "$LOG" "$WORLD/www" "$WORLD/etc"
    write_name_files
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
    # Its hosts, resolv.conf and nsswitch.conf are the proxy side's (write_name_files):
    # the bind of /etc below does not carry the netns bind mounts over them.
    local view=$WORLD/etc/view f
    mkdir -p "$view" "$WORLD/etc/host"
    for f in /etc/* /etc/.[!.]*; do
        [[ -e $f || -L $f ]] || continue
        f=${f#/etc/}
        case $f in
            passwd | shadow) ;;
            hosts | resolv.conf | nsswitch.conf) cp "/etc/netns/$SFY_NS_PROXY/$f" "$view/$f" ;;
            *) ln -s "$WORLD/etc/host/$f" "$view/$f" ;;
        esac
    done
    cp /etc/passwd "$view/passwd"
    # The shadow copy holds the test user alone: no host hash lands in build/.
    install -m 0640 /dev/null "$view/shadow"
    printf '%s:x:64999:65534:socksify test:/nonexistent:/usr/sbin/nologin\n' "$SFY_USER" \
        >>"$view/passwd"
    printf '%s:%s:19000:0:99999:7:::\n' "$SFY_USER" "$(openssl passwd -6 "$SFY_PASS")" \
        >>"$view/shadow"

    # The DNS server reachable only through the proxy, and the client side's resolver.
    dnsmasq_conf "$WORLD/proxy-dns.conf" "$LOG/proxy-dns.log" "$SFY_DEST4" "$SFY_DEST6" <<EOF
host-record=$SFY_NAME_WEB,$SFY_DEST4
host-record=$SFY_NAME_ECHO,$SFY_DEST4
host-record=$SFY_NAME_GIT,$SFY_DEST4
host-record=$SFY_NAME_DNS,$SFY_DEST4
host-record=$SFY_NAME_WEB6,$SFY_DEST6
EOF
    dnsmasq_conf "$WORLD/client-dns.conf" "$LOG/client-dns.log" "$SFY_CLIENT_DNS" <<EOF
host-record=$SFY_NAME_LOCAL,$SFY_PROXY4
EOF
    : >"$LOG/udpecho.log"
    : >"$LOG/udpecho-local.log"

    write_http_proxies
    write_ssh
    write_git_repo
}

# sshd and the key "ssh -D" logs in with; both on the proxy side, so the forward's
# connections leave from there.
write_ssh() {
    command -v sshd >/dev/null || return 0
    mkdir -p "$WORLD/ssh" /run/sshd
    ssh-keygen -q -t ed25519 -N '' -f "$WORLD/ssh/host_key"
    ssh-keygen -q -t ed25519 -N '' -f "$WORLD/ssh/client_key"
    cp "$WORLD/ssh/client_key.pub" "$WORLD/ssh/authorized_keys"
    cat >"$WORLD/ssh/sshd_config" <<EOF
ListenAddress $SFY_PROXY4:$SFY_PORT_SSHD
HostKey $WORLD/ssh/host_key
AuthorizedKeysFile $WORLD/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
AllowTcpForwarding yes
EOF
}

# HTTP CONNECT proxies: tinyproxy (no auth) and squid (Basic auth from an htpasswd
# file, checked by squid's basic_ncsa_auth helper). Both log each CONNECT.
write_http_proxies() {
    cat >"$WORLD/tinyproxy.conf" <<EOF
User nobody
Group nogroup
Port $SFY_PORT_TINYPROXY
Listen $SFY_PROXY4
Timeout 30
LogLevel Connect
MaxClients 200
Allow $SFY_CLIENT4
Allow $SFY_PROXY4
EOF
    command -v htpasswd >/dev/null && htpasswd -bc "$WORLD/squid.htpasswd" "$SFY_USER" "$SFY_PASS" 2>/dev/null
    chmod 644 "$WORLD/squid.htpasswd" 2>/dev/null || true
    mkdir -p "$WORLD/squid"
    touch "$LOG/squid-access.log" "$LOG/squid-cache.log"
    chown proxy "$WORLD/squid" "$LOG/squid-access.log" "$LOG/squid-cache.log" 2>/dev/null || true
    cat >"$WORLD/squid.conf" <<EOF
http_port $SFY_PROXY4:$SFY_PORT_SQUID
pid_filename none
cache deny all
cache_mem 4 MB
coredump_dir $WORLD/squid
access_log stdio:$LOG/squid-access.log
cache_log $LOG/squid-cache.log
cache_store_log none
logfile_rotate 0
shutdown_lifetime 1 seconds
visible_hostname socksify-test
pinger_enable off
auth_param basic program /usr/lib/squid/basic_ncsa_auth $WORLD/squid.htpasswd
auth_param basic children 2
auth_param basic realm socksify-test
acl authed proxy_auth REQUIRED
http_access allow authed
http_access deny all
EOF
}

# A bare repository served over dumb HTTP (www/repo.git after "git update-server-info");
# its one file holds the run's token.
write_git_repo() {
    local work=$WORLD/git-work
    local git=(env GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null git -c init.defaultBranch=main
        -c user.name=socksify-test -c user.email=test@socks.test)
    rm -rf "$work" "$WORLD/www/$SFY_GIT_REPO"
    "${git[@]}" init -q "$work"
    cp "$WORLD/www/hello.txt" "$work/token.txt"
    "${git[@]}" -C "$work" add token.txt
    "${git[@]}" -C "$work" commit -q -m "test world token"
    "${git[@]}" clone -q --bare "$work" "$WORLD/www/$SFY_GIT_REPO"
    "${git[@]}" -C "$WORLD/www/$SFY_GIT_REPO" update-server-info
    rm -rf "$work"
}

# start_server_in NS NAME COMMAND...: runs COMMAND in namespace NS as a new session (ip
# netns exec and setsid both exec in place, so $! is the server's own PID).
start_server_in() {
    local ns=$1 name=$2
    shift 2
    setsid ip netns exec "$ns" "$@" >>"$LOG/$name.log" 2>&1 </dev/null &
    echo $! >"$RUN/$name.pid"
}

# start_server NAME COMMAND...: the same in the proxy namespace.
start_server() { start_server_in "$SFY_NS_PROXY" "$@"; }

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
UDP_ECHO_PY=$ROOT/tests/programs/udp_echo.py

# Every server, in start order; start_one starts one of them, ready_checks says how to
# know it answers ("tcp|udp NAMESPACE HOST PORT", one per line).
SERVERS=(danted danted-auth microsocks4 microsocks6 microsocks-auth echo4 echo6 whoami4 whoami6
    whoami-proxy4 http4 http6 udpecho4 udpecho6 proxy-dns client-dns udpecho-local)
# The HTTP proxies when their packages are there (scripts/install-deps.sh installs them).
command -v tinyproxy >/dev/null && SERVERS+=(tinyproxy)
command -v squid >/dev/null && SERVERS+=(squid)
command -v sshd >/dev/null && SERVERS+=(sshd ssh-d)

start_one() {
    case $1 in
        danted) start_server danted danted -f "$WORLD/danted.conf" -p "$RUN/danted.sockd-pid" ;;
        danted-auth)
            # shellcheck disable=SC2016
            start_server danted-auth unshare -m sh -c \
                'mount --bind /etc "$1" && mount --bind "$2" /etc && exec danted -f "$3" -p "$4"' \
                sh "$WORLD/etc/host" "$WORLD/etc/view" "$WORLD/danted-auth.conf" \
                "$RUN/danted-auth.sockd-pid"
            ;;
        microsocks4) start_server microsocks4 microsocks -i "$SFY_PROXY4" -p "$SFY_PORT_MICRO" ;;
        microsocks6) start_server microsocks6 microsocks -i "$SFY_PROXY6" -p "$SFY_PORT_MICRO" ;;
        microsocks-auth)
            start_server microsocks-auth microsocks -i "$SFY_PROXY4" -p "$SFY_PORT_MICRO_AUTH" \
                -u "$SFY_USER" -P "$SFY_PASS"
            ;;
        # socat's default listen backlog (5) drops SYNs when 64 stress clients arrive
        # at once; the retransmits can outlast a client's 20 s read timeout.
        echo4) start_server echo4 socat "TCP4-LISTEN:$SFY_PORT_ECHO,bind=$SFY_DEST4,reuseaddr,fork,backlog=256" PIPE ;;
        echo6) start_server echo6 socat "TCP6-LISTEN:$SFY_PORT_ECHO,bind=[$SFY_DEST6],reuseaddr,fork,backlog=256" PIPE ;;
        whoami4) start_server whoami4 python3 -c "$WHOAMI_PY" "$SFY_DEST4" "$SFY_PORT_WHOAMI" ;;
        whoami6) start_server whoami6 python3 -c "$WHOAMI_PY" "$SFY_DEST6" "$SFY_PORT_WHOAMI" ;;
        # On the address the client reaches directly: tells a direct connection (peer
        # 198.51.100.2) from a proxied one.
        whoami-proxy4) start_server whoami-proxy4 python3 -c "$WHOAMI_PY" "$SFY_PROXY4" "$SFY_PORT_WHOAMI" ;;
        http4)
            start_server http4 python3 -m http.server "$SFY_PORT_HTTP" --bind "$SFY_DEST4" \
                --directory "$WORLD/www"
            ;;
        http6)
            start_server http6 python3 -m http.server "$SFY_PORT_HTTP" --bind "$SFY_DEST6" \
                --directory "$WORLD/www"
            ;;
        udpecho4) start_server udpecho4 python3 "$UDP_ECHO_PY" "$SFY_DEST4" "$SFY_PORT_UDP_ECHO" "$LOG/udpecho.log" ;;
        udpecho6) start_server udpecho6 python3 "$UDP_ECHO_PY" "$SFY_DEST6" "$SFY_PORT_UDP_ECHO" "$LOG/udpecho.log" ;;
        proxy-dns) start_server proxy-dns dnsmasq -k -C "$WORLD/proxy-dns.conf" ;;
        client-dns) start_server_in "$SFY_NS_CLIENT" client-dns dnsmasq -k -C "$WORLD/client-dns.conf" ;;
        udpecho-local)
            start_server_in "$SFY_NS_CLIENT" udpecho-local python3 "$UDP_ECHO_PY" \
                "$SFY_LOCAL_UDP_ECHO" "$SFY_PORT_UDP_ECHO" "$LOG/udpecho-local.log"
            ;;
        tinyproxy) start_server tinyproxy tinyproxy -d -c "$WORLD/tinyproxy.conf" ;;
        # -N: no daemon, so the PID is squid's.
        squid) start_server squid squid -N -f "$WORLD/squid.conf" ;;
        sshd) start_server sshd "$(command -v sshd)" -D -e -f "$WORLD/ssh/sshd_config" ;;
        # Retries while sshd comes up (one attempt a second); -D takes SOCKS4, 4a and 5.
        # DEBUG2: its log names each forwarded destination ("dynamic request: socks5
        # host NAME port N"), the only record ssh -D keeps (upstream_matrix.sh).
        ssh-d)
            start_server ssh-d ssh -N -D "$SFY_PROXY4:$SFY_PORT_SSH_D" -p "$SFY_PORT_SSHD" \
                -i "$WORLD/ssh/client_key" -o ConnectionAttempts=10 -o BatchMode=yes \
                -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=DEBUG2 \
                -o ExitOnForwardFailure=yes "root@$SFY_PROXY4"
            ;;
        *) die "unknown server $1" ;;
    esac
}

ready_checks() {
    local c=$SFY_NS_CLIENT p=$SFY_NS_PROXY
    case $1 in
        danted) printf '%s\n' "tcp $c $SFY_PROXY4 $SFY_PORT_DANTE" "tcp $c $SFY_PROXY6 $SFY_PORT_DANTE" ;;
        danted-auth) echo "tcp $c $SFY_PROXY4 $SFY_PORT_DANTE_AUTH" ;;
        microsocks4) echo "tcp $c $SFY_PROXY4 $SFY_PORT_MICRO" ;;
        microsocks6) echo "tcp $c $SFY_PROXY6 $SFY_PORT_MICRO" ;;
        microsocks-auth) echo "tcp $c $SFY_PROXY4 $SFY_PORT_MICRO_AUTH" ;;
        echo4) echo "tcp $p $SFY_DEST4 $SFY_PORT_ECHO" ;;
        echo6) echo "tcp $p $SFY_DEST6 $SFY_PORT_ECHO" ;;
        whoami4) echo "tcp $p $SFY_DEST4 $SFY_PORT_WHOAMI" ;;
        whoami6) echo "tcp $p $SFY_DEST6 $SFY_PORT_WHOAMI" ;;
        whoami-proxy4) echo "tcp $c $SFY_PROXY4 $SFY_PORT_WHOAMI" ;;
        http4) echo "tcp $p $SFY_DEST4 $SFY_PORT_HTTP" ;;
        http6) echo "tcp $p $SFY_DEST6 $SFY_PORT_HTTP" ;;
        udpecho4) echo "udp $p $SFY_DEST4 $SFY_PORT_UDP_ECHO" ;;
        udpecho6) echo "udp $p $SFY_DEST6 $SFY_PORT_UDP_ECHO" ;;
        proxy-dns)
            printf '%s\n' "tcp $p $SFY_DEST4 $SFY_PORT_DNS" "udp $p $SFY_DEST4 $SFY_PORT_DNS" \
                "tcp $p $SFY_DEST6 $SFY_PORT_DNS" "udp $p $SFY_DEST6 $SFY_PORT_DNS"
            ;;
        client-dns) printf '%s\n' "tcp $c $SFY_CLIENT_DNS $SFY_PORT_DNS" "udp $c $SFY_CLIENT_DNS $SFY_PORT_DNS" ;;
        udpecho-local) echo "udp $c $SFY_LOCAL_UDP_ECHO $SFY_PORT_UDP_ECHO" ;;
        tinyproxy) echo "tcp $c $SFY_PROXY4 $SFY_PORT_TINYPROXY" ;;
        squid) echo "tcp $c $SFY_PROXY4 $SFY_PORT_SQUID" ;;
        sshd) echo "tcp $p $SFY_PROXY4 $SFY_PORT_SSHD" ;;
        ssh-d) echo "tcp $c $SFY_PROXY4 $SFY_PORT_SSH_D" ;;
    esac
}

# port_open NS HOST PORT: one TCP connect, bounded to one second.
port_open() {
    # shellcheck disable=SC2016
    in_ns "$1" timeout 1 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$2" "$3" 2>/dev/null
}

# udp_bound NS HOST PORT: a UDP socket is bound to HOST:PORT in NS.
udp_bound() {
    local want=$2:$3
    [[ $2 == *:* ]] && want="[$2]:$3"
    in_ns "$1" timeout 1 ss -Hlun "sport = :$3" 2>/dev/null | awk '{print $4}' | grep -qxF "$want"
}

# wait_ready SERVER...: waits until each answers, at most 50 rounds of 0.1 s in all
# (about 5 s, plus the probes' own time).
wait_ready() {
    local name kind ns host port round=0 f
    for name in "$@"; do
        while read -r kind ns host port; do
            [[ -n $kind ]] || continue
            until if [[ $kind == udp ]]; then udp_bound "$ns" "$host" "$port"; else port_open "$ns" "$host" "$port"; fi; do
                if ((++round >= 50)); then
                    echo "world: $name: $kind $host port $port does not answer from $ns" >&2
                    for f in "$RUN"/*.pid; do
                        alive "$(<"$f")" || echo "world: $(basename "$f" .pid) exited:" \
                            "$(tail -n 3 "$LOG/$(basename "$f" .pid).log" | tr '\n' ' ')" >&2
                    done
                    return 1
                fi
                sleep 0.1
            done
        done < <(ready_checks "$name")
    done
}

start_world() {
    ((EUID == 0)) || die "must run as root (network namespaces)"
    local tool name
    for tool in danted microsocks socat python3 openssl unshare dnsmasq git ss; do
        command -v "$tool" >/dev/null || die "missing $tool (scripts/install-deps.sh)"
    done
    stop_world
    rm -rf "$WORLD"
    mkdir -p "$WORLD"
    make_namespaces
    write_files
    for name in "${SERVERS[@]}"; do start_one "$name"; done
    if ! wait_ready "${SERVERS[@]}"; then
        stop_world
        die "start failed; logs in $LOG"
    fi
}

# restart_server NAME: stops one server of the running world by its PID and starts it
# again (a test that needs a proxy restarted mid-connection, say).
restart_server() {
    local name=$1 pid
    [[ -n $name && " ${SERVERS[*]} " == *" $name "* ]] || die "restart: unknown server '$name' (one of: ${SERVERS[*]})"
    [[ -e /run/netns/$SFY_NS_PROXY && -f $RUN/$name.pid ]] || die "restart: the world is not running"
    pid=$(<"$RUN/$name.pid")
    [[ $pid =~ ^[0-9]+$ ]] && stop_pid "$pid"
    rm -f "$RUN/$name.pid"
    start_one "$name"
    wait_ready "$name" || die "restart: $name did not come back; log in $LOG/$name.log"
}

case ${1:-} in
    start) start_world ;;
    stop) stop_world ;;
    restart) restart_server "${2:-}" ;;
    *) die "usage: $0 start|stop|restart SERVER" ;;
esac
