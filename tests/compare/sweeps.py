"""Sweep folders built by hand: result folders of hand-made records (integer ns, known TTFT and
ITL) written with the same functions `crossfade bench` and `crossfade compare` use."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from crossfade.bench.plan import LoadPlan
from crossfade.bench.protocol import ErrorKind, RequestRecord
from crossfade.bench.results import BenchResult, save_result
from crossfade.bench.slo import parse_slo
from crossfade.bench.summary import in_window, summarize
from crossfade.bench.sweep_index import SweepIndex, SweepRun, SweepTarget, save_sweep
from tests.support import results as saved_results

MS = 1_000_000
FINGERPRINT = "0123456789abcdef"


@dataclass(frozen=True)
class RunShape:
    """What one run's requests look like: lognormal TTFT around `ttft_ms`, then `tokens` tokens
    one per chunk `itl_ms` apart (each request at its own pace), `failures` failed requests."""

    ttft_ms: float
    itl_ms: float = 10.0
    tokens: int = 20
    requests: int = 200
    failures: int = 2
    sent_after_ms: float = 0.0  # client queue time: sent - scheduled
    error: str = "planted"  # what each failed request's server said
    forced: bool = True  # False: `tokens` was a cap; the lengths were counted by crossfade


def closed_loop_records(
    shape: RunShape, concurrency: int, rng: np.random.Generator
) -> list[RequestRecord]:
    """Records of a closed loop: each slot schedules its next request when its last one ends."""
    free = [0] * concurrency
    records = []
    for index in range(shape.requests):
        slot = int(np.argmin(free))
        scheduled = free[slot]
        sent = scheduled + int(shape.sent_after_ms * MS)
        record = RequestRecord(index, 10, shape.tokens, scheduled_ns=scheduled, sent_ns=sent)
        if index < shape.failures:
            record.fail(ErrorKind.HTTP_STATUS, shape.error, sent + 5 * MS)
        else:
            first = sent + int(rng.lognormal(np.log(shape.ttft_ms), 0.3) * MS)
            pace = rng.lognormal(np.log(shape.itl_ms), 0.2)
            gaps = np.maximum(rng.normal(pace, pace / 5, shape.tokens - 1), 0.1) * MS
            record.chunk_ns = [first, *(first + np.cumsum(gaps).astype(np.int64)).tolist()]
            record.chunk_tokens = [1] * shape.tokens
            record.first_byte_ns = first
            record.end_ns = record.chunk_ns[-1] + MS
            if shape.forced:
                record.server_output_tokens = shape.tokens
            else:  # a server that counts nothing: crossfade counted the text
                record.counted_output_tokens = shape.tokens
        free[slot] = record.end_ns
        records.append(record)
    return records


def bench_result(
    name: str,
    plan: LoadPlan,
    records: list[RequestRecord],
    slos: list[str],
    fingerprint: str = FINGERPRINT,
    forced: bool = True,
) -> BenchResult:
    """A result as `bench.session` fills one (only what compare reads is meaningful)."""
    start = min(r.scheduled_ns for r in records)
    end = max(r.end_ns for r in records)
    basis = "scheduled" if plan.mode == "open" else "sent"
    measured = in_window(records, start, end)
    slo_list = [parse_slo(s) for s in slos]
    summary = summarize(measured, start, end, slo_list, basis, forced_length=forced)
    workload = saved_results.WORKLOAD.model_copy(
        update={"fingerprint": fingerprint, "count": len(records)}
    )
    return saved_results.bench_result(
        name, plan, summary, start_ns=start, records=len(records), slos=slos, workload=workload
    )


@dataclass
class SweepBuilder:
    """Runs added one at a time, then written as a sweep folder."""

    folder: Path
    levels: list[float]
    targets: list[str]
    slos: list[str] = field(default_factory=list)
    runs: list[SweepRun] = field(default_factory=list)

    def add(
        self,
        target: str,
        level: float,
        shape: RunShape,
        seed: int,
        repeat: int = 0,
        fingerprint: str = FINGERPRINT,
        slos: list[str] | None = None,
    ) -> Path:
        rng = np.random.default_rng(seed)
        records = closed_loop_records(shape, int(level), rng)
        plan = LoadPlan(concurrency=int(level), requests=shape.requests)
        result = bench_result(
            target, plan, records, self.slos if slos is None else slos, fingerprint, shape.forced
        )
        relative = f"runs/{target}-c{level:g}-r{repeat}"
        save_result(self.folder / relative, result, records)
        self.runs.append(
            SweepRun(
                target=target, level=level, repeat=repeat, order=len(self.runs),
                folder=relative, stop_reason="completed",
            )
        )  # fmt: skip
        return self.folder / relative

    def save(self, stop_reason: str = "completed", repeat: int = 1) -> Path:
        index = SweepIndex(
            mode="concurrency",
            levels=self.levels,
            repeat=repeat,
            targets=[SweepTarget(name=name, url=f"openai://{name}:1/v1") for name in self.targets],
            workload_fingerprint=FINGERPRINT,
            runs=self.runs,
            stop_reason=stop_reason,
        )
        save_sweep(self.folder, index)
        return self.folder
