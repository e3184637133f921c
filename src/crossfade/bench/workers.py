"""Load beyond one core: the same run split over N worker processes, merged exactly.

Each worker gets every N-th request, its share of the concurrency (closed loop) or of the rate
(open loop: N independent arrival streams at rate/N with their own seeds superpose to the same
process for Poisson; constant streams are phase-shifted so they interleave exactly), and a
common start time on the host's monotonic clock. Raw records come back and are merged, so every
percentile is computed from all of them, never averaged.

Stopping works as in one process: workers ignore SIGINT and SIGTERM (a terminal's Ctrl-C, or a
`kill` of the process group, reaches them too) and stop through a shared event, set by the
parent on either signal or by a worker whose error-rate guard tripped, then return what they
measured. Finished records also stream to the
parent in small batches for the live display; the result is merged from the returned records.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from typing import Any

from crossfade.bench import loop
from crossfade.bench.arrivals import arrival_offsets
from crossfade.bench.clients import make_client
from crossfade.bench.plan import LoadPlan, StopReason
from crossfade.bench.protocol import BenchRequest, Client, RequestRecord
from crossfade.bench.runner import OnRecord, RunOutcome, run_load
from crossfade.bench.targets import TargetSpec

START_DELAY_NS = 3_000_000_000  # time for every worker process to import and connect
STOP_POLL_S = 0.05  # how soon a worker notices the shared stop event
PARENT_POLL_S = 0.5  # how soon a worker notices that its parent is gone
PROGRESS_BATCH_S = 0.1  # one queue put per worker per interval keeps the hot path cheap
PROGRESS_FLUSH_S = 2.0  # at the end, how long to wait for the workers' last batches
_REASONS = tuple(StopReason)  # the shared cause is stored as an index + 1 (0: none yet)
# Signals the parent handles for the whole run; workers ignore them (see _init_worker).
_PARENT_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@dataclass(frozen=True)
class WorkerShare:
    worker: int
    requests: tuple[BenchRequest, ...]
    plan: LoadPlan
    phase_ns: int  # constant arrivals: this worker's offset within the combined period


@dataclass(frozen=True)
class _Channels:
    """Shared between the parent and every worker (passed once, through the initializer)."""

    stop: Event
    cause: Synchronized[int]  # the first reason to stop, so the merged outcome reports it
    progress: Queue[Any] | None  # batches of finished records as JSON, then the worker's index


_channels: _Channels | None = None  # set in each worker process by _init_worker


def share_count(plan: LoadPlan, workers: int, available: int) -> int:
    """How many shares `split` makes of `available` requests: no more than the concurrency
    slots or the requests, since an idle worker's share would be lost."""
    if workers < 1:
        raise ValueError("--workers must be at least 1")
    return min(workers, plan.concurrency or workers, plan.requests or workers, available)


