"""How much time crossfade's own client adds, measured against the ground-truth server.

The server (`groundtruth`) logs when it received each request and when it wrote each token, on
the client's clock. Joining the client's records to that log by prompt gives, per request:

- client-added TTFT = (client first token - client sent) - (server first write - server
  received), the sum of a send side (server received - client sent) and a receive side
  (client first token - server first write);
- ITL error, per token after the first: |client gap - server write gap|.

A level is "clean" when its added-TTFT p99 and ITL-error p99 stay under the thresholds; the
chunk rate of the highest clean level is what one client process takes without distorting what
it measures. The analysis functions are pure; the I/O (server, runs, file) comes after them.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from crossfade.bench import loop
from crossfade.bench.arrivals import poisson
from crossfade.bench.calibration_model import (
    Calibration,
    GroundTruthSettings,
    LevelFigures,
    Machine,
    StatsMs,
    Thresholds,
)
from crossfade.bench.clients import make_client
from crossfade.bench.groundtruth import prompt_key
from crossfade.bench.loop import loop_name
from crossfade.bench.metrics import NS_PER_MS, NS_PER_S
from crossfade.bench.plan import LoadPlan
from crossfade.bench.protocol import BenchRequest, RequestRecord
from crossfade.bench.result_model import environment
from crossfade.bench.runner import run_load
from crossfade.bench.targets import parse_target
from crossfade.errors import CrossfadeError
from crossfade.saved import parse_json, write_model


class CalibrationError(CrossfadeError):
    """The ground-truth server would not start or answer."""


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One request as the ground-truth server saw it, in perf_counter_ns."""

    key: str
    received_ns: int
    sent_ns: tuple[int, ...]  # when each token was written


@dataclass(frozen=True, slots=True)
class Overhead:
    """One request's client-side error against the server's log, in ns."""

    send_ns: int  # server received - client sent
    receive_ns: int  # client first token - server first write
    itl_error_ns: tuple[int, ...]  # per token after the first: |client gap - server gap|

    @property
    def added_ttft_ns(self) -> int:
        return self.send_ns + self.receive_ns


def parse_log(text: str) -> list[LogEntry]:
    """The entries of a flushed server log (JSON lines)."""
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [LogEntry(str(d["key"]), int(d["received_ns"]), tuple(d["sent_ns"])) for d in rows]


def token_times(record: RequestRecord) -> list[int]:
    """When the client had each output token: a chunk of k tokens gives k equal times."""
    chunks = zip(record.chunk_ns, record.chunk_tokens, strict=True)
    return [at for at, tokens in chunks for _ in range(tokens)]


def overhead(sent_ns: int, tokens_ns: Sequence[int], entry: LogEntry) -> Overhead:
    """Compare one request's client times (sent, per-token arrivals) with its log entry. Tokens
    are compared pairwise up to the shorter of the two lists."""
    count = min(len(tokens_ns), len(entry.sent_ns))
    if count == 0:
        raise ValueError("no token to compare: the client or the server saw none")
    client = np.diff(np.asarray(tokens_ns[:count], dtype=np.int64))
    server = np.diff(np.asarray(entry.sent_ns[:count], dtype=np.int64))
    errors = tuple(int(e) for e in np.abs(client - server))
    return Overhead(entry.received_ns - sent_ns, tokens_ns[0] - entry.sent_ns[0], errors)


def join(
    records: Iterable[RequestRecord], prompts: Mapping[int, str], entries: Iterable[LogEntry]
) -> tuple[list[tuple[RequestRecord, LogEntry]], list[RequestRecord]]:
    """Pair each record (by its request index's prompt) with a log entry of the same prompt;
    a prompt sent more than once pairs with the entry received nearest its send. Returns the
    pairs and the records nothing matched."""
    by_key: dict[str, list[LogEntry]] = {}
    for entry in entries:
        by_key.setdefault(entry.key, []).append(entry)
    pairs, unmatched = [], []
    for record in sorted(records, key=lambda r: r.sent_ns):
        candidates = by_key.get(prompt_key(prompts[record.index]), [])
        if not candidates:
            unmatched.append(record)
            continue
        best = min(candidates, key=lambda e: abs(e.received_ns - record.sent_ns))
        candidates.remove(best)
        pairs.append((record, best))
    return pairs, unmatched


