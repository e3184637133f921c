"""Drives a client with a workload under a load plan and returns the raw records.

Closed loop: `concurrency` tasks each send the next request as soon as their last one ends.
Open loop: requests go out on an absolute schedule of offsets from the run start, so a slow
server delays nothing but its own answers; each record keeps its intended send time
(`scheduled_ns`) beside the actual one, so latency can be reported from either and queueing
behind `max_concurrency` stays visible (no coordinated omission).

Whatever stops the run (the plan's end, the duration, the error-rate guard, Ctrl-C or
SIGTERM through an `Interrupt`), the records measured so far are returned; requests still in
flight are marked CANCELLED.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from crossfade.bench.loop import loop_name
from crossfade.bench.plan import LoadPlan, StopReason
from crossfade.bench.protocol import BenchRequest, Client, ErrorKind, RequestRecord

# Clients enforce the request deadline themselves and record TIMEOUT with what they saw; the
# runner's own deadline is a backstop that must not fire first (it would read as CANCELLED).
BACKSTOP_SLACK_S = 1.0

OnRecord = Callable[[RequestRecord], None]


class Interrupt(asyncio.Event):
    """The event that stops a run gracefully, and the signal that set it, if one did (the
    result says which, and the command exits 128 + its number)."""

    def __init__(self) -> None:
        super().__init__()
        self.signal: signal.Signals | None = None

    def stop_by(self, received: signal.Signals) -> None:
        if not self.is_set():
            self.signal = received
            self.set()


@dataclass
class RunOutcome:
    records: list[RequestRecord]
    start_ns: int  # the run's time zero (first scheduled send)
    end_ns: int  # when the last record ended, or the run was stopped
    measure_start_ns: int  # end of warm-up: the first measured request's scheduled time
    stop_reason: StopReason
    notes: list[str] = field(default_factory=list)
    event_loop: str = ""  # the loop implementation the requests were sent from (`bench.loop`)


class _Run:
    """State shared by the tasks of one run."""

    def __init__(self, client: Client, plan: LoadPlan, on_record: OnRecord | None) -> None:
        self.client = client
        self.plan = plan
        self.on_record = on_record
        self.records: list[RequestRecord] = []
        self.in_flight: dict[int, RequestRecord] = {}  # by id(): records are mutable
        self.finished = 0
        self.failed = 0
        self.stop = asyncio.Event()
        self.stop_reason = StopReason.COMPLETED
        self.start_ns = 0
        self.deadline_ns: int | None = None

    def halt(self, reason: StopReason) -> None:
        if not self.stop.is_set():
            self.stop_reason = reason
            self.stop.set()

    async def send(self, request: BenchRequest, scheduled_ns: int, worker: int) -> None:
        record = RequestRecord(
            index=request.index,
            prompt_tokens=request.prompt_tokens,
            requested_output_tokens=request.output_tokens,
            scheduled_ns=scheduled_ns,
            worker=worker,
        )
        self.records.append(record)
        self.in_flight[id(record)] = record
        try:
            async with asyncio.timeout(self.plan.request_timeout_s + BACKSTOP_SLACK_S):
                await self.client.send(request, record)
        except TimeoutError:
            record.fail(ErrorKind.TIMEOUT, "request deadline passed", time.perf_counter_ns())
        except asyncio.CancelledError:
            record.fail(ErrorKind.CANCELLED, "run stopped", time.perf_counter_ns())
            raise
        finally:
            self.in_flight.pop(id(record), None)
        self.finished += 1
        self.failed += not record.ok
        if self.on_record is not None:
            self.on_record(record)
        self._check_error_rate()

    def _check_error_rate(self) -> None:
        limit = self.plan.max_error_rate
        if limit is None or self.finished < self.plan.min_requests_for_error_rate:
            return
        if self.failed / self.finished > limit:
            self.halt(StopReason.ERROR_RATE)

    def past_deadline(self) -> bool:
        if self.deadline_ns is not None and time.perf_counter_ns() >= self.deadline_ns:
            self.halt(StopReason.DURATION)
            return True
        return False


def request_stream(requests: Sequence[BenchRequest], plan: LoadPlan) -> Iterator[BenchRequest]:
    """The workload in order, cycled when the plan asks for more requests than it holds."""
    if not requests:
        raise ValueError("the workload is empty")
    total = plan.requests if plan.requests is not None else None
    source = itertools.cycle(requests) if total is None or total > len(requests) else requests
    for position, request in enumerate(source):
        if total is not None and position >= total:
            return
        yield request


async def run_load(
    client: Client,
    requests: Sequence[BenchRequest],
    plan: LoadPlan,
    offsets: Iterator[int] | None = None,
    on_record: OnRecord | None = None,
    worker: int = 0,
    start_at_ns: int | None = None,
    interrupt: asyncio.Event | None = None,
) -> RunOutcome:
    """Run `plan` against `client`. Open loop needs `offsets` (ns from the run start).

    Setting `interrupt` (e.g. from a SIGINT handler) stops the run gracefully: in-flight
    requests are cancelled and recorded, and the outcome says INTERRUPTED.
    """
    run = _Run(client, plan, on_record)
    watcher = asyncio.ensure_future(_watch(interrupt, run)) if interrupt is not None else None
    if start_at_ns is not None:  # several workers start together on the shared clock
        await asyncio.sleep(max(0, start_at_ns - time.perf_counter_ns()) / 1e9)
    run.start_ns = time.perf_counter_ns()
    if plan.duration_s is not None:
        run.deadline_ns = run.start_ns + int(plan.duration_s * 1e9)
    stream = request_stream(requests, plan)
    driver = _closed_loop(run, stream, worker) if plan.mode == "closed" else None
    if driver is None:
        if offsets is None:
            raise ValueError("an open-loop plan needs arrival offsets")
        driver = _open_loop(run, stream, offsets, worker)
    task = asyncio.ensure_future(driver)
    stopper = asyncio.ensure_future(run.stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        run.halt(StopReason.INTERRUPTED)
    finally:
        stopper.cancel()
        if watcher is not None:
            watcher.cancel()
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return _outcome(run)


async def _watch(interrupt: asyncio.Event, run: _Run) -> None:
    await interrupt.wait()
    run.halt(StopReason.INTERRUPTED)


async def _closed_loop(run: _Run, stream: Iterator[BenchRequest], worker: int) -> None:
    async def slot() -> None:
        for request in stream:  # a shared iterator: each slot takes the next request
            if run.stop.is_set() or run.past_deadline():
                return
            await run.send(request, time.perf_counter_ns(), worker)

    assert run.plan.concurrency is not None
    async with asyncio.TaskGroup() as group:
        for _ in range(run.plan.concurrency):
            group.create_task(slot())


async def _open_loop(
    run: _Run, stream: Iterator[BenchRequest], offsets: Iterator[int], worker: int
) -> None:
    cap = asyncio.Semaphore(run.plan.max_concurrency) if run.plan.max_concurrency else None

    async def send_capped(request: BenchRequest, scheduled_ns: int) -> None:
        if cap is None:
            await run.send(request, scheduled_ns, worker)
            return
        async with cap:
            await run.send(request, scheduled_ns, worker)

    async with asyncio.TaskGroup() as group:
        for request, offset in zip(stream, offsets, strict=False):
            scheduled_ns = run.start_ns + offset
            if run.deadline_ns is not None and scheduled_ns >= run.deadline_ns:
                run.halt(StopReason.DURATION)
                break
            wait_ns = scheduled_ns - time.perf_counter_ns()
            if wait_ns > 0:
                await asyncio.sleep(wait_ns / 1e9)
            if run.stop.is_set():
                break
            group.create_task(send_capped(request, scheduled_ns))


def _outcome(run: _Run) -> RunOutcome:
    now = time.perf_counter_ns()
    for record in list(run.in_flight.values()):  # cancelled before they could mark themselves
        record.fail(ErrorKind.CANCELLED, "run stopped", now)
    records = sorted(run.records, key=lambda r: (r.scheduled_ns, r.index))
    warmup = run.plan.warmup_requests
    measure_start = records[warmup].scheduled_ns if len(records) > warmup else now
    end_ns = max((r.end_ns for r in records), default=now)
    return RunOutcome(
        records,
        run.start_ns,
        end_ns,
        measure_start,
        run.stop_reason,
        event_loop=loop_name(asyncio.get_running_loop()),
    )
