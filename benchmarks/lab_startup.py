"""How long `crossfade lab up` takes, cold and warm, and how much memory the lab uses.

    .venv/bin/python benchmarks/lab_startup.py [--runs 1]

Cold: a new, empty lab folder (the tiny model is built, repositories rendered, every server
started). Warm: `down`, then `up` again on the same folder (the model is cached). Memory: the
proportional set size (PSS, shared pages split fairly) and the resident set size (RSS, shared
pages counted in every process) summed over every process of the lab, sampled every 0.25 s
during start-up and during a short burst of concurrent requests to each target; the peak sum is
reported. Goals on the 2-core machine: cold < 120 s, warm < 60 s, peak < 6 GiB.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from crossfade.lab.control import down, status, up
from crossfade.lab.settings import LabSettings

PORTS = {"http_port": 18900, "grpc_port": 18901, "metrics_port": 18902, "vllm_port": 18910}
GIB = 1024**3


class MemorySampler:
    """Peak of the summed PSS and RSS of every process in the lab's process groups."""

    def __init__(self, settings: LabSettings) -> None:
        self.settings = settings
        self.peak_pss = 0
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            groups = {p.pid for p in status(self.settings).processes}
            pss = rss = 0
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    if int(fields[2]) not in groups:
                        continue
                    rollup = (entry / "smaps_rollup").read_text()
                except OSError:
                    continue
                for line in rollup.splitlines():
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
                    elif line.startswith("Rss:"):
                        rss += int(line.split()[1]) * 1024
            self.peak_pss = max(self.peak_pss, pss)
            self.peak_rss = max(self.peak_rss, rss)


def _post(url: str, payload: dict[str, object]) -> None:
    request = urllib.request.Request(
        url, json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        response.read()


def burst(settings: LabSettings, concurrency: int = 16, tokens: int = 64) -> None:
    """`concurrency` requests at once to each target, so engines allocate what serving needs."""
    triton = f"http://{settings.host}:{settings.http_port}/v2/models"
    native = f"http://{settings.host}:{settings.vllm_port}/v1/completions"
    prompt = "Memory under load " * 8
    calls = [
        (
            f"{triton}/vllm_model/generate",
            {"text_input": prompt, "parameters": {"max_tokens": tokens}},
        ),
        (f"{triton}/ensemble/generate", {"text_input": prompt, "max_tokens": tokens}),
        (native, {"model": "tiny-llama", "prompt": prompt, "max_tokens": tokens}),
    ]
    with ThreadPoolExecutor(concurrency * len(calls)) as pool:
        futures = [pool.submit(_post, url, body) for url, body in calls for _ in range(concurrency)]
        for future in futures:
            future.result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="cold+warm pairs to measure")
    args = parser.parse_args()
    quiet = lambda _: None  # noqa: E731
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="crossfade-lab-bench-") as folder:
            settings = LabSettings(Path(folder), **PORTS)
            try:
                with MemorySampler(settings) as memory:
                    started = time.monotonic()
                    up(settings, progress=quiet)
                    cold = time.monotonic() - started
                    burst(settings)
                down(settings)
                started = time.monotonic()
                up(settings, progress=quiet)
                warm = time.monotonic() - started
            finally:
                down(settings)
        print(
            f"run {run + 1}: cold up {cold:.1f} s (goal < 120), warm up {warm:.1f} s (goal < 60), "
            f"peak memory PSS {memory.peak_pss / GIB:.2f} GiB (goal < 6), "
            f"RSS sum {memory.peak_rss / GIB:.2f} GiB"
        )


if __name__ == "__main__":
    main()
