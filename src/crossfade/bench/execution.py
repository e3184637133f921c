"""How one run's load is sent, decided once before anything is sent (`plan_execution`): by this
process, split over worker processes (`--workers N`), or as one shard of several pods
(`--shard I/N`).

A shard (`Shard`, one pod of several) runs exactly what worker I of `--workers N` would, from a
common wall-clock start. With workers, this process only watches: its client asks the server
about itself and opens no connection ahead for requests it never sends.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Literal

from crossfade.bench.arrivals import arrival_offsets
from crossfade.bench.plan import LoadPlan
from crossfade.bench.protocol import BenchRequest, Client
from crossfade.bench.runner import OnRecord, RunOutcome, run_load
from crossfade.bench.targets import TargetSpec
from crossfade.bench.workers import WorkerShare, run_share, run_workers, share_count, split
from crossfade.errors import UsageError


@dataclass(frozen=True)
class Shard:
    """This process runs share `index` of `count` (a pod of an Indexed Job), starting at the
    wall-clock time `start_at_unix` (time.time() seconds) when given."""

    index: int
    count: int
    start_at_unix: float | None = None


def shard_share(requests: tuple[BenchRequest, ...], plan: LoadPlan, shard: Shard) -> WorkerShare:
    """What worker `shard.index` of `--workers shard.count` would run; every shard must exist."""
    usable = share_count(plan, shard.count, len(requests))
    if usable < shard.count:
        raise UsageError(
            f"--shard {shard.index}/{shard.count}: this run splits into at most {usable} shares "
            f"(one per concurrency slot and request: {plan.describe()}, "
            f"{plan.requests or len(requests)} requests); run {usable} pods"
        )
    return split(requests, plan, shard.count)[shard.index]


@dataclass(frozen=True)
class Execution:
    """One run's way of sending its load; `plan` is what this process's own requests follow
    (a shard's share of the whole plan)."""

    mode: Literal["one process", "workers", "shard"]
    plan: LoadPlan
    requests: tuple[BenchRequest, ...]  # what this process sends (a shard: its share)
    workers: int = 1
    share: WorkerShare | None = None
    start_at_unix: float | None = None  # a shard's common start

    @property
    def warm_connections(self) -> int:
        """Connections this process's client opens before the run: one per request it may
        have in flight; none when worker processes send every request."""
        return 0 if self.mode == "workers" else self.plan.most_in_flight

    async def send(
        self,
        client: Client,
        target: TargetSpec,
        wall_minus_monotonic_ns: int,
        *,
        on_record: OnRecord | None = None,
        interrupt: asyncio.Event | None = None,
    ) -> RunOutcome:
        """Send the load on `client` (started; the workers make their own), now or, for a
        shard, at its common start (`wall_minus_monotonic_ns` maps it to this host's clock)."""
        if self.mode == "workers":
            return await run_workers(
                target,
                self.requests,
                self.plan,
                self.workers,
                on_record=on_record,
                interrupt=interrupt,
            )
        if self.mode == "shard":
            assert self.share is not None
            start_at = self.start_at_unix
            start_at_ns = (
                round(start_at * 1e9) - wall_minus_monotonic_ns
                if start_at is not None
                else time.perf_counter_ns()
            )
            return await run_share(
                client, self.share, start_at_ns, on_record=on_record, interrupt=interrupt
            )
        plan = self.plan
        offsets = arrival_offsets(plan.arrivals, plan.rate, plan.seed) if plan.rate else None
        return await run_load(
            client, self.requests, plan, offsets, on_record=on_record, interrupt=interrupt
        )


def plan_execution(
    requests: tuple[BenchRequest, ...], plan: LoadPlan, *, workers: int, shard: Shard | None
) -> Execution:
    """How a run of `plan` over `requests` is sent; raises UsageError for a `--shard` the run
    cannot split into (before anything is sent)."""
    if shard is not None:
        share = shard_share(requests, plan, shard)
        return Execution(
            "shard", share.plan, share.requests, share=share, start_at_unix=shard.start_at_unix
        )
    if workers > 1:
        return Execution("workers", plan, requests, workers=workers)
    return Execution("one process", plan, requests)
