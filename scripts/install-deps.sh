#!/usr/bin/env bash
# Installs the Debian packages that building and testing socksify need, only those
# that are missing; a fast no-op when everything is present.
set -euo pipefail

packages=(
    g++ make binutils pkg-config clang
    libgtest-dev libgmock-dev libbenchmark-dev
    dante-server microsocks
    curl wget python3 netcat-openbsd socat iproute2 dnsutils tcpdump nodejs
    bind9-host  # host(1) for the DNS stub tests (dig and nslookup come with dnsutils)
    openssl  # hashes the test user's password for the world's Dante username method
    dnsmasq-base  # the world's DNS servers: client-side resolver (logs queries), proxy-side names
    git           # a repository served over dumb HTTP, cloned by name through the proxy
    debhelper dpkg-dev fakeroot lintian  # make deb and its test (tests/integration/package.sh)
    bash-completion  # the completion test drives bash-completion's machinery
    golang-go busybox-static  # programs the preload cannot reach, for the supervisor's tests
    iputils-ping  # ping (file capability cap_net_raw) keeps working in a socksified shell
    tinyproxy squid apache2-utils  # HTTP CONNECT upstreams (squid: Basic auth, htpasswd)
    openssh-server openssh-client  # "ssh -D" against a local sshd: SOCKS4a and SOCKS5
    proxychains4  # the peer in the benchmarks; its stock proxychains4.conf in the import test
    time  # GNU time: peak RSS in scripts/bench-fake-dns.sh
    strace  # system calls per connection (conn_syscalls.sh, bench-peers.sh)
)

missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ $status == installed ]] || missing+=("$pkg")
done
# Any JDK will do for the Java test; take Debian's default only when there is no javac.
command -v javac >/dev/null 2>&1 || missing+=(default-jdk-headless)

if ((${#missing[@]} == 0)); then
    exit 0
fi

if ((EUID != 0)); then
    echo "install-deps: missing packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-deps: apt-get failed" >&2
    exit 1
fi
