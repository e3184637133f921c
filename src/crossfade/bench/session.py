"""One benchmark run from start to saved result: client, server-metrics sampler, runner, summary.

Whatever ends the run, including an exception, the records measured so far are summarised and
saved with the reason it stopped.

How the load is sent (this process, worker processes, or one shard of several pods) is decided
once, by `bench.execution`. A shard's result keeps the pod's wall-minus-monotonic clock offset,
so `bench.merge` can put every pod's records on one time axis.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossfade.bench.calibration_model import Calibration
from crossfade.bench.clients import info_header, make_client
from crossfade.bench.execution import Execution, Shard, plan_execution
from crossfade.bench.lengths import count_output_lengths
from crossfade.bench.plan import LoadPlan, StopReason
from crossfade.bench.protocol import RequestRecord
from crossfade.bench.result_model import (
    ClockOffsets,
    RunConfig,
    RunInfo,
    ShardFacts,
    SweepSlot,
    TargetInfo,
    TritonServerInfo,
    environment,
    read_server_info,
)
from crossfade.bench.results import BenchResult, save_result
from crossfade.bench.runner import Interrupt, OnRecord, RunOutcome
from crossfade.bench.scraper import MetricsSampler
from crossfade.bench.server_metrics import Scrape, server_view
from crossfade.bench.slo import LatencyBasis, Slo
from crossfade.bench.summary import Summary, in_window, summarize
from crossfade.bench.targets import TargetSpec
from crossfade.bench.workload import Workload


def wall_minus_monotonic_ns() -> int:
    """time.time_ns() - perf_counter_ns(): maps this host's monotonic readings to wall time.

    The wall reading is bracketed by two monotonic ones; of a few tries, the narrowest bracket
    wins (a first, cold call can take microseconds)."""
    tries = []
    for _ in range(5):
        before = time.perf_counter_ns()
        wall = time.time_ns()
        after = time.perf_counter_ns()
        tries.append((after - before, wall - (before + after) // 2))
    return min(tries)[1]


@dataclass
class BenchConfig:
    target: TargetSpec
    plan: LoadPlan
    output: Path
    slos: Sequence[Slo] = ()
    metrics_url: str | None = None  # None: derived from the target (see default_metrics_url)
    scrape_metrics: bool = True
    client_overhead: Calibration | None = None  # from `crossfade calibrate`, when known
    workers: int = 1  # processes sending load (see workers.py)
    shard: Shard | None = None  # this run is one shard of several (see bench.merge)
    sweep: SweepSlot | None = None  # this run is one of a sweep's (see bench.sweep)

    def execution(self, workload: Workload) -> Execution:
        """How this run sends `workload`'s load; raises UsageError for a shard it cannot make."""
        return plan_execution(workload.requests, self.plan, workers=self.workers, shard=self.shard)


def overhead_note(
    chunks: int, window_s: float, workers: int, calibration: Calibration | None
) -> str | None:
    """A warning when the run asked more of each client process than `crossfade calibrate`
    found it can do cleanly on this machine (client time would then be in the figures)."""
    if calibration is None or window_s <= 0:
        return None
    budget = calibration.max_clean_chunk_rate_per_s
    rate = chunks / window_s / max(workers, 1)
    if budget is not None and rate <= budget:
        return None
    limit = "no level was clean" if budget is None else f"the clean budget is {budget:.0f}/s"
    return (
        f"each client process received {rate:.0f} chunks/s, beyond what crossfade calibrate "
        f"measured on this machine ({limit}, {calibration.date}): "
        "client overhead may be in these latencies; add --workers or use a bigger client"
    )


def default_metrics_url(target: TargetSpec) -> str:
    """Triton's metrics port is its HTTP port + 2 (gRPC + 1), as in 8000/8001/8002; an OpenAI
    server serves /metrics on its own port."""
    if target.transport == "openai":
        return f"http://{target.address}/metrics"
    offset = 2 if target.transport == "triton-http" else 1
    host = target.address.rpartition(":")[0]  # bracketed when IPv6
    return f"http://{host}:{target.port + offset}/metrics"


