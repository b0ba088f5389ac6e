#!/usr/bin/env bash
# --proxychains-conf reads the whole file a proxychains user already has: every
# [ProxyList] entry a hop (socks5, socks4 — socks4a with proxy_dns —, http, with user
# and password), the chain mode and chain_len, proxy_dns, the timeouts and localnet;
# dnat and unknown directives are warned about with their line. Debian's stock
# /etc/proxychains4.conf is the starting point, with its [ProxyList] pointed at the
# world's proxies. One line per case.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_world
require_launcher
require_names
ensure_scratch

T=30
TOKEN=$(token)
URL=http://$SFY_NAME_WEB/hello.txt
STOCK=/etc/proxychains4.conf
if [[ ! -r $STOCK ]]; then
    skip all "no $STOCK (proxychains4 is installed by scripts/install-deps.sh)"
    finish
fi
count() { grep -c "$2" "$SFY_LOG/$1" 2>/dev/null || true; }

# conf NAME LIST-LINES...: the stock file, its [ProxyList] replaced by the given lines.
conf() {
    local name=$1
    shift
    sed '/^\[ProxyList\]/q' "$STOCK" >"$SFY_TMP/$name.conf"
    printf '%s\n' "$@" >>"$SFY_TMP/$name.conf"
    echo "$SFY_TMP/$name.conf"
}

# The stock file as shipped (strict_chain, proxy_dns, remote_dns_subnet, timeouts)
# with one socks5 entry: a name reaches Dante as a name; no warning.
F=$(conf stock "socks5 $SFY_PROXY4 $SFY_PORT_DANTE")
run $T "${SFY[@]}" --proxychains-conf "$F" -- curl -sS -m 20 "$URL"
if [[ -z $ERR ]]; then check_out_noleak stock-file-socks5-by-name "$TOKEN"
else fail stock-file-socks5-by-name "$(why "expected no warning")"; fi
run $T "${SFY[@]}" --proxychains-conf "$F" -- env
if grep -qx "SOCKSIFY_DNS=remote" <<<"$OUT" && grep -qx "SOCKSIFY_TIMEOUT=15.000" <<<"$OUT" &&
    grep -qx "SOCKSIFY_PROXY=socks5h://$SFY_PROXY4:$SFY_PORT_DANTE" <<<"$OUT"; then
    pass stock-file-settings-to-env
else
    fail stock-file-settings-to-env "$(why "expected remote DNS, the larger timeout, socks5h")"
fi

# Two entries make a chain, in order: Dante, then squid with Basic auth from the
# entry's user and password; squid sees the name coming from Dante (which connects out
# from its external address, the destination side's) — a new line: chains.sh leaves
# lines of its own from the proxy side.
F=$(conf chain "socks5 $SFY_PROXY4 $SFY_PORT_DANTE" "http $SFY_PROXY4 $SFY_PORT_SQUID $SFY_USER $SFY_PASS")
TUNNEL=" $SFY_DEST4 TCP_TUNNEL/200 .*CONNECT $SFY_NAME_WEB:80 $SFY_USER "
before=$(count squid-access.log "$TUNNEL")
run $T "${SFY[@]}" --proxychains-conf "$F" -v -- curl -sS -m 20 "$URL"
sleep 0.3
if [[ $ERR == *"via $SFY_PROXY4:$SFY_PORT_DANTE > $SFY_PROXY4:$SFY_PORT_SQUID"* ]] &&
    (($(count squid-access.log "$TUNNEL") > before)); then
    check_out_noleak two-entries-chain-dante-squid "$TOKEN"
else
    fail two-entries-chain-dante-squid "$(why "expected the two hops in -v and squid's tunnel")"
fi

# dynamic_chain skips a dead entry; strict_chain (the stock default) fails on it.
DEAD="socks5 $SFY_PROXY4 $SFY_PORT_DOWN"
F=$(conf dyn "$DEAD" "socks5 $SFY_PROXY4 $SFY_PORT_MICRO")
sed -i 's/^strict_chain/dynamic_chain/' "$F"
run $T "${SFY[@]}" --proxychains-conf "$F" -- curl -sS -m 20 "$URL"
check_out_noleak dynamic-chain-skips-dead-entry "$TOKEN"
F=$(conf strict "$DEAD" "socks5 $SFY_PROXY4 $SFY_PORT_MICRO")
run $T "${SFY[@]}" --proxychains-conf "$F" -- curl -sS -m 20 "$URL"
if ((RC != 0)) && [[ $OUT != *"$TOKEN"* ]]; then pass strict-chain-fails-on-dead-entry
else fail strict-chain-fails-on-dead-entry "$(why "expected a failure")"; fi

