#!/usr/bin/env bash
# shellcheck disable=SC2317  # hostile.sh ends in finish (exit) only when run by itself
# Issue 17, hostile HTTP CONNECT and SOCKS4 upstreams: build/tests/hostile_proxy
# --speak http|socks4 plays each fault (malformed status lines, huge heads, every
# status class, a response in 1-byte pieces, tunnelled bytes in the head's own write,
# stalls, closes mid-answer; SOCKS4 reply codes, short replies, a bad version) and a
# program under the launcher gets the errno of the README's "Upstream errors" table
# within --timeout plus 1 s, never a hang, nothing direct. The harness (namespace,
# destination watchers, tcp_case, matrix) is hostile.sh's. One line per case; the
# matrix goes to build/test-logs/hostile-upstreams-matrix.txt.
set -euo pipefail
# shellcheck disable=SC2034  # both are read by hostile.sh
HOSTILE_HARNESS_ONLY=1
# shellcheck disable=SC2034
HOSTILE_MATRIX_OUT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/test-logs/hostile-upstreams-matrix.txt
# shellcheck source=tests/integration/hostile.sh
source "$(dirname "${BASH_SOURCE[0]}")/hostile.sh"

# --- HTTP CONNECT -------------------------------------------------------------------

PROXY_ARGS=(--speak http)
PROXY_URL=http://$PROXY
# A failure logs one line: the connect line, quoting what the proxy said (the status
# line, "socks4 carries IPv4 only", ...).
MAX_LINES=1

tcp_case http-ok ok ok
# The request as the proxy read it: CONNECT with the address and a Host line.
if [[ $(recorded_tcp) == "$(hexof "CONNECT $DEST:$DPORT HTTP/1.1")"0d0a* ]]; then
    pass http-request-bytes
else
    fail http-request-bytes "the proxy received $(oneline "$(cat "$REC")")"
fi
tcp_case http-name-ok ok ok block dest.hostile.test
if [[ $(recorded_tcp) == "$(hexof "CONNECT dest.hostile.test:$DPORT HTTP/1.1")"* ]]; then
    pass http-name-sent-to-proxy
else
    fail http-name-sent-to-proxy "the proxy received $(oneline "$(cat "$REC")")"
fi
tcp_case http-v6-ok ok ok block ::1

# Every status class (README, "Upstream errors"): any 2xx opens the tunnel.
declare -A HTTP_ERRNO=([200]=ok [204]=ok [299]=ok [407]=EACCES [403]=EACCES
    [404]=EHOSTUNREACH [410]=EHOSTUNREACH [502]=ECONNREFUSED [503]=ENETUNREACH
    [504]=ETIMEDOUT [500]=ECONNABORTED [400]=ECONNABORTED [301]=ECONNABORTED
    [100]=ECONNABORTED [101]=ECONNABORTED [599]=ECONNABORTED [600]=ECONNABORTED
    [999]=ECONNABORTED)
for st in 200 204 299 407 403 404 410 502 503 504 500 400 301 100 101 599 600 999; do
    tcp_case "http-status-$st" "status-$st" "${HTTP_ERRNO[$st]}"
done

# Malformed or oversized heads; the two odd but valid forms work.
for f in http-not-http http-bad-code http-huge-head http-huge-line; do
    tcp_case "$f" "$f" ECONNABORTED
done
tcp_case http-no-reason http-no-reason ok
tcp_case http-bare-lf http-bare-lf ok

# The answer in 1-byte pieces, and the tunnel's first bytes in the head's own write.
tcp_case http-trickle trickle ok
tcp_case http-trickle-407 trickle+status-407 EACCES
FIRST=EARLY!
tcp_case http-early-data early-data ok
FIRST=""

# Stalls and closes: "HTTP/1.1 200 Hostile\r\n\r\n" is 24 bytes.
tcp_case http-stall stall ETIMEDOUT
for n in 0 13 23; do tcp_case "http-stall-write-$n" "stall-write-$n" ETIMEDOUT; done
for n in 0 1 13 23; do tcp_case "http-close-write-$n" "close-write-$n" ECONNABORTED; done
for n in 0 40; do tcp_case "http-close-read-$n" "close-read-$n" ECONNABORTED; done
tcp_case http-reset reset ECONNRESET
tcp_case http-reset-at-accept reset-at-accept ECONNRESET

