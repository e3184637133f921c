"""Synthetic samples with known differences, for the comparison statistics' tests."""

from __future__ import annotations

import heapq

import numpy as np

from crossfade.bench.metrics import FloatArray, IntArray
from crossfade.compare.estimates import Estimate
from crossfade.compare.intervals import RunValue

MS = 1_000_000


def latencies(rng: np.random.Generator, n: int, scale: float = 1.0) -> FloatArray:
    """Lognormal latencies in ns, median 100 ms x `scale` (so every statistic scales with it)."""
    return rng.lognormal(np.log(100 * MS * scale), 0.4, n)


def itl(rng: np.random.Generator, n: int, scale: float = 1.0) -> tuple[FloatArray, IntArray]:
    """Per-token ITL values of `n` requests and their owners: each request has its own pace
    (so its tokens are correlated), with per-token noise around it."""
    tokens = rng.integers(5, 30, n)
    pace = rng.lognormal(np.log(10 * MS * scale), 0.3, n)
    owners = np.repeat(np.arange(n, dtype=np.int64), tokens)
    return pace[owners] * rng.lognormal(0, 0.4, owners.size), owners


def closed_loop(
    rng: np.random.Generator, n: int, concurrency: int, scale: float = 1.0, cv: float = 0.3
) -> tuple[FloatArray, IntArray]:
    """Slot times and end times (ns from the start) of `n` requests run `concurrency` at a time,
    each taking a lognormal time (mean `scale` s, coefficient of variation `cv`): the next
    request goes as soon as a slot frees."""
    sigma = np.sqrt(np.log(1 + cv**2))
    durations = rng.lognormal(np.log(scale) - sigma**2 / 2, sigma, n) * 1e9
    free = [0.0] * concurrency
    ends = np.empty(n)
    for i, duration in enumerate(durations):
        ends[i] = heapq.heappop(free) + duration
        heapq.heappush(free, ends[i])
    return durations, ends.astype(np.int64)


def estimate(per_repeat: list[float], log_spread: float = 0.001, requests: int = 400) -> Estimate:
    """A metric of one target whose runs gave `per_repeat` (pooled: their geometric mean), each
    run's bootstrap a standard deviation of `log_spread` on the log scale."""
    runs = tuple(RunValue(k, v, log_spread**2) for k, v in enumerate(per_repeat))
    return Estimate(float(np.exp(np.mean(np.log(per_repeat)))), runs, requests)
