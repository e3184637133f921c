"""The router's memory under clients that send one enormous header, or bodies built to expand.

    .venv/bin/python benchmarks/router_hostile_headers.py [--connections 3] [--mb 150]

Starts `crossfade route` (its own process; its one backend need not exist), then twice opens
`--connections` connections at once and samples the router's resident memory every 20 ms while
they send and for two seconds after they are all closed:

1. headers: each request's one header is `--mb` MB long;
2. bodies: each request's body is as large as the router takes (16 MiB), the JSON `[{},{},...]`:
   millions of empty objects, which parsed would take about 25 times the body's size.

After each, a well-formed request must still be answered. Prints the router's RSS before, its
peak (the kernel's high-water mark, VmHWM, reset between the two) and after, in MB, and how
each connection ended (the status the router answered, or the error the sender got once the
router closed). Goal (issue 12): peak under 300 MB for three 150 MB headers, and the memory
given back afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

from router_overhead import free_port, serving

TOKEN = "hostile-headers-benchmark"
MAX_BODY = 16 * 1024 * 1024  # the router's (crossfade.rollout.router.http_server)


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"no {field} for process {pid}")


def send(port: int, head: bytes, payload: bytes, tail: bytes, outcomes: list[str]) -> None:
    """Send one request in three parts; record how it ended."""
    sent = "sent whole"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
            try:
                for part in (head, payload, tail):
                    conn.sendall(part)
            except OSError as exc:
                sent = f"sending stopped by {type(exc).__name__}"
            try:
                answer = conn.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
            except OSError as exc:
                answer = f"no answer ({type(exc).__name__})"
            outcomes.append(f"{sent}; {answer or 'closed without an answer'}")
    except OSError as exc:
        outcomes.append(f"connect failed: {exc}")


def well_formed(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET /health HTTP/1.1\r\nHost: router\r\nConnection: close\r\n\r\n")
        return conn.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")


def attack(name: str, pid: int, port: int, connections: int, parts: tuple[bytes, ...]) -> float:
    """Send `parts` on `connections` connections at once; print the figures; the peak in MB."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    before = rss_mb(pid)
    outcomes: list[str] = []
    senders = [
        threading.Thread(target=send, args=(port, *parts, outcomes)) for _ in range(connections)
    ]
    started = time.perf_counter()
    for sender in senders:
        sender.start()
    while any(sender.is_alive() for sender in senders):
        time.sleep(0.02)
    took = time.perf_counter() - started
    time.sleep(2.0)
    after, peak = rss_mb(pid), rss_mb(pid, "VmHWM")
    print(f"{name}: {connections} connections, {took:.1f} s")
    print(f"  router RSS before {before:.0f} MB, peak {peak:.0f} MB, after {after:.0f} MB")
    for index, outcome in enumerate(outcomes):
        print(f"  connection {index + 1}: {outcome}")
    print(f"  then GET /health: {well_formed(port)}")
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=3)
    parser.add_argument("--mb", type=int, default=150, help="size of each header, MB")
    args = parser.parse_args()

    port, admin = free_port(), free_port()
    config = {
        "version": 1,
        "listen": {"port": port},
        "admin": {"port": admin, "token_env": "ROUTER_BENCH_TOKEN"},
        "backends": [{"name": "a", "target": f"openai://127.0.0.1:{free_port()}/v1?model=m"}],
    }
    header = (
        b"POST /v1/completions HTTP/1.1\r\nHost: router\r\nX-Huge: ",
        b"a" * (args.mb * 1024 * 1024),
        b"\r\nContent-Length: 2\r\n\r\n{}",
    )
    objects = (MAX_BODY - 2) // 3
    body = b"[" + b"{}," * (objects - 1) + b"{}]"
    head = b"POST /v1/completions HTTP/1.1\r\nHost: router\r\nContent-Length: %d\r\n\r\n"
    expanding = (head % len(body), body, b"")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "router.yaml"
        path.write_text(json.dumps(config))  # JSON is YAML
        command = [sys.executable, "-m", "crossfade", "route", str(path)]
        with serving(command, port, "crossfade route", {"ROUTER_BENCH_TOKEN": TOKEN}) as pid:
            time.sleep(0.5)
            peak = attack(f"one {args.mb} MB header each", pid, port, args.connections, header)
            attack(f"a {len(body) >> 20} MiB body of {objects} objects each", pid, port,
                   args.connections, expanding)  # fmt: skip
    goal = "met" if peak < 300 else "MISSED"
    print(f"goal: peak under 300 MB with the headers: {goal}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
