"""What a report says about the workload, the load plans and the machine: (field, value) rows
read from the runs' result.json files. Values that differ between runs are all listed, in the
order the runs were given, so a mixed set of runs shows that it is mixed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from crossfade.bench.result_model import TritonServerInfo
from crossfade.bench.results import BenchResult

Rows = tuple[tuple[str, str], ...]


def _distinct(values: Iterable[Any]) -> str:
    seen: list[str] = []
    for value in values:
        text = "-" if value is None or value == "" else str(value)
        if text not in seen:
            seen.append(text)
    return ", ".join(seen)


def _rows(pairs: Iterable[tuple[str, list[Any]]]) -> Rows:
    rows = ((name, _distinct(values)) for name, values in pairs)
    return tuple((name, text) for name, text in rows if text not in ("", "-"))


def workload_rows(results: Sequence[BenchResult]) -> Rows:
    workloads = [result.config.workload for result in results]
    plans = [result.config.plan for result in results]
    closed = all(plan.concurrency is not None for plan in plans)
    return _rows(
        [
            ("workload fingerprint", [w.fingerprint for w in workloads]),
            ("source", [w.source for w in workloads]),
            ("requests in the workload", [w.count for w in workloads]),
            ("input lengths (tokens)", [w.input_len for w in workloads]),
            ("output lengths (tokens)", [w.output_len for w in workloads]),
            ("tokenizer", [w.tokenizer for w in workloads]),
            ("workload seed", [w.seed for w in workloads]),
            ("loop", ["closed (fixed concurrency)" if closed else "open (arrival rate)"]),
            ("arrivals", [] if closed else [plan.arrivals for plan in plans]),
            ("requests per run", [plan.requests for plan in plans]),
            ("duration per run (s)", [plan.duration_s for plan in plans]),
            ("warm-up requests per run", [plan.warmup_requests for plan in plans]),
            ("request timeout (s)", [plan.request_timeout_s for plan in plans]),
            ("SLOs (goodput)", [", ".join(r.config.slos) for r in results]),
        ]
    )


def _when(results: Sequence[BenchResult]) -> list[str]:
    """The span the runs were measured in (their own start times, never the report's)."""
    known = sorted(s for r in results if (s := r.run.started_at_unix) > 0)
    if not known:
        return []
    first, last = (
        datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M") for t in (known[0], known[-1])
    )
    return [f"{first} UTC" if first == last else f"{first} to {last} UTC"]


def environment_rows(results: Sequence[BenchResult]) -> Rows:
    environments = [result.environment for result in results]
    overheads = [r.client_overhead for r in results if r.client_overhead is not None]
    return _rows(
        [
            ("runs", [len(results)]),
            ("measured", _when(results)),
            ("crossfade", [e.crossfade_version for e in environments]),
            ("client host", [e.host for e in environments]),
            ("client CPUs", [e.cpu_count for e in environments]),
            ("Python", [e.python for e in environments]),
            ("platform", [e.platform for e in environments]),
            ("client workers", [r.config.workers for r in results]),
            (
                "client budget (chunks/s, crossfade calibrate)",
                [o.max_clean_chunk_rate_per_s for o in overheads],
            ),
        ]
    )


def server_line(result: BenchResult) -> str:
    """One line from what the server said about itself when the run began."""
    info = result.target.server
    triton = info if isinstance(info, TritonServerInfo) else None
    name = triton.server if triton is not None else None
    parts = [
        " ".join(part for part in (name, info.server_version) if part),
        f"model {info.model}" if info.model else "",
        f"backend {triton.backend}" if triton is not None and triton.backend else "",
        f"platform {triton.platform}" if triton is not None and triton.platform else "",
        f"protocol {info.protocol}",
        f"server error: {info.error}" if info.error else "",
    ]
    return "; ".join(part for part in parts if part)