async def run_bench(
    config: BenchConfig,
    workload: Workload,
    on_record: OnRecord | None = None,
    interrupt: asyncio.Event | None = None,
    execution: Execution | None = None,
) -> BenchResult:
    """Run `config` over `workload` and save it. `execution`: `config.execution(workload)`,
    when the caller already has it (the CLI, which refuses a bad shard before anything else)."""
    execution = execution or config.execution(workload)
    plan = execution.plan
    client = make_client(
        config.target,
        concurrency=execution.warm_connections,
        request_timeout_s=plan.request_timeout_s,
    )
    metrics_url = config.metrics_url or default_metrics_url(config.target)
    sampler = MetricsSampler(metrics_url) if config.scrape_metrics else None
    outcome: RunOutcome | None = None
    info: dict[str, Any] = {}
    notes: list[str] = []
    started_wall = time.time()
    clock = {"start": wall_minus_monotonic_ns()}
    try:
        await client.start()
        info = await client.server_info()
        if sampler is not None:
            await sampler.start()
        clock["start"] = wall_minus_monotonic_ns()
        outcome = await execution.send(
            client, config.target, clock["start"], on_record=on_record, interrupt=interrupt
        )
    except BaseException as exc:
        notes.append(f"the run ended early: {type(exc).__name__}: {exc}")
        raise
    finally:
        clock["end"] = wall_minus_monotonic_ns()
        stopped = outcome is None or outcome.stop_reason == StopReason.INTERRUPTED
        if stopped and isinstance(interrupt, Interrupt) and interrupt.signal is not None:
            notes.append(
                f"interrupted by {interrupt.signal.name}: requests in flight were cancelled "
                "(recorded as cancelled); every request that finished is saved"
            )
        scrapes = await sampler.stop() if sampler is not None else []
        await client.close()
        if sampler is not None:
            notes += sampler.failures
        if outcome is not None:  # after the run: nothing is tokenised while it is measured
            notes += count_output_lengths(outcome.records, workload.tokenizer)
        run = _Measured(outcome, started_wall, clock, notes)
        result = _result(config, workload, info, run, scrapes, plan)
        records = outcome.records if outcome is not None else []
        save_result(config.output, result, records)
    return result


def summarize_outcome(
    outcome: RunOutcome | None, plan: LoadPlan, slos: Sequence[Slo], *, forced_length: bool
) -> tuple[list[RequestRecord], Summary]:
    """The measured records (warm-up dropped) and their summary over the outcome's window;
    `forced_length`: the target's requests asked for exact output lengths."""
    records: list[RequestRecord] = outcome.records if outcome is not None else []
    start = outcome.measure_start_ns if outcome is not None else 0
    # A run stopped before anything was measured still gets a (one-nanosecond) window, so the
    # result says so instead of failing to be written.
    end = max(outcome.end_ns, start + 1) if outcome is not None else 1
    measured = in_window(records, start, end)
    # Open loop: latency from the intended send time, so queueing in the client is not hidden.
    basis: LatencyBasis = "scheduled" if plan.mode == "open" else "sent"
    return measured, summarize(measured, start, end, slos, basis, forced_length=forced_length)


@dataclass
class _Measured:
    outcome: RunOutcome | None
    started_wall: float
    clock: dict[str, int]  # wall_minus_monotonic_ns at the start and the end of the run
    notes: list[str]


def _run_config(config: BenchConfig, workload: Workload, plan: LoadPlan) -> RunConfig:
    """`plan` is what this process ran; a shard also keeps the whole run's plan."""
    shard, label = config.shard, plan.describe()
    if shard is not None:
        label += f", shard {shard.index}/{shard.count} of {config.plan.describe()}"
    return RunConfig(
        plan=plan,
        plan_label=label,
        shard=(
            ShardFacts(
                index=shard.index,
                count=shard.count,
                start_at_unix=shard.start_at_unix,
                plan=config.plan,
            )
            if shard is not None
            else None
        ),
        sweep=config.sweep,
        slos=[str(slo) for slo in config.slos],
        metrics_url=config.metrics_url or default_metrics_url(config.target),
        workers=config.workers,
        workload=workload.facts(),
    )


def _result(
    config: BenchConfig,
    workload: Workload,
    info: dict[str, Any],
    run: _Measured,
    scrapes: list[Scrape],
    plan: LoadPlan,
) -> BenchResult:
    outcome = run.outcome
    records: list[RequestRecord] = outcome.records if outcome is not None else []
    forced = config.target.dialect.forces_length
    measured, summary = summarize_outcome(outcome, plan, config.slos, forced_length=forced)
    model = config.target.model if config.target.transport != "openai" else None
    view = server_view(model, scrapes) if scrapes else None
    chunks = sum(len(r.chunk_ns) for r in measured if r.ok)
    notes = run.notes
    budget = overhead_note(chunks, summary.window_s, config.workers, config.client_overhead)
    if budget is not None:
        notes = [*notes, budget]
    # The header first: a run that failed before the server was asked still names its target.
    server = read_server_info({**info_header(config.target), **info})
    return BenchResult(
        name=config.target.name,
        target=TargetInfo(url=config.target.url, server=server),
        emulated=isinstance(server, TritonServerInfo) and server.crossfade_emulated,
        config=_run_config(config, workload, plan),
        environment=environment(outcome.event_loop or None if outcome else None),
        run=RunInfo(
            started_at_unix=run.started_wall,
            start_ns=outcome.start_ns if outcome else 0,
            measure_start_ns=summary.window_start_ns,
            end_ns=summary.window_end_ns,
            wall_minus_monotonic_ns=ClockOffsets(**run.clock),
            stop_reason=outcome.stop_reason if outcome is not None else StopReason.INTERRUPTED,
            records=len(records),
            measured_records=len(measured),
            warmup_records=len(records) - len(measured),
            notes=notes + (outcome.notes if outcome else []),
        ),
        summary=summary,
        server_metrics=view,
        client_overhead=config.client_overhead,
    )
