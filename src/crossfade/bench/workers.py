"""Load beyond one core: the same run split over N worker processes, merged exactly.

Each worker gets every N-th request, its share of the concurrency (closed loop) or of the rate
(open loop: N independent arrival streams at rate/N with their own seeds superpose to the same
process for Poisson; constant streams are phase-shifted so they interleave exactly), and a
common start time on the host's monotonic clock. Raw records come back and are merged, so every
percentile is computed from all of them, never averaged.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from crossfade.bench.arrivals import arrival_offsets
from crossfade.bench.plan import LoadPlan, StopReason
from crossfade.bench.protocol import BenchRequest
from crossfade.bench.runner import RunOutcome, run_load
from crossfade.bench.targets import TargetSpec, make_client

START_DELAY_NS = 3_000_000_000  # time for every worker process to import and connect


@dataclass(frozen=True)
class WorkerShare:
    worker: int
    requests: tuple[BenchRequest, ...]
    plan: LoadPlan
    phase_ns: int  # constant arrivals: this worker's offset within the combined period


def split(requests: tuple[BenchRequest, ...], plan: LoadPlan, workers: int) -> list[WorkerShare]:
    if workers < 1:
        raise ValueError("--workers must be at least 1")
    shares = []
    for worker in range(workers):
        update: dict[str, object] = {"seed": plan.seed + worker}
        if plan.concurrency is not None:
            update["concurrency"] = plan.concurrency // workers + (
                worker < plan.concurrency % workers
            )
        if plan.rate is not None:
            update["rate"] = plan.rate / workers
        if plan.max_concurrency is not None:
            update["max_concurrency"] = max(1, plan.max_concurrency // workers)
        if plan.requests is not None:
            update["requests"] = len(range(worker, plan.requests, workers))
        update["warmup_requests"] = len(range(worker, plan.warmup_requests, workers))
        phase = int(worker * 1e9 / plan.rate) if plan.rate and plan.arrivals == "constant" else 0
        share_plan = plan.model_copy(update=update)
        shares.append(WorkerShare(worker, requests[worker::workers], share_plan, phase))
    return [s for s in shares if (s.plan.concurrency or 1) > 0 and s.requests]


def _run_share(target: TargetSpec, share: WorkerShare, start_at_ns: int) -> RunOutcome:
    async def main() -> RunOutcome:
        plan = share.plan
        client = make_client(
            target,
            concurrency=plan.concurrency or plan.max_concurrency or 0,
            request_timeout_s=plan.request_timeout_s,
        )
        await client.start()
        try:
            offsets = None
            if plan.rate:
                offsets = (
                    o + share.phase_ns for o in arrival_offsets(plan.arrivals, plan.rate, plan.seed)
                )
            return await run_load(
                client, share.requests, plan, offsets, worker=share.worker, start_at_ns=start_at_ns
            )
        finally:
            await client.close()

    return asyncio.run(main())


async def run_workers(
    target: TargetSpec, requests: tuple[BenchRequest, ...], plan: LoadPlan, workers: int
) -> RunOutcome:
    shares = split(requests, plan, workers)
    start_at = time.perf_counter_ns() + START_DELAY_NS
    context = multiprocessing.get_context("spawn")
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(len(shares), mp_context=context) as pool:
        futures = [loop.run_in_executor(pool, _run_share, target, s, start_at) for s in shares]
        outcomes = await asyncio.gather(*futures)
    return merge(outcomes, warmup=plan.warmup_requests > 0)


def merge(outcomes: list[RunOutcome], warmup: bool) -> RunOutcome:
    """One outcome from the workers': all records, the earliest start, the latest end.

    With a warm-up, measuring starts once every worker is past its own; without, at the start.
    """
    records = sorted(
        (r for o in outcomes for r in o.records), key=lambda r: (r.scheduled_ns, r.index)
    )
    reasons = {o.stop_reason for o in outcomes}
    reason = next(
        (
            r
            for r in (StopReason.INTERRUPTED, StopReason.ERROR_RATE, StopReason.DURATION)
            if r in reasons
        ),
        StopReason.COMPLETED,
    )
    return RunOutcome(
        records=records,
        start_ns=min(o.start_ns for o in outcomes),
        end_ns=max(o.end_ns for o in outcomes),
        measure_start_ns=(max if warmup else min)(o.measure_start_ns for o in outcomes),
        stop_reason=reason,
        notes=[n for o in outcomes for n in o.notes] + [f"{len(outcomes)} worker processes"],
    )
