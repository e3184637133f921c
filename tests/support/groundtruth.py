"""A real ground-truth streaming server (crossfade.bench.groundtruth) in its own process, on
real sockets, for the tests of what sends it load: the runner, sweeps, the CLI, the router."""

from __future__ import annotations

import contextlib
import os
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from crossfade.lab.processes import ManagedProcess, spawn, stop
from tests.support.ports import free_port


@dataclass(frozen=True)
class GroundTruth:
    process: ManagedProcess
    port: int
    log: Path
    ttft_ms: float
    itl_ms: float

    @property
    def target(self) -> str:
        return f"openai://127.0.0.1:{self.port}/v1?model=gt"


def start_groundtruth(
    folder: Path, port: int, ttft_ms: float = 20.0, itl_ms: float = 5.0
) -> GroundTruth:
    """Start the server on `port` and wait until its /health answers (30 s at most)."""
    log = folder / "groundtruth.jsonl"
    command = [
        sys.executable, "-m", "crossfade.bench.groundtruth", "--port", str(port),
        "--ttft-ms", str(ttft_ms), "--itl-ms", str(itl_ms), "--log", str(log),
    ]  # fmt: skip
    process = spawn("groundtruth", command, dict(os.environ), folder / "groundtruth.out")
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline or not process.alive():
                stop(process)
                raise RuntimeError("ground-truth server did not start") from None
            time.sleep(0.1)
    return GroundTruth(process, port, log, ttft_ms, itl_ms)


@contextlib.contextmanager
def running_groundtruth(
    folder: Path, ttft_ms: float = 20.0, itl_ms: float = 5.0
) -> Iterator[GroundTruth]:
    """A server on a free port (another test run on this host may hold any fixed one, and its
    /health would answer for ours), stopped on leaving."""
    server = start_groundtruth(folder, free_port(), ttft_ms, itl_ms)
    try:
        yield server
    finally:
        stop(server.process, grace_s=5)
