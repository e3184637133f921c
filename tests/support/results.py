"""Results built by hand, with every part `crossfade bench` fills, for the tests of what reads
them (compare, report, the sweep)."""

from __future__ import annotations

from collections.abc import Sequence

from crossfade.bench.calibration_model import (
    Calibration,
    GroundTruthSettings,
    LevelFigures,
    Machine,
    Thresholds,
)
from crossfade.bench.plan import LoadPlan, StopReason
from crossfade.bench.result_model import (
    ClockOffsets,
    Environment,
    OpenAIServerInfo,
    RunConfig,
    RunInfo,
    ServerInfo,
    TargetInfo,
)
from crossfade.bench.results import BenchResult
from crossfade.bench.summary import Summary
from crossfade.bench.workload import WorkloadFacts

WORKLOAD = WorkloadFacts(
    source="synthetic",
    seed=7,
    tokenizer="/models/tiny",
    tokenizer_fingerprint="abc123",
    input_len="128",
    output_len="16",
    fingerprint="f00dfeedf00dfeed",
    count=64,
)
ENVIRONMENT = Environment(
    crossfade_version="0.1.0", host="bench-host", cpu_count=2, python="3.11.7", platform="Linux"
)


def openai_server(name: str, url: str) -> OpenAIServerInfo:
    return OpenAIServerInfo(
        target=name, url=url, protocol="openai", dialect="completions", model="m"
    )


def bench_result(
    name: str,
    plan: LoadPlan,
    summary: Summary,
    *,
    start_ns: int,
    records: int,
    slos: Sequence[str] = (),
    url: str | None = None,
    server: ServerInfo | None = None,
    emulated: bool = False,
    workload: WorkloadFacts = WORKLOAD,
    started_at_unix: float = 1_750_000_000.0,
) -> BenchResult:
    """A result of `records` requests summarised as `summary` (its window is the measurement's),
    whose run started at `start_ns`."""
    url = url or f"openai://{name}:1/v1?model=m"
    return BenchResult(
        name=name,
        target=TargetInfo(url=url, server=server or openai_server(name, url)),
        emulated=emulated,
        config=RunConfig(
            plan=plan,
            plan_label=plan.describe(),
            slos=list(slos),
            metrics_url="http://127.0.0.1:1/metrics",
            workers=1,
            workload=workload,
        ),
        environment=ENVIRONMENT,
        run=RunInfo(
            started_at_unix=started_at_unix,
            start_ns=start_ns,
            measure_start_ns=summary.window_start_ns,
            end_ns=summary.window_end_ns,
            wall_minus_monotonic_ns=ClockOffsets(start=0, end=0),
            stop_reason=StopReason.COMPLETED,
            records=records,
            measured_records=summary.requests,
            warmup_records=records - summary.requests,
            notes=[],
        ),
        summary=summary,
    )


def calibration(
    levels: Sequence[LevelFigures] = (),
    *,
    rate: float | None = None,
    date: str = "2026-11-27T00:00:00+00:00",
) -> Calibration:
    """A calibration whose clean budget is `rate` chunks/s (None: no level was clean)."""
    machine = Machine(**ENVIRONMENT.model_dump(), load_average=[0.0, 0.0, 0.0])
    return Calibration(
        date=date,
        machine=machine,
        server=GroundTruthSettings(ttft_ms=20.0, itl_ms=5.0, tokens=8),
        thresholds=Thresholds(),
        levels=list(levels),
        max_clean_concurrency=None if rate is None else 1,
        max_clean_chunk_rate_per_s=rate,
    )
