"""A sweep: one workload on several targets at several load levels, repeated, every run saved
and `sweep.json` rewritten after each one (what `crossfade compare` measures).

Order (`plan_sweep`): repetition by repetition; within one, level by level in the order given
(all targets at a level before the next level); at each level every target once. The target
order rotates by one place per repetition (a,b,c; b,c,a; c,a,b; ...), so at every level each
target takes each position once in any N consecutive repetitions of N targets (with two
targets the order alternates). A machine that warms up, throttles or picks up a neighbour's
load as the sweep goes then charges that drift to every target alike instead of to whichever
always ran last. With a repeat that is not a multiple of the number of targets, positions
differ by at most one run per target and level.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from crossfade.bench.calibration_model import Calibration
from crossfade.bench.plan import LoadPlan, StopReason
from crossfade.bench.result_model import SweepSlot
from crossfade.bench.results import BenchResult
from crossfade.bench.runner import OnRecord
from crossfade.bench.session import BenchConfig, run_bench
from crossfade.bench.slo import Slo
from crossfade.bench.sweep_index import LoadMode, SweepIndex, SweepRun, SweepTarget, save_sweep
from crossfade.bench.targets import TargetSpec
from crossfade.bench.workload import Workload
from crossfade.errors import UsageError

# Concurrency levels get at least this many measured requests per slot, so that each slot
# sends several and the run is not just its ramp-up.
REQUESTS_PER_SLOT = 4
RUNS_FOLDER = "runs"


@dataclass(frozen=True, slots=True)
class PlannedRun:
    target: str  # a target name
    level: float
    repeat: int  # 0-based
    order: int  # position in the whole sweep


@dataclass(frozen=True, slots=True)
class FinishedRun:
    run: PlannedRun
    folder: Path
    stop_reason: StopReason | Literal["error"]  # the run's own; "error": it raised (`error`)
    seconds: float
    result: BenchResult | None  # None when the run raised
    error: str | None = None


class SweepProgress(Protocol):
    """What the sweep tells its caller: each run as it starts (the callback it returns sees
    every record of that run) and as it ends."""

    def run_started(self, run: PlannedRun, plan: LoadPlan) -> OnRecord | None: ...

    def run_finished(self, finished: FinishedRun) -> None: ...


def plan_sweep(targets: Sequence[str], levels: Sequence[float], repeat: int) -> list[PlannedRun]:
    """Every run of the sweep in the order it runs (see the module docstring)."""
    if not targets or not levels:
        raise ValueError("a sweep needs at least one target and one level")
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, not {repeat}")
    check_unique_names(targets)
    runs: list[PlannedRun] = []
    for rep in range(repeat):
        shift = rep % len(targets)
        rotated = [*targets[shift:], *targets[:shift]]
        for level in levels:
            for name in rotated:
                runs.append(PlannedRun(name, level, rep, len(runs)))
    return runs


def check_unique_names(names: Sequence[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise UsageError(
                f"two targets are named {name!r}; give each target its own --name "
                "(once per target, in the order of the targets)"
            )
        seen.add(name)


def parse_levels(text: str, mode: LoadMode) -> list[float]:
    """Levels as given, e.g. 4,1,2 -> [1.0, 2.0, 4.0]: ascending, without repeats. Concurrency
    levels are whole numbers of at least 1; rates are requests per second above 0."""
    levels: set[float] = set()
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise ValueError(f"{part.strip()!r} is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"{part.strip()!r}: give a finite level")
        if mode == "concurrency" and (value < 1 or value != int(value)):
            raise ValueError(f"{part.strip()!r}: a concurrency is a whole number of at least 1")
        if mode == "rate" and not value > 0:
            raise ValueError(f"{part.strip()!r}: a rate is requests per second, above 0")
        levels.add(value)
    return sorted(levels)


def level_plan(base: LoadPlan, mode: LoadMode, level: float) -> LoadPlan:
    """The plan of one level: `base` with its level, and in concurrency mode at least
    REQUESTS_PER_SLOT measured requests per slot when it counts requests."""
    fields: dict[str, Any] = base.model_dump()
    if mode == "rate":
        fields |= {"concurrency": None, "rate": level}
        return LoadPlan.model_validate(fields)
    slots = int(level)
    fields |= {"concurrency": slots, "rate": None, "max_concurrency": None}
    if base.requests is not None:
        measured = max(base.requests - base.warmup_requests, REQUESTS_PER_SLOT * slots)
        fields["requests"] = measured + base.warmup_requests
    return LoadPlan.model_validate(fields)


def level_label(mode: LoadMode, level: float) -> str:
    """c8 for concurrency 8, r2.5 for 2.5 requests per second."""
    return f"{'c' if mode == 'concurrency' else 'r'}{level:g}"


def target_folders(names: Sequence[str]) -> dict[str, str]:
    """A distinct, filesystem-safe folder name per target name."""
    folders: dict[str, str] = {}
    for name in names:
        slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80].strip(".")
        slug = slug or "target"
        candidate, n = slug, 2
        while candidate in folders.values():
            candidate, n = f"{slug}-{n}", n + 1
        folders[name] = candidate
    return folders


async def run_sweep(
    targets: Sequence[TargetSpec],
    workload: Workload,
    base_plan: LoadPlan,
    mode: LoadMode,
    levels: Sequence[float],
    repeat: int,
    folder: Path,
    *,
    on_progress: SweepProgress | None = None,
    interrupt: asyncio.Event | None = None,
    scrape_metrics: bool = True,
    slos: Sequence[Slo] = (),
    workers: int = 1,
    client_overhead: Calibration | None = None,
) -> SweepIndex:
    """Run the sweep into `folder` (runs/<target>/<level>-r<repeat>/, sweep.json).

    A run that fails all its requests, or raises, is indexed and the sweep goes on; setting
    `interrupt` stops the run in progress and the sweep after it, with everything indexed.
    """
    names = [t.name for t in targets]
    runs = plan_sweep(names, levels, repeat)
    plans = {level: level_plan(base_plan, mode, level) for level in levels}
    by_name = {t.name: t for t in targets}
    folders = target_folders(names)
    index = SweepIndex(
        mode=mode,
        levels=list(levels),
        repeat=repeat,
        targets=[SweepTarget(name=t.name, url=t.url) for t in targets],
        workload_fingerprint=workload.fingerprint(),
        stop_reason="running",  # until the last run: a sweep killed outright still says so
    )
    save_sweep(folder, index)
    try:
        for run in runs:
            if interrupt is not None and interrupt.is_set():
                index.stop_reason = "interrupted"
                break
            relative = f"{RUNS_FOLDER}/{folders[run.target]}/{level_label(mode, run.level)}"
            relative += f"-r{run.repeat}"
            config = BenchConfig(
                by_name[run.target],
                plans[run.level],
                folder / relative,
                slos,
                scrape_metrics=scrape_metrics,
                client_overhead=client_overhead,
                workers=workers,
                sweep=SweepSlot(level=run.level, repeat=run.repeat, order=run.order),
            )
            finished = await _one_run(run, config, workload, on_progress, interrupt)
            index.runs.append(
                SweepRun(
                    target=run.target,
                    level=run.level,
                    repeat=run.repeat,
                    order=run.order,
                    folder=relative,
                    stop_reason=finished.stop_reason,
                )
            )
            if finished.result is not None and finished.result.emulated:
                index.targets = [
                    t.model_copy(update={"emulated": True}) if t.name == run.target else t
                    for t in index.targets
                ]
            save_sweep(folder, index)
            if on_progress is not None:
                on_progress.run_finished(finished)
            if finished.stop_reason == "interrupted":
                index.stop_reason = "interrupted"
                break
        else:
            index.stop_reason = "completed"
    except BaseException as exc:
        stopped = isinstance(exc, KeyboardInterrupt | asyncio.CancelledError)
        index.stop_reason = "interrupted" if stopped else f"error: {type(exc).__name__}"
        raise
    finally:
        save_sweep(folder, index)
    return index


async def _one_run(
    run: PlannedRun,
    config: BenchConfig,
    workload: Workload,
    on_progress: SweepProgress | None,
    interrupt: asyncio.Event | None,
) -> FinishedRun:
    on_record = on_progress.run_started(run, config.plan) if on_progress is not None else None
    started = time.monotonic()
    try:
        result = await run_bench(config, workload, on_record, interrupt)
    except Exception as exc:  # run_bench saved what it had; one bad run must not end the sweep
        seconds = time.monotonic() - started
        error = f"{type(exc).__name__}: {exc}"
        return FinishedRun(run, config.output, "error", seconds, None, error)
    seconds = time.monotonic() - started
    return FinishedRun(run, config.output, result.run.stop_reason, seconds, result)
