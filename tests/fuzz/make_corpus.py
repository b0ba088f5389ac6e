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
