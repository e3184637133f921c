"""The bench's client-minus-server TTFT against the truth, on the ground-truth server.

    .venv/bin/python benchmarks/server_clock.py [--streams 64] [--requests 640] [--json FILE]

The ground-truth server (`bench/groundtruth.py`) in its LLM API wire mode answers Triton's
generate_stream for a model `tensorrt_llm` as TensorRT-LLM's LLM API model does, and, asked with
`sampling_param_return_perf_metrics`, stamps its responses with `arrival_time_ns`,
`first_scheduled_time_ns`, `first_token_time_ns` and `last_token_time_ns` from a server clock of
its own. `crossfade bench triton-llmapi://…/tensorrt_llm` runs in its own
process (`--streams` in flight, the tiny lab tokenizer for the workload and the length check),
as a user runs it; then the result folder is read back and joined to the server's log by prompt.

What is true, per request: the server logs, on this host's clock, when it read the request and
when it wrote each token, and in its LLM API mode the four stamps it sent (`server_times` in
the log line, with the record's field names; read when present). The truth is the client's TTFT
minus the server's TTFT by the stamps it logged (first_token - arrival): what the bench must
report for that request. Beside it, the client's TTFT minus the server's span from its read to
its first write (calibrate's client-added TTFT, the way in plus the way out), which says whether
the stamps are honest; without logged stamps it is the truth. The bench never sees the log: it
reports `client TTFT - (first_token - arrival)` from the stamps in the responses, per request
(requests.jsonl, through `metrics.request_metrics`) and in the summary's `server_clock`.

Goal: the summary's mean client-minus-server TTFT within 0.2 ms of the truth's mean over the
same measured requests, every measured request carrying the server's stamps, and no failure;
exit 1 otherwise. `--server-arg` passes an option to the server (repeat it), should its LLM API
mode need one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from crossfade.bench.calibration import LogEntry, flush_log, groundtruth_server, join
from crossfade.bench.dialects.base import ServerTimes
from crossfade.bench.metrics import NS_PER_MS, request_metrics
from crossfade.bench.protocol import RequestRecord
from crossfade.bench.results import BenchResult, load_records, load_result
from crossfade.bench.summary import Distribution, in_window
from crossfade.bench.workload import Workload

MODEL = "tensorrt_llm"
GOAL_MEAN_MS = 0.2


def run_bench(address: str, args: argparse.Namespace, tokenizer: Path, folder: Path) -> None:
    """`crossfade bench` in its own process, as a user runs it."""
    command = [
        sys.executable, "-m", "crossfade", "bench", f"triton-llmapi://{address}/{MODEL}",
        "--tokenizer", str(tokenizer), "--input-len", "32", "--output-len", str(args.tokens),
        "--concurrency", str(args.streams), "--requests", str(args.requests),
        "--warmup", str(args.streams), "--no-server-metrics",
        "--save-workload", str(folder / "workload.jsonl"), "-o", str(folder / "run"),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode not in (0, 1):  # 1: some requests failed; counted below
        raise SystemExit(f"crossfade bench exited {done.returncode}:\n{done.stderr[-3000:]}")


def ms(values: list[int]) -> dict[str, float] | None:
    """Mean, p50, p99 and max in ms, as the summary computes them (numpy's linear percentiles)."""
    if not values:
        return None
    array = np.asarray(values, dtype=np.float64) / NS_PER_MS
    points = np.percentile(array, [50, 99])
    return {"mean": float(array.mean()), "p50": float(points[0]), "p99": float(points[1]),
            "max": float(array.max())}  # fmt: skip


def reported_ms(d: Distribution | None) -> dict[str, float | None] | None:
    if d is None:
        return None
    shown = {"mean": d.mean, "p50": d.p50, "p99": d.p99, "max": d.max}
    return {k: None if v is None else v / NS_PER_MS for k, v in shown.items()}


def logged_stamps(log: Path) -> dict[tuple[str, int], ServerTimes]:
    """The stamps the server says it sent each request, when its log lines carry them (as
    `server_times`, by the record's field names), by (prompt key, received_ns)."""
    stamps = {}
    for line in log.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line) if line.strip() else {}
        if isinstance(entry.get("server_times"), dict):
            key = (str(entry["key"]), int(entry["received_ns"]))
            stamps[key] = ServerTimes(**entry["server_times"])
    return stamps


