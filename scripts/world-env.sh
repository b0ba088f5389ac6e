# Names and addresses of the test world; sourced by scripts/world.sh and
# tests/integration/lib.sh so both agree on one topology (README.md, "Two commands").
# shellcheck shell=bash disable=SC2034

# SFY_WORLD_NAME (default sfy, 1-8 of [a-z0-9]) names the namespaces <name>-client and
# <name>-proxy and the state directory (build/world, or build/world-<name>): a second
# world can run next to the first one, e.g. while someone else's tests use it.
SFY_WORLD_NAME=${SFY_WORLD_NAME:-sfy}
if [[ ! $SFY_WORLD_NAME =~ ^[a-z0-9]{1,8}$ ]]; then
    echo "world-env: SFY_WORLD_NAME must be 1-8 of [a-z0-9]" >&2
    # shellcheck disable=SC2317
    return 1 2>/dev/null || exit 1
fi
SFY_NS_CLIENT=$SFY_WORLD_NAME-client
SFY_NS_PROXY=$SFY_WORLD_NAME-proxy
if [[ $SFY_WORLD_NAME == sfy ]]; then SFY_WORLD_SUBDIR=world; else SFY_WORLD_SUBDIR=world-$SFY_WORLD_NAME; fi

# Client <-> proxy link (veth sfy-c in the client, sfy-p in the proxy namespace).
SFY_CLIENT4=198.51.100.2
SFY_CLIENT6=2001:db8:1::2
SFY_PROXY4=198.51.100.1
SFY_PROXY6=2001:db8:1::1

# Destinations, on an interface of the proxy namespace the client has no route to.
SFY_DEST4=203.0.113.10
SFY_DEST6=2001:db8:2::10
SFY_BLACKHOLE4=203.0.113.99   # on the destination subnet, nobody home: SYNs vanish

SFY_PORT_DANTE=1080           # Dante sockd, no auth, both families
SFY_PORT_MICRO=1081           # microsocks, no auth, one per family
SFY_PORT_MICRO_AUTH=1082      # microsocks -u/-P, IPv4
SFY_PORT_DANTE_AUTH=1083      # Dante sockd, username/password (system password DB)
SFY_PORT_DOWN=1099            # nothing listens: the proxy is down
SFY_PORT_SQUID=3128           # squid, HTTP CONNECT with Basic auth (SFY_USER/SFY_PASS)
SFY_PORT_TINYPROXY=8888       # tinyproxy, HTTP CONNECT, no auth
SFY_PORT_SSHD=2222            # sshd for the ssh -D below (key auth, proxy side only)
SFY_PORT_SSH_D=1090           # "ssh -D": OpenSSH's dynamic forward, SOCKS4/4a/5, no auth

SFY_PORT_ECHO=7
SFY_PORT_WHOAMI=8             # writes the peer address it sees, then closes
SFY_PORT_CLOSED=9             # nothing listens: refused at the destination
SFY_PORT_HTTP=80
SFY_PORT_DNS=53               # proxy-side dnsmasq on SFY_DEST4/SFY_DEST6, UDP and TCP
SFY_PORT_UDP_ECHO=7           # UDP echo on SFY_DEST4/SFY_DEST6 (logs each source)
SFY_LOCAL_UDP_ECHO=127.0.0.1  # UDP echo inside the client namespace (loopback: direct)

# Names. The proxy side's /etc/hosts holds the *.socks.test names below; the client
# side's /etc/hosts holds none of them, and its resolver (dnsmasq on SFY_CLIENT_DNS,
# log/client-dns.log) knows only SFY_NAME_LOCAL. A by-name test that works while the
# client resolver never saw the name went through the proxy.
SFY_TEST_DOMAIN=socks.test
SFY_NAME_WEB=web.socks.test       # 203.0.113.10
SFY_NAME_WEB6=web6.socks.test     # 2001:db8:2::10 only (no IPv4 address)
SFY_NAME_ECHO=echo.socks.test     # 203.0.113.10
SFY_NAME_GIT=git.socks.test       # 203.0.113.10
SFY_NAME_DNS=dns.socks.test       # 203.0.113.10
SFY_NAME_UNKNOWN=nosuch.socks.test  # nobody knows it
SFY_CLIENT_DNS=127.0.0.1
SFY_NAME_LOCAL=whoami.direct.test # client resolver only: SFY_PROXY4 (whoami there)
SFY_GIT_REPO=repo.git             # bare repository served over dumb HTTP on :80

SFY_USER=sfyuser
SFY_PASS=sfypass
