#!/usr/bin/env python3
"""Reads the output of `wrk --latency` and prints one JSON object:
{"rps", "p50_ms", "p90_ms", "p99_ms", "requests", "seconds", "non2xx", "socket_errors",
 "transfer_per_sec"}. Standard library only."""

import json
import re
import sys

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def ms(value):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if not m:
        return None
    return float(m.group(1)) * UNITS[m.group(2)]


def parse(text):
    out = {
        "rps": None,
        "p50_ms": None,
        "p90_ms": None,
        "p99_ms": None,
        "requests": None,
        "seconds": None,
        "non2xx": 0,
        "socket_errors": 0,
        "transfer_per_sec": None,
    }
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if m:
        out["rps"] = float(m.group(1))
    m = re.search(r"Transfer/sec:\s+(\S+)", text)
    if m:
        out["transfer_per_sec"] = m.group(1)
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", text)
    if m:
        out["requests"] = int(m.group(1))
        out["seconds"] = ms(m.group(2) + m.group(3)) / 1000.0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if m:
        out["non2xx"] = int(m.group(1))
    m = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    if m:
        out["socket_errors"] = sum(int(g) for g in m.groups())
    dist = text.split("Latency Distribution", 1)
    if len(dist) == 2:
        for pct, value in re.findall(r"^\s+(\d+)%\s+(\S+)", dist[1], re.M):
            if pct in ("50", "90", "99"):
                out[f"p{pct}_ms"] = ms(value)
    return out


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        print(json.dumps(parse(f.read())))