def share_plan(plan: LoadPlan, worker: int, workers: int) -> tuple[LoadPlan, int]:
    """Worker `worker`'s plan out of `workers` (a count from `share_count`), and its phase."""
    update: dict[str, object] = {"seed": plan.seed + worker}
    if plan.concurrency is not None:
        update["concurrency"] = plan.concurrency // workers + (worker < plan.concurrency % workers)
    if plan.rate is not None:
        update["rate"] = plan.rate / workers
    if plan.max_concurrency is not None:
        update["max_concurrency"] = max(1, plan.max_concurrency // workers)
    if plan.requests is not None:
        update["requests"] = len(range(worker, plan.requests, workers))
    update["warmup_requests"] = len(range(worker, plan.warmup_requests, workers))
    phase = int(worker * 1e9 / plan.rate) if plan.rate and plan.arrivals == "constant" else 0
    return plan.model_copy(update=update), phase


def split(requests: tuple[BenchRequest, ...], plan: LoadPlan, workers: int) -> list[WorkerShare]:
    workers = share_count(plan, workers, len(requests))
    shares = []
    for worker in range(workers):
        worker_plan, phase = share_plan(plan, worker, workers)
        shares.append(WorkerShare(worker, requests[worker::workers], worker_plan, phase))
    return shares


def _halt(channels: _Channels, reason: StopReason) -> None:
    """Tell every worker to stop; the first caller's reason is the run's."""
    with channels.cause.get_lock():
        if channels.cause.value == 0:
            channels.cause.value = _REASONS.index(reason) + 1
    channels.stop.set()


def _init_worker(channels: _Channels) -> None:
    # Ctrl-C (or a kill of the group) reaches every process; the parent stops workers through
    # `stop` instead, so they can still return their records. These signals were blocked when
    # this process was spawned (see _signals_blocked): ignoring them first drops one that came
    # early.
    for each in _PARENT_SIGNALS:
        signal.signal(each, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _PARENT_SIGNALS)
    if channels.progress is not None:
        channels.progress.cancel_join_thread()  # progress is display only: never hang an exit
    global _channels
    _channels = channels
    parent = os.getppid()
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """A worker ignores the signals that would end it: once its parent is gone (killed
    outright, say), nobody would stop it, collect its records or send the pool's last message,
    so it ends itself."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(1)


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """Processes spawned in here inherit blocked SIGINT and SIGTERM, so a signal while they
    import cannot kill them before _init_worker ignores it. The parent gets its own once
    unblocked."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _PARENT_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class _Batcher:
    """Worker side of progress: the record callback only appends; a task ships the batch."""

    def __init__(self, progress: Queue[Any]) -> None:
        self.progress = progress
        self.pending: list[RequestRecord] = []  # cleared, never replaced: its append is bound

    def flush(self) -> None:
        if self.pending:
            # Queue.put pickles and writes in a feeder thread, so this loop never blocks on it.
            self.progress.put([r.to_json() for r in self.pending])
            self.pending.clear()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(PROGRESS_BATCH_S)
            self.flush()

    def finish(self, worker: int) -> None:
        self.flush()
        self.progress.put(worker)  # after its last batch: this worker is done


def _run_share(target: TargetSpec, share: WorkerShare, start_at_ns: int) -> RunOutcome:
    assert _channels is not None, "a worker process starts with _init_worker"
    return loop.run(_share_main(target, share, start_at_ns, _channels))


async def _share_main(
    target: TargetSpec, share: WorkerShare, start_at_ns: int, channels: _Channels
) -> RunOutcome:
    plan = share.plan
    interrupt = asyncio.Event()
    background = [asyncio.create_task(_poll_stop(channels.stop, interrupt))]
    batcher = _Batcher(channels.progress) if channels.progress is not None else None
    if batcher is not None:
        background.append(asyncio.create_task(batcher.run()))
    client = make_client(
        target, concurrency=plan.most_in_flight, request_timeout_s=plan.request_timeout_s
    )
    try:
        await client.start()
        try:
            outcome = await run_share(
                client,
                share,
                start_at_ns,
                on_record=batcher.pending.append if batcher is not None else None,
                interrupt=interrupt,
            )
            if outcome.stop_reason == StopReason.ERROR_RATE:
                _halt(channels, StopReason.ERROR_RATE)  # the server is failing for all of us
            return outcome
        finally:
            await client.close()
    finally:
        for task in background:
            task.cancel()
        if batcher is not None:
            batcher.finish(share.worker)


async def run_share(
    client: Client,
    share: WorkerShare,
    start_at_ns: int,
    *,
    on_record: OnRecord | None = None,
    interrupt: asyncio.Event | None = None,
) -> RunOutcome:
    """One share on a started client: its arrival stream (phase-shifted), a wait for the common
    start `start_at_ns` (perf_counter_ns) that `interrupt` cuts short, then the run."""
    plan = share.plan
    interrupt = interrupt if interrupt is not None else asyncio.Event()
    offsets = None
    if plan.rate:
        offsets = (o + share.phase_ns for o in arrival_offsets(plan.arrivals, plan.rate, plan.seed))
    # Wait for the common start here, where a stop can cut the wait short.
    with contextlib.suppress(TimeoutError):
        delay_s = max(0, start_at_ns - time.perf_counter_ns()) / 1e9
        await asyncio.wait_for(interrupt.wait(), delay_s)
    return await run_load(
        client,
        share.requests,
        plan,
        offsets,
        on_record=on_record,
        worker=share.worker,
        start_at_ns=None if interrupt.is_set() else start_at_ns,
        interrupt=interrupt,
    )


async def _poll_stop(stop: Event, interrupt: asyncio.Event) -> None:
    # A multiprocessing Event cannot be awaited; polling it costs one lock per interval.
    while not stop.is_set():  # noqa: ASYNC110
        await asyncio.sleep(STOP_POLL_S)
    interrupt.set()


class _ProgressPump:
    """Parent side of progress: a thread drains the queue all the time (a full pipe would stall
    the workers' feeder threads) and hands each batch to `on_record` on the event loop."""

    def __init__(self, progress: Queue[Any], on_record: OnRecord, workers: int) -> None:
        self.progress, self.on_record, self.workers = progress, on_record, workers
        self.loop = asyncio.get_running_loop()
        self.all_done, self.closing = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._pump, name="crossfade-progress", daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        done: set[int] = set()
        while not self.closing.is_set() and not self.all_done.is_set():
            try:
                item = self.progress.get(timeout=0.1)
            except queue.Empty:
                continue
            except (EOFError, OSError):
                return
            if isinstance(item, int):  # a worker's last message
                done.add(item)
                if len(done) >= self.workers:
                    self.all_done.set()
                continue
            try:
                self.loop.call_soon_threadsafe(self._deliver, item)
            except RuntimeError:  # the loop is closed: nobody is watching any more
                return

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        for data in batch:
            self.on_record(RequestRecord.from_json(data))

    def finish(self, timeout_s: float) -> None:
        """Wait (a bounded time) for every worker's last batch, then stop the thread."""
        self.all_done.wait(timeout_s)
        self.closing.set()
        self.thread.join()


async def run_workers(
    target: TargetSpec,
    requests: tuple[BenchRequest, ...],
    plan: LoadPlan,
    workers: int,
    *,
    on_record: OnRecord | None = None,
    interrupt: asyncio.Event | None = None,
) -> RunOutcome:
    """Run `plan` split over `workers` processes. Setting `interrupt` stops every worker
    gracefully; `on_record` sees finished records while the run goes (for display)."""
    shares = split(requests, plan, workers)
    context = multiprocessing.get_context("spawn")
    progress = context.Queue() if on_record is not None else None
    channels = _Channels(context.Event(), context.Value(ctypes.c_int, 0), progress)
    relay = asyncio.ensure_future(_relay(interrupt, channels)) if interrupt is not None else None
    pump = None
    pool = ProcessPoolExecutor(
        len(shares), mp_context=context, initializer=_init_worker, initargs=(channels,)
    )
    start_at = time.perf_counter_ns() + START_DELAY_NS
    try:
        if progress is not None and on_record is not None:
            pump = _ProgressPump(progress, on_record, len(shares))
        with _signals_blocked():  # each submit spawns its worker process here
            submitted = [pool.submit(_run_share, target, s, start_at) for s in shares]
        for future in submitted:
            future.add_done_callback(lambda f: _stop_all_if_failed(f, channels))
        try:
            results = await asyncio.gather(
                *map(asyncio.wrap_future, submitted), return_exceptions=True
            )
        except asyncio.CancelledError:
            # As in run_load, a cancelled run (a second Ctrl-C) still returns what was measured.
            _halt(channels, StopReason.INTERRUPTED)
            results = await asyncio.gather(
                *map(asyncio.wrap_future, submitted), return_exceptions=True
            )
        if pump is not None:
            await asyncio.to_thread(pump.finish, PROGRESS_FLUSH_S)
    except BaseException:
        # The workers ignore SIGINT and SIGTERM: whatever went wrong here, they must be told.
        _halt(channels, StopReason.INTERRUPTED)
        if pump is not None:
            pump.closing.set()
        raise
    finally:
        if relay is not None:
            relay.cancel()
        # Not waiting: the workers have returned or been told to stop, and then exit by
        # themselves (an interpreter's teardown, ~0.5 s the caller need not wait for).
        pool.shutdown(wait=False, cancel_futures=True)
    outcomes = [r for r in results if isinstance(r, RunOutcome)]
    errors = [r for r in results if isinstance(r, BaseException)]
    if not outcomes:
        raise errors[0]
    code = channels.cause.value
    merged = merge(outcomes, plan.warmup_requests > 0, _REASONS[code - 1] if code else None)
    merged.notes += [f"a worker failed and its records are lost: {e!r}" for e in errors]
    return merged


async def _relay(interrupt: asyncio.Event, channels: _Channels) -> None:
    await interrupt.wait()
    _halt(channels, StopReason.INTERRUPTED)


def _stop_all_if_failed(future: Future[RunOutcome], channels: _Channels) -> None:
    # A worker that raised returns no records; the others stop rather than run on unobserved.
    if not future.cancelled() and future.exception() is not None:
        _halt(channels, StopReason.INTERRUPTED)


def merge(outcomes: list[RunOutcome], warmup: bool, cause: StopReason | None = None) -> RunOutcome:
    """One outcome from the workers': all records, the earliest start, the latest end.

    With a warm-up, measuring starts once every worker is past its own; without, at the start.
    The stop reason is `cause` (what stopped every worker) when given, else the strongest one.
    """
    records = sorted(
        (r for o in outcomes for r in o.records), key=lambda r: (r.scheduled_ns, r.index)
    )
    reasons = {o.stop_reason for o in outcomes}
    strongest = (StopReason.INTERRUPTED, StopReason.ERROR_RATE, StopReason.DURATION)
    reason = cause or next((r for r in strongest if r in reasons), StopReason.COMPLETED)
    return RunOutcome(
        records=records,
        start_ns=min(o.start_ns for o in outcomes),
        end_ns=max(o.end_ns for o in outcomes),
        measure_start_ns=(max if warmup else min)(o.measure_start_ns for o in outcomes),
        stop_reason=reason,
        notes=[n for o in outcomes for n in o.notes] + [f"{len(outcomes)} worker processes"],
        event_loop=", ".join(sorted({o.event_loop for o in outcomes})),
    )