def compare(
    result: BenchResult,
    records: list[RequestRecord],
    pairs: list[tuple[RequestRecord, LogEntry]],
    stamps: dict[tuple[str, int], ServerTimes],
) -> dict[str, Any]:
    """The bench's figures against the truth from the log, over the measured requests. The truth
    is the client's TTFT minus the server's span by the stamps it logged, when it logs them,
    else by the instants it read the request and wrote the first token (host clock)."""
    window = in_window(records, result.run.measure_start_ns, result.run.end_ns)
    measured = {record.index for record in window}
    by_io, by_stamps, errors, spans, offsets = [], [], [], [], []
    for record, entry in pairs:
        metrics = request_metrics(record)
        if record.index not in measured or metrics is None or metrics.ttft_ns is None:
            continue
        span = entry.sent_ns[0] - entry.received_ns  # what the server really did, host clock
        spans.append(span)
        by_io.append(metrics.ttft_ns - span)
        logged = stamps.get((entry.key, entry.received_ns))
        if logged is not None:
            by_stamps.append(metrics.ttft_ns - (logged.first_token_ns - logged.arrival_ns))
        truth = by_stamps[-1] if stamps else by_io[-1]
        if metrics.client_minus_server_ttft_ns is not None:
            errors.append(abs(metrics.client_minus_server_ttft_ns - truth))
        if record.server_times is not None:  # how far apart the two clocks stand
            offsets.append(record.server_times.arrival_ns - record.sent_ns)
    clock = result.summary.server_clock
    reported = reported_ms(clock.client_minus_server_ttft_ns if clock else None)
    true = ms(by_stamps if stamps else by_io)
    off = None
    if reported and reported["mean"] is not None and true is not None:
        off = reported["mean"] - true["mean"]
    return {
        "requests": result.summary.requests,
        "failed": result.summary.failed,
        "measured_joined_to_the_log": len(by_io),
        "with_logged_stamps": len(by_stamps),
        "carrying_server_times": clock.records if clock else 0,
        "client_minus_server_ttft_ms": {
            "truth": "logged stamps" if stamps else "read and first write",
            "by_logged_stamps": ms(by_stamps),
            "by_read_and_first_write": ms(by_io),
            "bench": reported,
        },
        "bench_minus_truth_mean_ms": off,
        "per_request_abs_error_ms": ms(errors),
        "per_request_compared": len(errors),
        "server_ttft_ms": {
            "read_to_first_write": ms(spans),
            "bench": reported_ms(clock.ttft_ns if clock else None),
        },
        "server_queue_ms_bench": reported_ms(clock.queue_ns if clock else None),
        "client_ttft_ms": reported_ms(result.summary.distributions.ttft_ns),
        "server_clock_minus_client_clock_s": float(np.median(offsets)) / 1e9 if offsets else None,
    }


def verdict(figures: dict[str, Any]) -> list[str]:
    """What missed the goal (empty: met)."""
    misses = []
    if figures["failed"]:
        misses.append(f"{figures['failed']} requests failed")
    if figures["carrying_server_times"] != figures["requests"] - figures["failed"]:
        misses.append("not every successful request carried the server's stamps")
    if figures["unmatched"]:
        misses.append(f"{figures['unmatched']} requests are not in the server's log")
    error = figures["bench_minus_truth_mean_ms"]
    if error is None or abs(error) >= GOAL_MEAN_MS:
        misses.append(f"mean client-minus-server TTFT off by {error} ms (goal < {GOAL_MEAN_MS})")
    return misses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=64)
    parser.add_argument("--requests", type=int, default=640)
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--ttft-ms", type=float, default=20.0)
    parser.add_argument("--itl-ms", type=float, default=5.0)
    parser.add_argument("--server-arg", action="append", default=[], metavar="OPTION")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    from crossfade.lab.tiny_model import ensure_tiny_model

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "crossfade"
    tokenizer = ensure_tiny_model(cache / "server-clock")
    with tempfile.TemporaryDirectory(prefix="server-clock-") as tmp:
        folder, log = Path(tmp), Path(tmp) / "log.jsonl"
        with groundtruth_server(args.ttft_ms, args.itl_ms, log, args.server_arg) as address:
            run_bench(address, args, tokenizer, folder)
            entries = flush_log(address, log)
        result, records = load_result(folder / "run"), load_records(folder / "run")
        prompts = {r.index: r.prompt for r in Workload.load(folder / "workload.jsonl").requests}
        pairs, unmatched = join(records, prompts, entries)
        figures = compare(result, records, pairs, logged_stamps(log))
        figures["unmatched"] = len(unmatched)
    figures["settings"] = {k: v for k, v in vars(args).items() if k != "json"}
    misses = verdict(figures)
    figures["goal_met"] = not misses
    print(json.dumps(figures, indent=2))
    for miss in misses:
        print(f"MISSED: {miss}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