# round_robin_chain with chain_len 1 over tinyproxy and squid: both used, counted in
# their own logs.
F=$(conf rr "http $SFY_PROXY4 $SFY_PORT_TINYPROXY" "http $SFY_PROXY4 $SFY_PORT_SQUID $SFY_USER $SFY_PASS")
sed -i 's/^strict_chain/round_robin_chain\nchain_len = 1/' "$F"
run $T "${SFY[@]}" --proxychains-conf "$F" -- env
if grep -qx "SOCKSIFY_CHAIN_MODE=round-robin" <<<"$OUT" && grep -qx "SOCKSIFY_CHAIN_LEN=1" <<<"$OUT"; then
    pass round-robin-chain-len-to-env
else
    fail round-robin-chain-len-to-env "$(why)"
fi
sq0=$(count squid-access.log "CONNECT $SFY_NAME_WEB:80 $SFY_USER")
run $T "${SFY[@]}" --proxychains-conf "$F" -- sh -c "curl -sS -m 20 '$URL' '$URL' '$URL' '$URL'"
sleep 0.3
sq1=$(count squid-access.log "CONNECT $SFY_NAME_WEB:80 $SFY_USER")
hits=$(grep -o "$TOKEN" <<<"$OUT" | wc -l)
if ((hits == 4 && sq1 - sq0 >= 1 && sq1 - sq0 <= 3)); then
    pass round-robin-spreads-over-entries
else
    fail round-robin-spreads-over-entries "$(why "4 fetches, squid saw $((sq1 - sq0)) (want 1..3)")"
fi

# socks4 with proxy_dns is socks4a (names to the proxy): ssh -D answers it by name.
F=$(conf s4a "socks4 $SFY_PROXY4 $SFY_PORT_SSH_D")
if [[ -f $SFY_WORLD/run/sshd.pid ]]; then
    run $T "${SFY[@]}" --proxychains-conf "$F" -- curl -sS -m 20 "$URL"
    check_out_noleak socks4-with-proxy-dns-is-socks4a-by-name "$TOKEN"
else
    skip socks4-with-proxy-dns-is-socks4a-by-name "no sshd in the world"
fi
# Without proxy_dns, socks4 resolves locally and carries addresses: Dante by address.
F=$(conf s4 "socks4 $SFY_PROXY4 $SFY_PORT_DANTE")
sed -i '/^proxy_dns/d' "$F"
run $T "${SFY[@]}" --proxychains-conf "$F" -- curl -sS -m 20 "http://$SFY_DEST4/hello.txt"
check_out_noleak socks4-without-proxy-dns-by-address "$TOKEN"

# What socksify cannot honour is named with its line; raw is refused.
F=$(conf warn "socks5 $SFY_PROXY4 $SFY_PORT_DANTE")
sed -i '1i dnat 198.51.100.1 203.0.113.1\nfancy_option 3' "$F"
run $T "${SFY[@]}" --proxychains-conf "$F" -- curl -sS -m 20 "$URL"
if [[ $ERR == *"$F:1: dnat is not supported: ignored"* && $ERR == *"$F:2: unknown directive: ignored"* ]] &&
    (($(wc -l <<<"$ERR") == 2)); then
    check_out_noleak dnat-and-unknown-warned-with-line "$TOKEN"
else
    fail dnat-and-unknown-warned-with-line "$(why "expected two warnings naming lines 1 and 2")"
fi
# raw entries: plain TCP forwarders (socat, in the proxy namespace, stopped by PID).
# One leads to the echo server, one to Dante.
RAW_ECHO=9301
RAW_DANTE=9302
FWD_PIDS=()
trap 'kill "${FWD_PIDS[@]}" 2>/dev/null || true; rm -rf "$SFY_TMP"' EXIT
forwarder() {
    in_proxy socat "TCP4-LISTEN:$1,bind=$SFY_PROXY4,reuseaddr,fork" "TCP4:$2" >/dev/null 2>&1 &
    FWD_PIDS+=($!)
}
forwarder "$RAW_ECHO" "$SFY_DEST4:$SFY_PORT_ECHO"
forwarder "$RAW_DANTE" "$SFY_PROXY4:$SFY_PORT_DANTE"
for ((i = 0; i < 50; i++)); do
    in_proxy bash -c ">/dev/tcp/$SFY_PROXY4/$RAW_ECHO && >/dev/tcp/$SFY_PROXY4/$RAW_DANTE" \
        2>/dev/null && break
    sleep 0.1
