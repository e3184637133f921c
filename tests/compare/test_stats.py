"""Bootstrap statistics on synthetic samples with known differences: exact replicates, true gaps
found inside their interval, and no false differences between samples of one distribution."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from crossfade.bench.metrics import FloatArray, percentile
from crossfade.compare.stats import (
    DEFAULT_CONFIDENCE,
    Difference,
    percentile_replicates,
    ratio_replicates,
    relative_difference,
    resample_counts,
)
from crossfade.compare.throughput import ThroughputSample, throughput_replicates
from tests.compare import synthetic

# One statistic of one synthetic side: (point value, replicates), from a seeded generator and
# a scale that multiplies the true value of the statistic.
Side = Callable[[np.random.Generator, float, int], tuple[float, FloatArray]]


def mean_side(rng: np.random.Generator, scale: float, resamples: int) -> tuple[float, FloatArray]:
    values = synthetic.latencies(rng, 400, scale)
    counts = resample_counts([values.size], resamples, rng)
    return float(values.mean()), ratio_replicates(values, np.ones(values.size), counts)


def percentile_side(q: float) -> Side:
    def side(rng: np.random.Generator, scale: float, resamples: int) -> tuple[float, FloatArray]:
        values = synthetic.latencies(rng, 400, scale)
        counts = resample_counts([values.size], resamples, rng)
        owners = np.arange(values.size)
        return percentile(values, q), percentile_replicates(values, owners, counts, [q])[:, 0]

    return side


def itl_side(q: float) -> Side:
    def side(rng: np.random.Generator, scale: float, resamples: int) -> tuple[float, FloatArray]:
        values, owners = synthetic.itl(rng, 400, scale)
        counts = resample_counts([400], resamples, rng)
        return percentile(values, q), percentile_replicates(values, owners, counts, [q])[:, 0]

    return side


def closed_loop_side(concurrency: int) -> Side:
    def side(rng: np.random.Generator, scale: float, resamples: int) -> tuple[float, FloatArray]:
        """Requests/s of a closed loop whose requests take 1 / scale as long."""
        durations, ends = synthetic.closed_loop(rng, 400, concurrency, 1 / scale)
        window_s = ends.max() / 1e9
        run = ThroughputSample(durations, {"requests": np.ones(400)}, window_s, concurrency)
        return 400 / window_s, throughput_replicates([run], resamples, rng)["requests"]

    return side


def compare(side: Side, seed: int, b_scale: float, resamples: int = 1000) -> Difference:
    rng = np.random.default_rng(seed)
    a_value, a_replicates = side(rng, 1.0, resamples)
    b_value, b_replicates = side(rng, b_scale, resamples)
    return relative_difference(a_value, b_value, a_replicates, b_replicates)


SIDES = {
    "mean": mean_side,
    "p50": percentile_side(50),
    "p99": percentile_side(99),
    "itl_p50": itl_side(50),
    "itl_p99": itl_side(99),
    "throughput": closed_loop_side(8),
}


@pytest.mark.parametrize("name", ["mean", "p50", "itl_p50", "throughput"])
def test_a_true_20_percent_gap_is_found_inside_its_interval(name: str) -> None:
    differences = [compare(SIDES[name], seed, 1.2) for seed in range(10)]
    assert sum(d.low > 0 for d in differences) >= 9, [(d.low, d.high) for d in differences]
    assert all(d.high > 0 for d in differences)
    covered = sum(d.low <= 0.2 <= d.high for d in differences)
    assert covered >= 9, [(d.low, d.high) for d in differences]
    assert np.mean([d.estimate for d in differences]) == pytest.approx(0.2, abs=0.03)


def side_statistics(
    rng: np.random.Generator, resamples: int
) -> dict[str, tuple[float, FloatArray]]:
    """Every statistic of one synthetic side, drawn as the comparison does: one draw of the
    requests serves the latency mean and percentiles and the (cluster) ITL percentiles."""
    n = 400
    latency = synthetic.latencies(rng, n)
    itl, owners = synthetic.itl(rng, n)
    counts = resample_counts([n], resamples, rng)
    latency_q = percentile_replicates(latency, np.arange(n), counts, [50, 99])
    itl_q = percentile_replicates(itl, owners, counts, [50, 99])
    return {
        "mean": (float(latency.mean()), ratio_replicates(latency, np.ones(n), counts)),
        "p50": (percentile(latency, 50), latency_q[:, 0]),
        "p99": (percentile(latency, 99), latency_q[:, 1]),
        "itl_p50": (percentile(itl, 50), itl_q[:, 0]),
        "itl_p99": (percentile(itl, 99), itl_q[:, 1]),
        "throughput": closed_loop_side(8)(rng, 1.0, resamples),
    }


@pytest.mark.slow  # many trials of the bootstrap: seconds
def test_one_distribution_gives_no_difference_in_95_percent_of_trials() -> None:
    trials = 200
    false = dict.fromkeys(SIDES, 0)
    for seed in range(trials):
        rng = np.random.default_rng(seed)
        a, b = side_statistics(rng, 500), side_statistics(rng, 500)
        for name in SIDES:
            d = relative_difference(a[name][0], b[name][0], a[name][1], b[name][1])
            false[name] += d.significant
    assert all(count / trials <= 0.05 for count in false.values()), false


def test_the_default_confidence_is_99_percent() -> None:
    assert DEFAULT_CONFIDENCE == 0.99
    difference = compare(SIDES["p50"], 0, 1.2)
    assert difference.confidence == DEFAULT_CONFIDENCE


def test_seeded_runs_are_identical_and_seeds_differ() -> None:
    assert compare(SIDES["itl_p99"], 7, 1.0) == compare(SIDES["itl_p99"], 7, 1.0)
    assert compare(SIDES["itl_p99"], 7, 1.0) != compare(SIDES["itl_p99"], 8, 1.0)


def test_percentile_replicates_equal_the_percentile_of_the_pooled_draw() -> None:
    rng = np.random.default_rng(3)
    for case in range(40):
        units = int(rng.integers(1, 30))
        sizes = rng.integers(0, 6, units)  # some units own no value
        owners = np.repeat(np.arange(units), sizes)
        # Ties (small integers) and continuous values both.
        values = rng.integers(0, 9, owners.size) * 1.0 if case % 2 else rng.random(owners.size)
        groups = [units] if case % 3 else [units // 2, units - units // 2]
        counts = resample_counts(groups, 30, rng)
        qs = [0, 10, 50, 99, 100]
        got = percentile_replicates(values, owners, counts, qs)
        for row in range(counts.shape[0]):
            pooled = np.repeat(values, counts[row][owners])
            expected = np.percentile(pooled, qs) if pooled.size else np.full(len(qs), np.nan)
            np.testing.assert_allclose(got[row], expected, equal_nan=True)


def test_one_group_redraws_every_unit_and_two_levels_redraw_groups() -> None:
    rng = np.random.default_rng(0)
    single = resample_counts([7], 500, rng)
    assert (single.sum(axis=1) == 7).all()
    assert single.min() == 0
    assert single.max() > 1
    two = resample_counts([3, 5], 2000, rng)
    first, second = two[:, :3].sum(axis=1), two[:, 3:].sum(axis=1)
    # Each group is drawn 0, 1 or 2 times, and then contributes as many draws as its size.
    assert set(first.tolist()) == {0, 3, 6}
    assert set(second.tolist()) == {0, 5, 10}
    assert set((first // 3 + second // 5).tolist()) == {2}


def test_two_levels_widen_the_interval_when_repeats_drift() -> None:
    """Two runs per side whose levels differ by 30%: pooling their requests as one sample
    hides the drift; resampling runs first shows it."""

    def side(rng: np.random.Generator, groups: bool) -> tuple[float, FloatArray]:
        values = np.concatenate([synthetic.latencies(rng, 200), synthetic.latencies(rng, 200, 1.3)])
        counts = resample_counts([200, 200] if groups else [400], 1000, rng)
        return percentile(values, 50), percentile_replicates(values, np.arange(400), counts, [50])[
            :, 0
        ]

    widths = {}
    for groups in (False, True):
        rng = np.random.default_rng(1)
        a, b = side(rng, groups), side(rng, groups)
        d = relative_difference(a[0], b[0], a[1], b[1])
        widths[groups] = d.high - d.low
    assert widths[True] > 1.5 * widths[False]


def test_ratio_replicates_of_each_unit_once_is_the_point_value() -> None:
    counts = np.ones((1, 3), dtype=np.int64)
    assert ratio_replicates(np.array([1.0, 2, 3]), np.array([1.0, 1, 2]), counts)[0] == 1.5
    assert np.isnan(ratio_replicates(np.ones(3), np.zeros(3), counts)[0])


def test_relative_difference_refuses_what_has_none() -> None:
    replicates = np.ones(10)
    with pytest.raises(ValueError, match="no relative difference"):
        relative_difference(0.0, 1.0, replicates, replicates)
    with pytest.raises(ValueError, match="confidence"):
        relative_difference(1.0, 1.0, replicates, replicates, confidence=1.0)
    with pytest.raises(ValueError, match="no replicate"):
        relative_difference(1.0, 1.0, np.zeros(10), replicates)
    # Replicates where a is 0 are left out rather than giving infinite differences.
    a = np.array([0.0, 1.0, 1.0, 1.0])
    d = relative_difference(1.0, 1.1, a, np.full(4, 1.1))
    assert (d.low, d.high) == pytest.approx((0.1, 0.1))
