"""Checks an audit log (socksify --audit) for the integration tests; prints "ok" or
what is wrong, on one line.

  audit_check.py records LOG SKIP SPEC...
      The lines after the first SKIP are exactly SPEC, in order. Each SPEC is
      "KIND DEST PORT VERDICT REASON": DEST is the name, else the address, else "-";
      PORT is "-" for null. Every line must be one well-formed record.
  audit_check.py whole LOG COUNT PER_PID
      Every line of LOG is one well-formed record, there are COUNT of them, and each
      pid wrote PER_PID (concurrent writers produced only whole lines).
  audit_check.py absent LOG TEXT
      TEXT (a password, say) appears nowhere in LOG.
"""
import collections
import ipaddress
import json
import re
import sys

KEYS = ["time", "pid", "program", "kind", "name", "address", "port", "proxy", "verdict",
        "reason", "ms"]
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
DENY_REASONS = {"policy", "strict", "dns-off", "config", "udp-off", "res-query", "fd-table",
                "not-preloadable", "link-local", "supervised-udp"}


def problem(rec):
    """Why rec is not a well-formed record, or None."""
    if list(rec.keys()) != KEYS:
        return f"keys {list(rec.keys())}"
    if not isinstance(rec["time"], str) or not TIME.match(rec["time"]):
        return f"time {rec['time']!r}"
    if type(rec["pid"]) is not int or rec["pid"] <= 0:
        return f"pid {rec['pid']!r}"
    if not isinstance(rec["program"], str) or not rec["program"]:
        return f"program {rec['program']!r}"
    if rec["kind"] not in ("connect", "udp", "lookup", "refusal"):
        return f"kind {rec['kind']!r}"
    for key in ("name", "proxy"):
        if rec[key] is not None and (not isinstance(rec[key], str) or not rec[key]):
            return f"{key} {rec[key]!r}"
    if rec["address"] is not None:
        try:
            ipaddress.ip_address(rec["address"])
        except ValueError:
            return f"address {rec['address']!r}"
    port = rec["port"]
    if port is not None and (type(port) is not int or not 1 <= port <= 65535):
        return f"port {port!r}"
    if type(rec["ms"]) is not int or rec["ms"] < 0:
        return f"ms {rec['ms']!r}"
    verdict, reason = rec["verdict"], rec["reason"]
    # A lookup record with reason "recycled": the name gave its fake address back.
    recycled = rec["kind"] == "lookup" and reason == "recycled"
    if verdict == "allow" and reason != "ok" and not recycled:
        return f"allow with reason {reason!r}"
    if verdict == "deny" and reason not in DENY_REASONS:
        return f"deny with reason {reason!r}"
    if verdict == "error" and not re.match(r"^(E[A-Z0-9]+|EAI_[A-Z]+)$", reason):
        return f"error with reason {reason!r}"
    if verdict not in ("allow", "deny", "error"):
        return f"verdict {verdict!r}"
    # Allowed connections and associations name their proxy; denials never reached it.
    if rec["kind"] in ("connect", "udp") and verdict == "allow" and rec["proxy"] is None:
        return f"no proxy for an allowed {rec['kind']}"
    if verdict == "deny" and rec["proxy"] is not None:
        return f"proxy {rec['proxy']!r} for a denial"
    if rec["kind"] == "lookup" and (rec["port"] is not None or rec["name"] is None):
        return "a lookup has a name and no port"
    return None


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        raise ValueError("the log does not end with a newline")
    records = []
    for n, raw in enumerate(data.split(b"\n")[:-1] if data else [], 1):
        try:
            rec = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"line {n}: not JSON ({e}): {raw[:120]!r}")
        if not isinstance(rec, dict):
            raise ValueError(f"line {n}: not an object")
        why = problem(rec)
        if why:
            raise ValueError(f"line {n}: {why}: {raw[:200]!r}")
        records.append(rec)
    return records


def spec_of(rec):
    dest = rec["name"] or rec["address"] or "-"
    port = "-" if rec["port"] is None else str(rec["port"])
    return f"{rec['kind']} {dest} {port} {rec['verdict']} {rec['reason']}"


def main():
    mode, path = sys.argv[1], sys.argv[2]
    try:
        if mode == "absent":
            with open(path, "rb") as f:
                found = sys.argv[3].encode() in f.read()
            print(f"{sys.argv[3]!r} is in the log" if found else "ok")
            return
        records = load(path)
    except (OSError, ValueError) as e:
        print(e)
        return
    if mode == "records":
        got = [spec_of(r) for r in records[int(sys.argv[3]):]]
        want = sys.argv[4:]
        print("ok" if got == want else f"got {got} want {want}")
    elif mode == "whole":
        count, per_pid = int(sys.argv[3]), int(sys.argv[4])
        pids = collections.Counter(r["pid"] for r in records)
        if len(records) != count:
            print(f"{len(records)} records, want {count}")
        elif any(n != per_pid for n in pids.values()):
            print(f"records per pid {sorted(pids.values())}, want {per_pid} each")
        else:
            print("ok")


if __name__ == "__main__":
    main()
