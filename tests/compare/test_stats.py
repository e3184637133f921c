"""Bootstrap statistics and intervals on synthetic samples with known differences: exact
replicates, true gaps found inside their interval, no false differences between samples of one
distribution, and intervals over repeats that carry the run-to-run spread."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from crossfade.bench.metrics import FloatArray, percentile
from crossfade.compare.intervals import (
    Difference,
    RunValue,
    relative_difference,
    repeats_needed,
    t_quantile,
    value_interval,
)
from crossfade.compare.stats import (
    DEFAULT_CONFIDENCE,
    log_variance,
    percentile_replicates,
    ratio_replicates,
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


def one_run(value: float, replicates: FloatArray, repeat: int = 0) -> list[RunValue]:
    return [RunValue(repeat, value, log_variance(replicates))]


def single(a: tuple[float, FloatArray], b: tuple[float, FloatArray]) -> Difference:
    """The difference of one run a side: the bootstrap's interval alone."""
    return relative_difference(one_run(*a), one_run(*b), DEFAULT_CONFIDENCE)


def compare(side: Side, seed: int, b_scale: float, resamples: int = 1000) -> Difference:
    rng = np.random.default_rng(seed)
    return single(side(rng, 1.0, resamples), side(rng, b_scale, resamples))


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
            false[name] += single(a[name], b[name]).significant
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


def repeats_of(rng: np.random.Generator, repeats: int, run_spread: float) -> list[RunValue]:
    """One side's runs: each run's value moved by its own offset (sd `run_spread` on the log
    scale), its bootstrap seeing only a small noise inside the run."""
    return [RunValue(k, float(np.exp(rng.normal(0, run_spread))), 0.001**2) for k in range(repeats)]


def a_a_differences(repeats: int, trials: int = 400) -> list[Difference]:
    """A/A comparisons whose runs differ by more than their bootstraps say (1% per run)."""
    rng = np.random.default_rng(repeats)
    found = []
    for _ in range(trials):
        a, b = repeats_of(rng, repeats, 0.01), repeats_of(rng, repeats, 0.01)
        found.append(relative_difference(a, b, 0.99))
    return found


@pytest.mark.parametrize("repeats", [2, 3, 5])
def test_run_to_run_spread_the_bootstrap_misses_keeps_a_a_at_the_nominal_rate(
    repeats: int,
) -> None:
    """Runs that move as a whole: the interval from the repeats (t with R - 1 degrees of
    freedom) finds a difference in about 1% of A/A trials at 0.99, not in most of them."""
    differences = a_a_differences(repeats)
    false = sum(d.significant for d in differences) / len(differences)
    assert false <= 0.025, false


def test_two_repeats_give_an_honestly_wide_interval() -> None:
    """With 2 repeats the spread rests on one degree of freedom: 63.7 standard errors at 0.99."""
    assert t_quantile(0.995, 1) == pytest.approx(63.657, abs=0.01)
    assert t_quantile(0.995, 4) == pytest.approx(4.604, abs=0.001)
    assert t_quantile(0.975, 30) == pytest.approx(2.042, abs=0.001)
    widths = {r: np.median([d.high - d.low for d in a_a_differences(r, 100)]) for r in (2, 5)}
    assert widths[2] > 5 * widths[5], widths


def test_the_spread_is_never_taken_below_the_runs_own_bootstrap() -> None:
    """Two repeats that happen to agree exactly: the interval is still as wide as the runs'
    bootstraps with the t quantile."""
    runs = [RunValue(k, 1.0, 0.01**2) for k in range(2)]
    d = relative_difference(runs, runs, 0.99)
    half = 63.657 * np.sqrt(2 * 0.01**2) / np.sqrt(2)
    assert d.high == pytest.approx(np.expm1(half), rel=1e-3)


def test_the_difference_is_centred_on_the_repeats_not_on_one_run_s_burst() -> None:
    """Five A/A repeats, one of which had a burst that doubled a's p99 in that run only: the
    pooled p99 is mostly that run's (-50%, and centred there the interval would exclude 0), but
    the interval is about the repeats' ratios, whose mean it is centred on: it holds 0."""
    a = [RunValue(k, v, 0.02**2) for k, v in enumerate([200.0, 101.0, 99.0, 100.5, 99.5])]
    b = [RunValue(k, 100.0, 0.02**2) for k in range(5)]
    d = relative_difference(a, b, 0.99)
    ratios = [np.log(y.value / x.value) for x, y in zip(a, b, strict=True)]
    assert d.estimate == pytest.approx(np.expm1(np.mean(ratios)))
    assert d.low < 0 < d.high


def test_repeats_pair_by_repetition_and_unpaired_runs_are_left_out() -> None:
    a = [RunValue(0, 1.0, 1e-8), RunValue(1, 2.0, 1e-8), RunValue(2, 5.0, 1e-8)]
    b = [RunValue(0, 1.1, 1e-8), RunValue(1, 2.2, 1e-8)]
    d = relative_difference(a, b, 0.99)
    assert d.repeats == 2
    assert d.estimate == pytest.approx(0.1)
    # Paired, both repeats say +10% exactly: only the runs' own noise is left.
    assert 0.09 < d.low < d.high < 0.11


def test_more_repeats_are_suggested_from_the_spread() -> None:
    assert repeats_needed(0.001, 0.025, 0.99) == 3
    assert repeats_needed(0.005, 0.025, 0.99) == 4
    assert repeats_needed(0.01, 0.025, 0.99) == 5
    assert repeats_needed(1.0, 0.025, 0.99) is None
    assert repeats_needed(float("nan"), 0.025, 0.99) is None


def test_a_value_interval_holds_the_runs() -> None:
    runs = [RunValue(k, v, 1e-6) for k, v in enumerate([100.0, 102.0, 98.0])]
    low, high = value_interval(runs, 0.99) or (0.0, 0.0)
    assert low < 98 < 102 < high < 115
    assert value_interval([RunValue(0, 0.0, 1e-6)], 0.99) is None


def test_ratio_replicates_of_each_unit_once_is_the_point_value() -> None:
    counts = np.ones((1, 3), dtype=np.int64)
    assert ratio_replicates(np.array([1.0, 2, 3]), np.array([1.0, 1, 2]), counts)[0] == 1.5
    assert np.isnan(ratio_replicates(np.ones(3), np.zeros(3), counts)[0])


def test_relative_difference_refuses_what_has_none() -> None:
    runs = [RunValue(0, 1.0, 0.01)]
    with pytest.raises(ValueError, match="confidence"):
        relative_difference(runs, runs, confidence=1.0)
    with pytest.raises(ValueError, match="no repeat"):
        relative_difference([RunValue(0, 0.0, 0.01)], runs, 0.99)
    with pytest.raises(ValueError, match="no repeat"):
        relative_difference([RunValue(1, 1.0, 0.01)], runs, 0.99)
