"""The router's CPU per request, counted rather than timed, so that two versions compare on a
busy machine.

    .venv/bin/python benchmarks/router_cpu.py [--requests 2000] [--concurrency 64]
        [--instructions] [--top 25] [--profile FILE]

A router runs in this process (the config of benchmarks/router_overhead.py: two entries 90/10
for one upstream) in front of a ground-truth server that answers at once (its own process); a
client subprocess sends `--requests` streamed completions of 16 tokens over `--concurrency`
keep-alive connections, after a warm-up. Printed: the router's Python function calls per
request under cProfile, and the functions with the most own time; the process CPU per request
of the same run (profiled, so only a rough figure). `--instructions` (needs valgrind): the
router process's instructions per request, from two runs under callgrind whose request counts
differ, so start-up cancels out; a few thousand of the router's about 1.7 million per request
move between runs.

To compare with an older commit: `git archive COMMIT src | tar -x -C /tmp/old` and run this
script with PYTHONPATH=/tmp/old/src (it uses only the router's and the ground truth's entry
points).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TOKENS = 16
WARMUP = 200
# The client: raw keep-alive HTTP/1.1, so its own process costs little; every answer must be 200.
CLIENT = r"""
import asyncio, sys, uvloop
host, port, left, connections, tokens = sys.argv[1], *map(int, sys.argv[2:])
body = b'{"model": "gt", "prompt": "router-cpu", "max_tokens": %d, "stream": true}' % tokens
request = b"POST /v1/completions HTTP/1.1\r\nHost: router\r\nContent-Type: application/json\r\n"
request += b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
failed = 0
async def connection():
    global left, failed
    reader, writer = await asyncio.open_connection(host, port)
    while left > 0:
        left -= 1
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            failed += 1
        await reader.readuntil(b"\r\n0\r\n\r\n")
    writer.close()
async def main():
    await asyncio.gather(*(connection() for _ in range(connections)))
uvloop.run(main())
print(failed)
"""


def router_config(upstream: str) -> dict[str, Any]:
    target = f"openai://{upstream}/v1?model=gt"
    return {
        "version": 1,
        "listen": {"port": 0},
        "admin": {"port": 0},
        "backends": [
            {"name": "a", "target": target, "weight": 90},
            {"name": "b", "target": target, "weight": 10},
        ],
    }


async def send(port: int, requests: int, concurrency: int) -> None:
    """`requests` streamed completions through the router at `port`, from a subprocess."""
    command = [sys.executable, "-c", CLIENT, "127.0.0.1", str(port), str(requests)]
    process = await asyncio.create_subprocess_exec(
        *command, str(concurrency), str(TOKENS), stdout=subprocess.PIPE
    )
    out, _ = await process.communicate()
    if process.returncode != 0 or out.strip() != b"0":
        raise SystemExit(f"the client failed (status {process.returncode}): {out!r}")


async def load(upstream: str, requests: int, concurrency: int, profile: bool) -> dict[str, Any]:
    """Start a router, warm it up, send the measured requests (under cProfile if `profile`)."""
    from crossfade.rollout.router.config import parse_router_config
    from crossfade.rollout.router.server import Router

    router = Router(parse_router_config(router_config(upstream)), "t" * 32, rng=random.Random(1))
    await router.start()
    profiler = cProfile.Profile()
    try:
        await send(router.data_port, WARMUP, concurrency)
        cpu_s = time.process_time()
        if profile:
            profiler.enable()
        await send(router.data_port, requests, concurrency)
        if profile:
            profiler.disable()
        cpu_s = time.process_time() - cpu_s
    finally:
        await router.stop()
    return {"cpu_s": cpu_s, "profiler": profiler}


def run(upstream: str, requests: int, concurrency: int, profile: bool) -> dict[str, Any]:
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(load(upstream, requests, concurrency, profile))


def print_profile(result: dict[str, Any], requests: int, top: int, save: Path | None) -> None:
    stats = pstats.Stats(result["profiler"])
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    calls = sum(entry[1] for entry in table.values())
    print(f"router: {calls / requests:.1f} Python function calls per request (cProfile)")
    print(f"        CPU {result['cpu_s'] * 1e6 / requests:.0f} us per request while profiled")
    if save is not None:
        stats.dump_stats(save)
    out = io.StringIO()
    pstats.Stats(result["profiler"], stream=out).sort_stats("tottime").print_stats(top)
    print(f"\nthe {top} functions with the most own time (wall clock, all {requests} requests):")
    print(out.getvalue().partition("   ncalls")[2].join(["   ncalls", ""]).rstrip())


def instructions(upstream: str, requests: int, concurrency: int) -> float:
    """Instructions the router process runs per request: two callgrind runs of this script,
    `requests` apart, so that start-up and warm-up cancel out."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    counts = []
    for n in (requests // 4, requests // 4 + requests):
        command = [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null"]
        command += [sys.executable, __file__, "--child", str(n), "--upstream", upstream]
        command += ["--concurrency", str(concurrency)]
        env = os.environ | {"PYTHONHASHSEED": "0"}
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if found is None:
            raise SystemExit(f"no instruction count from callgrind: {done.stderr[-2000:]}")
        counts.append(int(found.group(1)))
    return (counts[1] - counts[0]) / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--profile", type=Path, help="save the cProfile statistics here")
    parser.add_argument("--instructions", action="store_true")
    parser.add_argument("--upstream", help=argparse.SUPPRESS)  # the --instructions child's
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        run(args.upstream, args.child, args.concurrency, profile=False)
        return
    from crossfade.bench.calibration import groundtruth_server

    with (
        tempfile.TemporaryDirectory(prefix="router-cpu-") as temp,
        groundtruth_server(0.0, 0.0, Path(temp) / "groundtruth.log") as upstream,
    ):
        print(f"{args.requests} streamed requests of {TOKENS} tokens, {args.concurrency} at once")
        if args.instructions:
            per_request = instructions(upstream, args.requests, args.concurrency)
            print(f"router: {per_request / 1e6:.4f} million instructions per request (callgrind)")
        result = run(upstream, args.requests, args.concurrency, profile=True)
    print_profile(result, args.requests, args.top, args.profile)


if __name__ == "__main__":
    main()
