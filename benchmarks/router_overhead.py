"""crossfade's router against nginx as a weighted streaming proxy, in front of the same upstream.

    .venv/bin/python benchmarks/router_overhead.py [--repeats 3] [--seconds 8] [--json FILE]

Needs Debian's nginx and wrk (apt-get install nginx wrk). Three paths to one ground-truth
streaming server (crossfade.bench.groundtruth, its own process): direct, through nginx, through
`crossfade route` (its own process). Both proxies split 90/10 over two entries for that same
server. nginx runs one worker (master_process off, like the router's one process), HTTP/1.1
keep-alive to the upstream, `proxy_buffering off` and `proxy_request_buffering off`.

1. Added latency at 64 concurrent streams (crossfade's measured client, 32 tokens, 50 ms TTFT
   and 10 ms ITL at the server), the paths alternating `--repeats` times, two ways:
   - closed loop, 64 streams: every answer takes the same 360 ms, so the 64 streams move in
     lock-step, and each proxy gets its requests (and its tokens) in bursts of up to 64 at once;
   - open loop, Poisson arrivals at 64 / 0.36 s = 178/s: 64 streams in flight on average
     (Little's law), arriving at random as real clients do.
   The ground truth logs when each request arrived and when each token was written, on the same
   monotonic clock as the client, so per request: added TTFT = client TTFT - server TTFT, and
   per token: delay = client arrival - server write. A proxy's added latency is its path's
   figure minus the direct path's in the same round (the client's own share cancels out).
2. Saturation: wrk (C, one thread, 256 connections) posting streamed completions of 16 tokens
   to a second ground-truth server that answers at once (0 ms TTFT and ITL), `--seconds` per
   path: requests/s, and each proxy's CPU per request from /proc.

Goal (issue 7): the router's added p50 under 1 ms at 64 streams; its saturation rate against
nginx's, with what bounds it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from crossfade.bench.calibration import flush_log, groundtruth_server, join, run_level

STREAMS, TOKENS, REQUESTS = 64, 32, 384
ANSWER_S = 0.050 + (TOKENS - 1) * 0.010  # the ground truth's time for one answer
POISSON_RATE = STREAMS / ANSWER_S  # 64 in flight on average
POISSON_REQUESTS = 768
SATURATION_CONNECTIONS, SATURATION_TOKENS = 256, 16
TOKEN = "router-overhead-benchmark"
NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
error_log {folder}/error.log warn;
pid {folder}/nginx.pid;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream backends {{
        server {upstream} weight=9;
        server {upstream} weight=1;
        keepalive 512;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://backends;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_request_buffering off;
        }}
    }}
}}
"""
WRK_SCRIPT = """\
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{{"model": "gt", "prompt": "saturation", "max_tokens": {tokens}, "stream": true}}'
"""


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_port(port: int, process: subprocess.Popen[bytes], name: str) -> None:
    import socket

    for _ in range(200):
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with status {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
            return
        time.sleep(0.05)
    raise SystemExit(f"{name} did not listen on port {port}")


@contextlib.contextmanager
def serving(
    command: list[str], port: int, name: str, env: dict[str, str] | None = None
) -> Iterator[int]:
    """Run `command` until the block ends; yields its pid once it listens on `port`."""
    process = subprocess.Popen(command, env=os.environ | (env or {}), stdout=subprocess.DEVNULL)
    try:
        wait_port(port, process, name)
        yield process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def nginx(upstream: str, folder: Path) -> Iterator[tuple[str, int]]:
    """nginx proxying to `upstream`; yields its address and pid."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise SystemExit("nginx is not installed: apt-get install nginx wrk")
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "nginx.conf"
    conf.write_text(NGINX_CONF.format(folder=folder, upstream=upstream, port=port))
    with serving([binary, "-c", str(conf), "-p", str(folder)], port, "nginx") as pid:
        yield f"127.0.0.1:{port}", pid


@contextlib.contextmanager
def router(upstream: str, folder: Path) -> Iterator[tuple[str, int]]:
    """`crossfade route` proxying to `upstream`; yields its address and pid."""
    port, admin = free_port(), free_port()
    target = f"openai://{upstream}/v1?model=gt"
    config = folder / "router.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    config.write_text(
        json.dumps(  # JSON is YAML
            {
                "version": 1,
                "listen": {"port": port},
                "admin": {"port": admin, "token_env": "ROUTER_BENCH_TOKEN"},
                "backends": [
                    {"name": "a", "target": target, "weight": 90},
                    {"name": "b", "target": target, "weight": 10},
                ],
            }
        )
    )
    command = [sys.executable, "-m", "crossfade", "route", str(config)]
    with serving(command, port, "crossfade route", {"ROUTER_BENCH_TOKEN": TOKEN}) as pid:
        yield f"127.0.0.1:{port}", pid


def latency(address: str, server: str, log: Path, arrivals: str, seed: int) -> dict[str, Any]:
    """One run through `address` ("closed" loop or "poisson" open loop); added TTFT and
    per-token delay, in ms."""
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        if arrivals == "closed":
            records, prompts = runner.run(run_level(address, STREAMS, TOKENS, REQUESTS))
        else:
            run = run_level(
                address, STREAMS, TOKENS, POISSON_REQUESTS, poisson_rate=POISSON_RATE, seed=seed
            )
            records, prompts = runner.run(run)
    pairs, unmatched = join(records, prompts, flush_log(server, log))
    added, delays, failed = [], [], 0
    for record, entry in pairs:
        if not record.ok or not record.chunk_ns:
            failed += 1
            continue
        client_ttft = record.chunk_ns[0] - record.sent_ns
        server_ttft = entry.sent_ns[0] - entry.received_ns
        added.append(client_ttft - server_ttft)
        count = min(len(record.chunk_ns), len(entry.sent_ns))
        delays += [record.chunk_ns[i] - entry.sent_ns[i] for i in range(count)]
    return {
        "requests": len(records),
        "failed": failed + len(unmatched),
        "added_ttft_ms": percentiles(added),
        "token_delay_ms": percentiles(delays),
    }


def percentiles(values_ns: list[int]) -> dict[str, float]:
    array = np.asarray(values_ns, dtype=np.float64) / 1e6
    p50, p99 = np.percentile(array, [50, 99]) if array.size else (float("nan"),) * 2
    return {"p50": float(p50), "p99": float(p99)}


def saturation(address: str, pid: int | None, seconds: float, folder: Path) -> dict[str, Any]:
    """wrk against `address`: requests/s, latency, non-2xx, and the proxy's CPU per request."""
    script = folder / "post.lua"
    script.write_text(WRK_SCRIPT.format(tokens=SATURATION_TOKENS))
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: apt-get install nginx wrk")
    command = [wrk, "-t1", f"-c{SATURATION_CONNECTIONS}", f"-d{seconds:g}s", "--latency"]
    before = cpu_s(pid) if pid else 0.0
    out = subprocess.run(
        [*command, "-s", str(script), f"http://{address}/v1/completions"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    cpu = cpu_s(pid) - before if pid else None
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    return {
        "requests_per_s": rate,
        "requests": total,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else "",
        "latency_p50": "".join(p50.groups()) if p50 else "",
        "proxy_cpu_us_per_request": cpu * 1e6 / total if cpu is not None and total else None,
        "proxy_cpu_share": cpu / seconds if cpu is not None else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="router-overhead-") as temp:
        folder = Path(temp)
        results = run(folder, args.repeats, args.seconds)
    print_results(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def run(folder: Path, repeats: int, seconds: float) -> dict[str, Any]:
    paths = ("direct", "nginx", "router")
    rounds: list[dict[str, Any]] = []
    log = folder / "latency.log"
    with (
        groundtruth_server(50.0, 10.0, log) as server,
        nginx(server, folder / "nginx") as (via_nginx, _),
        router(server, folder / "router") as (via_router, _),
    ):
        addresses = {"direct": server, "nginx": via_nginx, "router": via_router}
        for path in paths:  # warm-up: connections, pools, first-use costs
            latency(addresses[path], server, log, "closed", 0)
        for repeat in range(repeats):
            order = paths[repeat % 3 :] + paths[: repeat % 3]
            rounds.append(
                {
                    f"{arrivals}:{path}": latency(addresses[path], server, log, arrivals, repeat)
                    for arrivals in ("closed", "poisson")
                    for path in order
                }
            )
    fast_log = folder / "saturation.log"
    saturated: dict[str, Any] = {}
    with groundtruth_server(0.0, 0.0, fast_log) as server:
        saturated["direct"] = saturation(server, None, seconds, folder)
        with nginx(server, folder / "nginx-sat") as (address, pid):
            saturation(address, pid, 2.0, folder)  # warm-up
            saturated["nginx"] = saturation(address, pid, seconds, folder)
        with router(server, folder / "router-sat") as (address, pid):
            saturation(address, pid, 2.0, folder)
            saturated["router"] = saturation(address, pid, seconds, folder)
    return {"rounds": rounds, "saturation": saturated, "load": os.getloadavg()}


def added(rounds: list[dict[str, Any]], path: str, metric: str, q: str) -> float:
    """Median over rounds of the path's figure minus the direct path's in the same round."""
    arrivals = path.split(":")[0]
    return float(
        statistics.median(r[path][metric][q] - r[f"{arrivals}:direct"][metric][q] for r in rounds)
    )


def print_results(results: dict[str, Any]) -> None:
    rounds = results["rounds"]
    print(f"added latency at {STREAMS} concurrent streams ({len(rounds)} rounds, median), ms:")
    header = f"{'TTFT p50':>9} {'TTFT p99':>9} {'token p50':>10} {'token p99':>10} failed"
    print(f"{'':34} {header}")
    labels = {
        "closed": f"closed loop, {STREAMS} in lock-step",
        "poisson": f"Poisson {POISSON_RATE:.0f}/s ({STREAMS} mean)",
    }
    for arrivals in ("closed", "poisson"):
        for proxy in ("nginx", "router"):
            path = f"{arrivals}:{proxy}"
            failed = sum(r[path]["failed"] for r in rounds)
            cells = [
                added(rounds, path, metric, q)
                for metric in ("added_ttft_ms", "token_delay_ms")
                for q in ("p50", "p99")
            ]
            name = f"{proxy:7}{labels[arrivals]}"
            print(f"{name:34} " + " ".join(f"{c:9.3f} " for c in cells) + f" {failed}")
    for arrivals in ("closed", "poisson"):
        direct = rounds[-1][f"{arrivals}:direct"]
        print(
            f"({arrivals}, direct path itself: client-measured TTFT - server TTFT p50 "
            f"{direct['added_ttft_ms']['p50']:.3f} ms; proxies' figures are net of it)"
        )
    sat = results["saturation"]
    print(f"\nsaturation, wrk {SATURATION_CONNECTIONS} connections, {SATURATION_TOKENS} tokens:")
    for path in ("direct", "nginx", "router"):
        s = sat[path]
        cpu = s["proxy_cpu_us_per_request"]
        cpu_text = (
            f"  proxy CPU {cpu:.0f} us/request ({s['proxy_cpu_share']:.2f} cores)" if cpu else ""
        )
        print(
            f"{path:8} {s['requests_per_s']:9.0f} requests/s  p50 {s['latency_p50']:>8}  "
            f"non-2xx {s['non_2xx']}{cpu_text}"
        )
    ratio = sat["router"]["requests_per_s"] / sat["nginx"]["requests_per_s"]
    print(f"router / nginx saturation rate: {ratio:.2f}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in results['load'])}")


if __name__ == "__main__":
    main()
