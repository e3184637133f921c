"""What a report says about the workload, the load plans and the machine: (field, value) rows
read from the runs' result.json files. Values that differ between runs are all listed, in the
order the runs were given, so a mixed set of runs shows that it is mixed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

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
    workloads = [result.config.get("workload") or {} for result in results]
    plans = [result.config.get("plan") or {} for result in results]
    closed = all(plan.get("concurrency") is not None for plan in plans)
    return _rows(
        [
            ("workload fingerprint", [w.get("fingerprint") for w in workloads]),
            ("source", [w.get("source") for w in workloads]),
            ("requests in the workload", [w.get("count") for w in workloads]),
            ("input lengths (tokens)", [w.get("input_len") for w in workloads]),
            ("output lengths (tokens)", [w.get("output_len") for w in workloads]),
            ("tokenizer", [w.get("tokenizer") for w in workloads]),
            ("workload seed", [w.get("seed") for w in workloads]),
            ("loop", ["closed (fixed concurrency)" if closed else "open (arrival rate)"]),
            ("arrivals", [] if closed else [plan.get("arrivals") for plan in plans]),
            ("requests per run", [plan.get("requests") for plan in plans]),
            ("duration per run (s)", [plan.get("duration_s") for plan in plans]),
            ("warm-up requests per run", [plan.get("warmup_requests") for plan in plans]),
            ("request timeout (s)", [plan.get("request_timeout_s") for plan in plans]),
            ("SLOs (goodput)", [", ".join(r.config.get("slos") or []) for r in results]),
        ]
    )


def _when(results: Sequence[BenchResult]) -> list[str]:
    """The span the runs were measured in (their own start times, never the report's)."""
    starts = [r.run.get("started_at_unix") for r in results]
    known = sorted(float(s) for s in starts if isinstance(s, int | float) and s > 0)
    if not known:
        return []
    first, last = (
        datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M") for t in (known[0], known[-1])
    )
    return [f"{first} UTC" if first == last else f"{first} to {last} UTC"]


def environment_rows(results: Sequence[BenchResult]) -> Rows:
    environments = [result.environment for result in results]
    overheads = [result.client_overhead or {} for result in results]
    return _rows(
        [
            ("runs", [len(results)]),
            ("measured", _when(results)),
            ("crossfade", [e.get("crossfade_version") for e in environments]),
            ("client host", [e.get("host") for e in environments]),
            ("client CPUs", [e.get("cpu_count") for e in environments]),
            ("Python", [e.get("python") for e in environments]),
            ("platform", [e.get("platform") for e in environments]),
            ("client workers", [r.config.get("workers", 1) for r in results]),
            (
                "client budget (chunks/s, crossfade calibrate)",
                [o.get("max_clean_chunk_rate_per_s") for o in overheads if o],
            ),
        ]
    )


def server_line(result: BenchResult) -> str:
    """One line from what the server said about itself when the run began."""
    info = result.target.get("server") or {}
    parts = [
        " ".join(str(info[k]) for k in ("server", "server_version") if info.get(k)),
        f"model {info['model']}" if info.get("model") else "",
        f"backend {info['backend']}" if info.get("backend") else "",
        f"platform {info['platform']}" if info.get("platform") else "",
        f"protocol {info['protocol']}" if info.get("protocol") else "",
        f"server error: {info['error']}" if info.get("error") else "",
    ]
    return "; ".join(part for part in parts if part) or "-"
