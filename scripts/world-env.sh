# Names and addresses of the test world; sourced by scripts/world.sh and
# tests/integration/lib.sh so both agree on one topology (DESIGN.md "Test world").
# shellcheck shell=bash disable=SC2034

SFY_NS_CLIENT=sfy-client
SFY_NS_PROXY=sfy-proxy

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

SFY_PORT_ECHO=7
SFY_PORT_WHOAMI=8             # writes the peer address it sees, then closes
SFY_PORT_CLOSED=9             # nothing listens: refused at the destination
SFY_PORT_HTTP=80

SFY_USER=sfyuser
SFY_PASS=sfypass