done

# raw as the last hop: Dante reaches the forwarder, which leads to the echo; the
# destination the program named is sent nowhere (a port nothing listens on).
F=$(conf raw-last "socks5 $SFY_PROXY4 $SFY_PORT_DANTE" "raw $SFY_PROXY4 $RAW_ECHO")
run $T "${SFY[@]}" --proxychains-conf "$F" -v -- "$PY" -c "
import socket
s = socket.create_connection(('$SFY_NAME_ECHO', $SFY_PORT_CLOSED), timeout=20)
s.sendall(b'$TOKEN'); print(s.recv(100).decode())"
if [[ $ERR == *"via $SFY_PROXY4:$SFY_PORT_DANTE > $SFY_PROXY4:$RAW_ECHO"* ]]; then
    check_out_noleak raw-entry-last-hop-forwards "$TOKEN"
else
    fail raw-entry-last-hop-forwards "$(why "expected the two hops in -v")"
fi

# raw as the first hop: the next entry's SOCKS5 exchange goes through the forwarder to
# Dante, which sees the connection come from the forwarder (the proxy side's address).
F=$(conf raw-first "raw $SFY_PROXY4 $RAW_DANTE" "socks5 $SFY_PROXY4 $SFY_PORT_DANTE")
before=$(count danted.log "tcp/accept \\[: $SFY_PROXY4\\.")
run $T "${SFY[@]}" --proxychains-conf "$F" -- curl -sS -m 20 "$URL"
sleep 0.3
if (($(count danted.log "tcp/accept \\[: $SFY_PROXY4\\.") > before)); then
    check_out_noleak raw-entry-first-hop-carries-socks5 "$TOKEN"
else
    fail raw-entry-first-hop-carries-socks5 "$(why "Dante logged no connection from the forwarder")"
fi
# A forwarder carries no credentials: a user on a raw entry is an error, never ignored.
F=$(conf raw-user "raw $SFY_PROXY4 $RAW_ECHO alice")
run 10 "$SOCKSIFY" --proxychains-conf "$F" -- true
if ((RC == 2)) && [[ $ERR == *"raw forwarders take no user name"* ]]; then pass raw-entry-with-user-refused
else fail raw-entry-with-user-refused "$(why)"; fi
# UDP through a raw last hop: EACCES, one line, never direct.
F=$(conf raw-udp "raw $SFY_PROXY4 $RAW_ECHO")
run $T "${SFY[@]}" --proxychains-conf "$F" -- "$PY" "$PROGRAMS/errno_probe.py" udp "$SFY_DEST4" \
    "$SFY_PORT_UDP_ECHO" "$TOKEN"
if [[ $OUT == *"send1=EACCES"* && $ERR == *"UDP refused"* ]]; then pass raw-entry-udp-refused-eacces
else fail raw-entry-udp-refused-eacces "$(why "expected send1=EACCES and one line")"; fi

# -x on the command line beats the file's list (no chain made of both).
F=$(conf both "socks5 $SFY_PROXY4 $SFY_PORT_DOWN" "socks5 $SFY_PROXY4 $SFY_PORT_DOWN")
run $T "${SFY[@]}" -x "socks5h://$SFY_PROXY4:$SFY_PORT_DANTE" --proxychains-conf "$F" -- curl -sS -m 20 "$URL"
check_out_noleak command-line-proxy-beats-file-list "$TOKEN"

# A raw entry alone, under a non-blocking connect by name (the readiness path drives a
# hop with nothing to send and nothing to read): no hang, the echo comes back.
F=$(conf raw-nb "raw $SFY_PROXY4 $RAW_ECHO")
run $T "${SFY[@]}" --proxychains-conf "$F" -- "$PY" "$PROBE" nonblock "$SFY_NAME_ECHO" "$SFY_PORT_ECHO" "nb-$TOKEN"
check_out_noleak raw-entry-nonblocking-connect-by-name "nb-$TOKEN"
# --check of a raw proxy: reachable and the time to connect, nothing else to learn.
run $T "${SFY[@]}" --proxychains-conf "$F" --check
if ((RC == 0)) && [[ $OUT == *"proxy $SFY_PROXY4:$RAW_ECHO: reachable, connect "*"raw: no protocol, nothing else to check"* ]]; then
    pass raw-entry-check-reachable-only
else
    fail raw-entry-check-reachable-only "$(why)"
fi
finish
