"""Bootstrap replicates of a throughput: what the run counted (tokens, requests or good requests
ending inside its window) divided by the window's length (pure numpy, seeded).

The window's length is what varies from run to run, so a replicate redraws it, not only the
requests counted (formulas and measurements in docs/metrics.md, "Comparison statistics"):

- closed loop (C slots, each sending its next request when the last one ends): the window is the
  makespan of the requests' slot times (end - scheduled). A replicate draws n slot times with
  replacement, replays them through C slots (each request to the first free slot), and scales
  the run's window by the replayed makespan over the makespan replayed from the observed times;
- open loop (sends on a schedule): each request owns a share of the window in proportion to its
  time in the system (end - scheduled), and a replicate is the ratio of the drawn requests'
  counts to their shares.

With several runs a replicate first draws runs with replacement, then requests within each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from crossfade.compare.stats import FloatArray, ratio_replicates, resample_counts


@dataclass(frozen=True, eq=False)
class ThroughputSample:
    """One run: per measured request in dispatch order, its slot time and what it counted."""

    slot_ns: FloatArray  # end - scheduled; failures held their slot too
    counted: Mapping[str, FloatArray]  # e.g. "tokens" -> tokens when it ended inside the window
    window_s: float
    concurrency: int | None  # closed loop: the number of slots; None: open loop


def throughput_replicates(
    runs: Sequence[ThroughputSample], resamples: int, rng: np.random.Generator
) -> dict[str, FloatArray]:
    """Replicates of sum(counted) / sum(window_s) over `runs`, for every counted quantity."""
    names = list(runs[0].counted)
    if all(run.concurrency is not None for run in runs):
        return _closed_loop(runs, names, resamples, rng)
    # Open loop: the window apportioned to requests by their time in the system.
    shares = np.concatenate([_shares(run) for run in runs])
    counts = resample_counts([run.slot_ns.size for run in runs], resamples, rng)
    return {
        name: ratio_replicates(np.concatenate([run.counted[name] for run in runs]), shares, counts)
        for name in names
    }


def _shares(run: ThroughputSample) -> FloatArray:
    total = run.slot_ns.sum()
    if total <= 0:
        return np.full(run.slot_ns.size, run.window_s / max(run.slot_ns.size, 1))
    shares: FloatArray = run.slot_ns * (run.window_s / total)
    return shares


def _closed_loop(
    runs: Sequence[ThroughputSample], names: list[str], resamples: int, rng: np.random.Generator
) -> dict[str, FloatArray]:
    if len(runs) == 1:
        chosen = np.zeros((resamples, 1), dtype=np.int64)
    else:
        chosen = rng.integers(0, len(runs), size=(resamples, len(runs)))
    seconds = np.zeros(resamples)
    totals = {name: np.zeros(resamples) for name in names}
    for position, run in enumerate(runs):
        # Every (replicate, slot) that drew this run, replayed together.
        rows = np.nonzero(chosen == position)[0]
        size = run.slot_ns.size
        if rows.size == 0:
            continue
        if size == 0:  # nothing measured: the run adds its window and counts nothing
            seconds += np.bincount(rows, minlength=resamples) * run.window_s
            continue
        assert run.concurrency is not None
        drawn = rng.integers(0, size, size=(rows.size, size))
        observed = makespans(run.slot_ns[None, :], run.concurrency)[0]
        replayed = makespans(run.slot_ns[drawn], run.concurrency)
        scale = replayed / observed if observed > 0 else np.ones(rows.size)
        seconds += np.bincount(rows, weights=run.window_s * scale, minlength=resamples)
        for name in names:
            drawn_sums = run.counted[name][drawn].sum(axis=1)
            totals[name] += np.bincount(rows, weights=drawn_sums, minlength=resamples)
    return {name: totals[name] / seconds for name in names}


def makespans(durations: FloatArray, concurrency: int) -> FloatArray:
    """When the last of each row's jobs ends, the jobs taken in order by `concurrency` slots
    that all start free at 0, each job going to the slot that frees first."""
    replicates, jobs = durations.shape
    if concurrency <= 1:
        free = durations.sum(axis=1, keepdims=True)
    elif concurrency >= jobs:  # every job starts at once
        free = durations
    else:
        free = durations[:, :concurrency].copy()  # the first jobs take one slot each
        flat = free.ravel()
        row_starts = np.arange(replicates) * concurrency
        for job in range(concurrency, jobs):
            flat[row_starts + free.argmin(axis=1)] += durations[:, job]
    result: FloatArray = free.max(axis=1, initial=0.0)
    return result