# Basic credentials: right, wrong, missing (the proxy answers 407 to the last two).
PROXY_ARGS=(--speak http --user "$USER_NAME" --pass "$USER_PASS")
PROXY_URL=http://$USER_NAME@$PROXY
ENVS=(SOCKSIFY_PASSWORD="$USER_PASS")
tcp_case http-auth-ok ok ok
ENVS=(SOCKSIFY_PASSWORD=wrong-pass)
tcp_case http-auth-wrong-password ok EACCES
ENVS=()
PROXY_URL=http://$PROXY
tcp_case http-auth-missing ok EACCES

# --- SOCKS4 and SOCKS4a ---------------------------------------------------------------

PROXY_ARGS=(--speak socks4)
PROXY_URL=socks4://$PROXY

tcp_case socks4-ok ok ok
# VN 4, CD 1, port 7, 127.0.0.2, empty user id and its NUL.
if [[ $(recorded_tcp) == 040100077f00000200* ]]; then
    pass socks4-request-bytes
else
    fail socks4-request-bytes "the proxy received $(oneline "$(cat "$REC")")"
fi
declare -A S4_ERRNO=([90]=ok [91]=ECONNREFUSED [92]=EACCES [93]=EACCES [94]=ECONNABORTED
    [1]=ECONNABORTED [89]=ECONNABORTED [255]=ECONNABORTED)
for code in 90 91 92 93 94 1 89 255; do tcp_case "socks4-rep-$code" "rep-$code" "${S4_ERRNO[$code]}"; done
tcp_case socks4-reply-bad-version reply-bad-version ECONNABORTED
# The 8-byte reply cut short: a granted one is no answer; a refusal whose code arrived
# still says what happened.
for ((n = 0; n < 8; n++)); do tcp_case "socks4-close-write-$n" "close-write-$n" ECONNABORTED; done
for ((n = 0; n < 8; n++)); do
    want=ECONNREFUSED
    ((n < 2)) && want=ECONNABORTED
    tcp_case "socks4-rep-91+close-write-$n" "rep-91+close-write-$n" "$want"
done
tcp_case socks4-stall stall ETIMEDOUT
for n in 0 1 7; do tcp_case "socks4-stall-write-$n" "stall-write-$n" ETIMEDOUT; done
tcp_case socks4-trickle trickle ok
FIRST=EARLY!
tcp_case socks4-early-data early-data ok
FIRST=""
tcp_case socks4-reset reset ECONNRESET
# socks4 carries IPv4 addresses only: under remote DNS a name (its fake address) is
# refused, and so is IPv6, before anything is sent.
LAUNCH=(--dns remote)
tcp_case socks4-remote-dns-name-refused ok EHOSTUNREACH block dest.hostile.test
if [[ ! -s $REC ]]; then pass socks4-name-nothing-sent
else fail socks4-name-nothing-sent "the proxy received $(oneline "$(cat "$REC")")"; fi
LAUNCH=()
tcp_case socks4-v6-refused ok ENETUNREACH block ::1

PROXY_URL=socks4a://$PROXY
tcp_case socks4a-name-ok ok ok block dest.hostile.test
# DSTIP 0.0.0.1, empty user id, then the name and its NUL.
if [[ $(recorded_tcp) == 0401000700000001"00$(hexof dest.hostile.test)"00* ]]; then
    pass socks4a-name-sent-to-proxy
else
    fail socks4a-name-sent-to-proxy "the proxy received $(oneline "$(cat "$REC")")"
fi
tcp_case socks4a-name-rep-91 rep-91 ECONNREFUSED block dest.hostile.test

# --- SOCKS5: the same piece-wise and early answers ------------------------------------

PROXY_ARGS=()
PROXY_URL=socks5h://$PROXY
MAX_LINES=1
tcp_case socks5-trickle trickle ok
FIRST=EARLY!
tcp_case socks5-early-data early-data ok
FIRST=""
for n in 0 2 5 11; do tcp_case "socks5-stall-write-$n" "stall-write-$n" ETIMEDOUT; done

cat "$MATRIX" >&2
finish
