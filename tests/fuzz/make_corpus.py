#!/usr/bin/env python3
"""Writes the fuzz seed corpora: a few valid, truncated, pipelined and invalid messages
per decoder, as small binary files in corpus/fuzz_<decoder>/. Rerun after editing."""
import pathlib
import shutil

HERE = pathlib.Path(__file__).resolve().parent
IPV4 = bytes([0x01, 192, 0, 2, 10])
IPV6 = bytes([0x04, 0x20, 0x01, 0x0D, 0xB8] + [0] * 10 + [0x01])
DOMAIN = bytes([0x03, 11]) + b"example.com"
DOMAIN255 = bytes([0x03, 255]) + b"d" * 255
PORT = bytes([0x01, 0xBB])
DATA = b"GET / HTTP/1.1\r\n"


def addresses(prefix):
    return {
        "ipv4": prefix + IPV4 + PORT,
        "ipv6": prefix + IPV6 + PORT,
        "domain": prefix + DOMAIN + PORT,
        "domain1": prefix + bytes([0x03, 1]) + b"a" + PORT,
        "domain255": prefix + DOMAIN255 + PORT,
        "ipv4_then_data": prefix + IPV4 + PORT + DATA,
        "truncated_ipv6": prefix + IPV6[:9],
        "bad_atyp": prefix + bytes([0x02]) + IPV4[1:] + PORT,
        "empty_domain": prefix + bytes([0x03, 0x00]) + PORT,
    }