def stats_ms(values_ns: Sequence[float]) -> StatsMs:
    """Mean, min, p50, p99 and max in milliseconds (numpy's linear percentiles); None when empty."""
    if len(values_ns) == 0:
        return StatsMs(mean=None, min=None, p50=None, p99=None, max=None)
    array = np.asarray(values_ns, dtype=np.float64) / NS_PER_MS
    p50, p99 = np.percentile(array, [50, 99])
    return StatsMs(
        mean=float(array.mean()),
        min=float(array.min()),
        p50=float(p50),
        p99=float(p99),
        max=float(array.max()),
    )


def level_figures(
    concurrency: int,
    pairs: Sequence[tuple[RequestRecord, LogEntry]],
    unmatched: int,
    thresholds: Thresholds,
) -> LevelFigures:
    """One level's figures from its measured, joined requests."""
    ok = [(r, e) for r, e in pairs if r.ok and r.chunk_ns]
    overheads = [overhead(r.sent_ns, token_times(r), e) for r, e in ok]
    chunks = sum(len(r.chunk_ns) for r, _ in ok)
    ends, starts = [r.end_ns for r, _ in ok], [r.sent_ns for r, _ in ok]
    window_ns = max(ends) - min(starts) if ok else 0
    added = stats_ms([o.added_ttft_ns for o in overheads])
    itl = stats_ms([e for o in overheads for e in o.itl_error_ns])
    failed = len(pairs) - len(ok)
    ttft_p99, itl_p99 = added.p99, itl.p99 or 0.0
    under = ttft_p99 is not None and ttft_p99 < thresholds.added_ttft_p99_ms
    clean = under and itl_p99 < thresholds.itl_error_p99_ms and not failed and not unmatched
    return LevelFigures(
        concurrency=concurrency,
        requests=len(pairs) + unmatched,
        joined=len(pairs),
        failed=failed,
        chunks=chunks,
        chunk_rate_per_s=chunks * NS_PER_S / window_ns if window_ns > 0 else 0.0,
        added_ttft_ms=added,
        send_ms=stats_ms([o.send_ns for o in overheads]),
        receive_ms=stats_ms([o.receive_ns for o in overheads]),
        itl_error_ms=itl,
        clean=bool(clean),
    )


def clean_limit(levels: Sequence[LevelFigures]) -> tuple[int | None, float | None]:
    """(concurrency, chunk rate) of the highest clean level; (None, None) if none is clean."""
    best = max((lv for lv in levels if lv.clean), key=lambda lv: lv.concurrency, default=None)
    return (None, None) if best is None else (best.concurrency, best.chunk_rate_per_s)


def default_path() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "crossfade" / "calibration.json"


def load_calibration(path: Path | None = None) -> Calibration | None:
    """The saved calibration, or None if there is none or it is not one (of this version)."""
    try:
        data = parse_json((path or default_path()).read_text(encoding="utf-8"))
        return Calibration.model_validate(data)
    except (OSError, ValueError):  # ValidationError is a ValueError
        return None


def save_calibration(calibration: Calibration, path: Path | None = None) -> Path:
    return write_model(path or default_path(), calibration)


