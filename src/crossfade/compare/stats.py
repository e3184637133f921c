"""The bootstrap of one run: replicates of a statistic, and the variance of their log that
`intervals` combines with the spread between repeats (formulas in docs/metrics.md, "Comparison
statistics"). Pure numpy, seeded.

A bootstrap replicate is described by *counts*: how many times each unit (a request) was
drawn. Every statistic is then a function of the counts, so one draw serves all the metrics of
a sample and nothing is ever materialised per replicate:

- a ratio of sums (a mean; an open-loop throughput, see `throughput`) is two matrix products;
- a percentile of values owned by units (one TTFT per request, or all the per-token ITL values
  of a request: the cluster bootstrap) is an exact weighted order statistic, found through a
  coarse grid of cumulative counts and then within one grid segment.

`resample_counts` can also draw two levels (groups, then units within them); the comparison
no longer does: with 2 or 3 repeats a bootstrap of the runs has almost no spread to draw from
(see `intervals`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# 0.99, not 0.95: a right 95% interval misses 5% of the time by design, and a sweep makes many
# comparisons. Figures in docs/metrics.md, "Comparison statistics".
DEFAULT_CONFIDENCE = 0.99
DEFAULT_RESAMPLES = 2000
GRID_BALANCE = 1600


def resample_counts(
    group_sizes: Sequence[int], resamples: int, rng: np.random.Generator
) -> IntArray:
    """Counts of a bootstrap draw, one row per replicate, one column per unit.

    Units are laid out group after group (`group_sizes`, one group per run). One group: draw its
    n units n times with replacement. Several groups: draw as many groups with replacement, then
    within each drawn group as many units as it has (a two-level bootstrap)."""
    if resamples < 1:
        raise ValueError("resamples must be at least 1")
    sizes = np.asarray(group_sizes, dtype=np.int64)
    if sizes.size == 0 or (sizes < 0).any():
        raise ValueError("need at least one group, none of negative size")
    total = int(sizes.sum())
    rows = np.arange(resamples, dtype=np.int64)[:, None] * total
    if sizes.size == 1:
        flat = (rows + rng.integers(0, total, size=(resamples, total))).ravel()
    else:
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        chosen = rng.integers(0, sizes.size, size=(resamples, sizes.size))
        drawn = []  # flat (replicate, unit) positions of every draw
        for slot in range(sizes.size):
            for group, size in enumerate(sizes.tolist()):
                picked = np.flatnonzero(chosen[:, slot] == group)
                if size and picked.size:
                    units = offsets[group] + rng.integers(0, size, size=(picked.size, size))
                    drawn.append((rows[picked] + units).ravel())
        flat = np.concatenate(drawn) if drawn else np.zeros(0, dtype=np.int64)
    counts = np.bincount(flat, minlength=resamples * total)
    return counts.reshape(resamples, total)


def ratio_replicates(
    numerator: FloatArray, denominator: FloatArray, counts: IntArray
) -> FloatArray:
    """sum(count * numerator) / sum(count * denominator) per replicate; NaN for a zero
    denominator."""
    weights = counts.astype(np.float64)
    top, bottom = weights @ numerator, weights @ denominator
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), np.nan)


def percentile_replicates(
    values: FloatArray, owners: IntArray, counts: IntArray, qs: Sequence[float]
) -> FloatArray:
    """Percentiles `qs` of each replicate's pooled values, shape (replicates, len(qs)).

    `owners[i]` is the unit (column of `counts`) that value i belongs to; a replicate holds each
    value as many times as its owner was drawn. Percentiles are numpy's "linear" (type 7), as in
    `bench.metrics.percentiles`, and exact. NaN for a replicate without values."""
    order = np.argsort(values, kind="stable")
    weights = counts.astype(np.float64)
    grid = _Grid(values[order], owners[order], counts, weights)
    totals = weights @ np.bincount(owners, minlength=counts.shape[1])
    result = np.full((counts.shape[0], len(qs)), np.nan)
    has_values = totals > 0
    for column, q in enumerate(qs):
        rank = np.where(has_values, (totals - 1) * q / 100, 0.0)
        low = np.floor(rank).astype(np.int64)
        fraction = rank - low
        below = grid.order_statistic(low)
        above = grid.order_statistic(
            np.minimum(low + 1, np.maximum(totals - 1, 0).astype(np.int64))
        )
        result[:, column] = np.where(has_values, below + fraction * (above - below), np.nan)
    return result


class _Grid:
    """Sorted values with, every `step` positions, the cumulative count of each replicate, so
    the k-th smallest value of a replicate is found in one segment of `step` positions."""

    def __init__(
        self, ordered: FloatArray, owners: IntArray, counts: IntArray, weights: FloatArray
    ) -> None:
        replicates, units = counts.shape
        size = ordered.size
        # Balances the matrix product (replicates x units x segments) against the search in
        # one segment (replicates x step); the factor was tuned by timing, not critical.
        segments = max(1, min(size, round(math.sqrt(GRID_BALANCE * size / max(units, 1)))))
        self.step = max(1, math.ceil(size / segments))
        padded = segments * self.step
        # Padding after the largest value: never reached by the k-th smallest for k < total.
        self.values = np.concatenate([ordered, np.full(padded - size, np.nan)])
        self.segment_owners = np.concatenate(
            [owners, np.zeros(padded - size, dtype=np.int64)]
        ).reshape(segments, self.step)
        self.flat_counts = np.ascontiguousarray(counts).ravel()
        self.row_offsets = (np.arange(replicates, dtype=np.int64) * units)[:, None]
        segment_of = np.arange(size) // self.step
        per_segment = np.bincount(
            owners * segments + segment_of, minlength=units * segments
        ).reshape(units, segments)
        before = np.hstack([np.zeros((units, 1)), np.cumsum(per_segment, axis=1)])
        self.cumulative = weights @ before  # (replicates, segments + 1)

    def order_statistic(self, k: IntArray) -> FloatArray:
        """The k[r]-th smallest value (0-based) of each replicate r that has more than k[r]."""
        # The segment where the cumulative count first exceeds k.
        segment = (self.cumulative[:, 1:] <= k[:, None]).sum(axis=1)
        segment = np.minimum(segment, self.cumulative.shape[1] - 2)
        weights = self.flat_counts[self.row_offsets + self.segment_owners[segment]]
        start = np.take_along_axis(self.cumulative, segment[:, None], axis=1)
        running = start + np.cumsum(weights, axis=1)
        inside = np.minimum((running <= k[:, None]).sum(axis=1), self.step - 1)
        result: FloatArray = self.values[segment * self.step + inside]
        return result


def log_variance(replicates: FloatArray | None) -> float:
    """The variance of the log of the positive finite replicates; NaN with fewer than two."""
    if replicates is None:
        return math.nan
    usable = replicates[np.isfinite(replicates) & (replicates > 0)]
    return float(np.var(np.log(usable), ddof=1)) if usable.size >= 2 else math.nan