SEEDS = {
    "greeting": {
        "noauth": bytes([5, 1, 0]),
        "noauth_userpass": bytes([5, 2, 0, 2]),
        "all_methods": bytes([5, 255]) + bytes(range(255)),
        "then_request": bytes([5, 1, 0, 5, 1, 0]) + IPV4 + PORT,
        "truncated": bytes([5, 3, 0]),
        "bad_version": bytes([4, 1, 0]),
        "no_methods": bytes([5, 0]),
    },
    "method_selection": {
        "noauth": bytes([5, 0]),
        "userpass": bytes([5, 2]),
        "none": bytes([5, 0xFF]),
        "then_status": bytes([5, 2, 1, 0]),
        "bad_version": bytes([1, 0]),
    },
    "userpass_request": {
        "short": bytes([1, 1]) + b"u" + bytes([1]) + b"p",
        "typical": bytes([1, 5]) + b"alice" + bytes([6]) + b"s3cret",
        "longest": bytes([1, 255]) + b"u" * 255 + bytes([255]) + b"p" * 255,
        "truncated": bytes([1, 5]) + b"alice" + bytes([6]) + b"s3",
        "bad_version": bytes([5, 1]) + b"u" + bytes([1]) + b"p",
        "empty_user": bytes([1, 0, 1]) + b"p",
        "empty_pass": bytes([1, 1]) + b"u" + bytes([0]),
    },
    "userpass_status": {
        "success": bytes([1, 0]),
        "failure": bytes([1, 1]),
        "then_reply": bytes([1, 0, 5, 0, 0]) + IPV4 + PORT,
        "bad_version": bytes([5, 0]),
    },
    "request": {
        **addresses(bytes([5, 1, 0])),
        "bind": bytes([5, 2, 0]) + IPV4 + PORT,
        "udp_associate": bytes([5, 3, 0, 1, 0, 0, 0, 0, 0, 0]),
        "bad_command": bytes([5, 4, 0]) + IPV4 + PORT,
        "bad_rsv": bytes([5, 1, 1]) + IPV4 + PORT,
        "bad_version": bytes([4, 1, 0]) + IPV4 + PORT,
    },
    "reply": {
        **addresses(bytes([5, 0, 0])),
        **{f"code{rep}": bytes([5, rep, 0]) + IPV4 + PORT for rep in range(1, 9)},
        "code9": bytes([5, 9, 0]) + IPV4 + PORT,
        "bad_rsv": bytes([5, 0, 1]) + IPV4 + PORT,
        "bad_version": bytes([4, 0, 0]) + IPV4 + PORT,
    },
    "udp_header": {
        **addresses(bytes([0, 0, 0])),
        "fragment": bytes([0, 0, 0x81]) + IPV4 + PORT + DATA,
        "bad_rsv": bytes([0, 1, 0]) + IPV4 + PORT,
    },
    "address": addresses(b""),
    # Text inputs for the parsers of shim/ (policy rules, config files, audit lines).
    "policy": {
        "names": b"allow:*.pypi.internal:443,allow:git.internal:22,deny:ads.example",
        "networks": b"deny:203.0.113.0/24,allow:198.51.100.0/24:1-1024,deny:192.0.2.7",
        "ipv6": b"deny:[2001:db8::/32]:443,allow:2001:db8:1::/48,allow:*",
        "bad_port": b"allow:a.test:99999",
        "bad_range": b"allow:a.test:9-1",
        "star_inside": b"deny:a.*.test",
        "empty_item": b"allow:a.test,",
        "no_verb": b"a.test",
    },
    "config_file": {
        "socksify": b"# CI\nproxy = socks5h://198.51.100.1:1080\nstrict = yes\n"
                    b"default-deny = yes\naudit = /var/log/a.log\n\n[policy]\n"
                    b"allow *.pypi.internal:443\ndeny 203.0.113.0/24\n",
        "quoted": b'timeout = "7"\naudit = "/var/log/a#1" # comment\n',
        "unknown_key": b"colour = blue\n",
        "bad_section": b"[proxies]\n",
        "proxychains": b"strict_chain\nproxy_dns\ntcp_read_time_out 15000\n"
                       b"tcp_connect_time_out 8000\nlocalnet 203.0.113.0/255.255.255.0\n"
                       b"[ProxyList]\nsocks5 127.0.0.1 9050 user pass\nsocks4 198.51.100.1 1080 id\n",
        "proxychains_http": b"[ProxyList]\nhttp 127.0.0.1 3128\n",
        "nul": b"proxy = a\x00b\n",
    },
    "audit_line": {
        "connect": b'{"time":"2026-11-27T00:00:00.123Z","pid":1,"program":"curl",'
                   b'"kind":"connect","name":"a.test","address":null,"port":443,'
                   b'"proxy":"198.51.100.1:1080","verdict":"allow","reason":"ok","ms":3}',
        "escapes": b'{"kind":"lookup","verdict":"deny","name":"a\\"b\\u00ff\\n"}',
        "truncated": b'{"kind":"connect","verdict":"allow"',
        "split": b"curl\x01a.test\x01192.0.2.1\x01ECONNREFUSED",
        "utf8": "prog\x01n\u00e4me\x01\x01ok".encode() + b"\xff\xfe",
    },
    "socks4_reply": {
        "granted": bytes([0, 90, 0, 80, 203, 0, 113, 10]),
        "granted_then_data": bytes([0, 90, 0, 80, 203, 0, 113, 10]) + DATA,
        "rejected": bytes([0, 91, 0, 0, 0, 0, 0, 0]),
        "truncated": bytes([0, 90, 0]),
        "bad_version": bytes([4, 90, 0, 80, 1, 2, 3, 4]),
    },
    "http_response": {
        "established": b"HTTP/1.1 200 Connection established\r\n\r\n",
        "tinyproxy": b"HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n",
        "then_tunnel": b"HTTP/1.1 200 OK\r\n\r\nSSH-2.0-x\r\n",
        "bare_lf": b"HTTP/1.1 200\n\n",
        "auth_required": b"HTTP/1.1 407 Proxy Authentication Required\r\n"
        b"Proxy-Authenticate: Basic realm=\"squid\"\r\nContent-Length: 0\r\n\r\n",
        "truncated": b"HTTP/1.1 200 Conn",
        "not_http": b"SSH-2.0-OpenSSH\r\n\r\n",
        "bad_status": b"HTTP/1.1 2x0 OK\r\n\r\n",
    },
}


def main():
    root = HERE / "corpus"
    for decoder, seeds in SEEDS.items():
        target = root / f"fuzz_{decoder}"
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for name, data in seeds.items():
            (target / f"{name}.bin").write_bytes(data)


if __name__ == "__main__":
    main()