@contextlib.contextmanager
def groundtruth_server(
    ttft_ms: float, itl_ms: float, log: Path, *, queue_ms: float = 0.0
) -> Iterator[str]:
    """Run the ground-truth server in a subprocess; yields its "127.0.0.1:PORT". The process is
    stopped on leaving, whatever ends the block (Ctrl-C included). `queue_ms`: the modelled
    queue in its LLM API model's perf timestamps."""
    with socket.socket() as sock:  # a free port now; a server that cannot bind it exits
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    options = {"--port": port, "--ttft-ms": ttft_ms, "--itl-ms": itl_ms, "--log": log}
    options["--queue-ms"] = queue_ms
    command = [sys.executable, "-m", "crossfade.bench.groundtruth"]
    command += [str(part) for pair in options.items() for part in pair]
    errors = log.with_name(log.name + ".stderr")
    with errors.open("wb") as stderr:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr)
    try:
        _wait_healthy(process, f"http://127.0.0.1:{port}/health", errors)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_healthy(process: subprocess.Popen[bytes], url: str, errors: Path) -> None:
    for _ in range(600):  # about 30 s
        if process.poll() is not None:
            tail = errors.read_text(errors="replace")[-2000:]
            raise CalibrationError(f"the ground-truth server exited ({process.returncode}): {tail}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as response:
            if response.status == 200:
                return
        time.sleep(0.05)
    raise CalibrationError(f"the ground-truth server did not answer {url} within 30 s")


def flush_log(address: str, log: Path) -> list[LogEntry]:
    """Have the server write its log (and clear it), then read it."""
    request = urllib.request.Request(f"http://{address}/groundtruth/flush", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
    return parse_log(log.read_text(encoding="utf-8"))


async def run_level(
    address: str,
    level: int,
    tokens: int,
    requests: int,
    *,
    poisson_rate: float | None = None,
    seed: int = 0,
) -> tuple[list[RequestRecord], dict[int, str]]:
    """A closed-loop run of `requests` unique prompts at `level`, or with `poisson_rate` an
    open-loop one (Poisson arrivals, `level` in flight on average when the rate is level / the
    answer's duration); the first `level` requests are warm-up (dropped) when there are at
    least twice as many."""
    prompts = {i: f"calibration {level} {i}" for i in range(requests)}
    workload = [BenchRequest(i, p, 2, tokens) for i, p in prompts.items()]
    warmup = level if requests >= 2 * level else 0
    if poisson_rate is None:
        plan = LoadPlan(concurrency=level, requests=requests, warmup_requests=warmup)
        offsets = None
    else:
        plan = LoadPlan(rate=poisson_rate, requests=requests, warmup_requests=warmup, seed=seed)
        offsets = poisson(poisson_rate, seed)
    client = make_client(parse_target(f"openai://{address}/v1?model=gt"), concurrency=level)
    await client.start()
    try:
        outcome = await run_load(client, workload, plan, offsets)
    finally:
        await client.close()
    return [r for r in outcome.records if r.scheduled_ns >= outcome.measure_start_ns], prompts


def calibrate(
    levels: Sequence[int] = (1, 16, 64, 128),
    tokens: int = 64,
    ttft_ms: float = 50.0,
    itl_ms: float = 10.0,
    requests_per_level: int | None = None,
    thresholds: Thresholds | None = None,
    on_level: Callable[[LevelFigures], None] | None = None,
) -> Calibration:
    """Measure every level against a fresh ground-truth server; returns the calibration. It runs
    on `bench.loop`'s loop, as every command does, so it describes the client that measures."""
    thresholds = thresholds or Thresholds()
    figures: list[LevelFigures] = []
    with (
        tempfile.TemporaryDirectory(prefix="crossfade-calibrate-") as folder,
        groundtruth_server(ttft_ms, itl_ms, Path(folder) / "log.jsonl") as address,
        loop.runner() as runner,
    ):
        event_loop = loop_name(runner.get_loop())
        for level in levels:
            count = requests_per_level or max(32, 4 * level)
            records, prompts = runner.run(run_level(address, level, tokens, count))
            entries = flush_log(address, Path(folder) / "log.jsonl")
            pairs, unmatched = join(records, prompts, entries)
            figures.append(level_figures(level, pairs, len(unmatched), thresholds))
            if on_level is not None:
                on_level(figures[-1])
    concurrency, rate = clean_limit(figures)
    load = [round(x, 2) for x in os.getloadavg()]
    return Calibration(
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        machine=Machine(**environment(event_loop).model_dump(), load_average=load),
        server=GroundTruthSettings(ttft_ms=ttft_ms, itl_ms=itl_ms, tokens=tokens),
        thresholds=thresholds,
        levels=figures,
        max_clean_concurrency=concurrency,
        max_clean_chunk_rate_per_s=rate,
    )
