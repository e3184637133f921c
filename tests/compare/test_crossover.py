"""Crossover and saturation as pure functions of hand-built level comparisons and estimates."""

from __future__ import annotations

import re

import numpy as np
import pytest

from crossfade.compare.crossover import crossover, saturation
from crossfade.compare.estimates import Estimate
from crossfade.compare.intervals import RunValue
from crossfade.compare.model import LevelComparison, MetricComparison, MetricName


def compared(winner: str | None) -> MetricComparison:
    """A TTFT p50 comparison that `winner` (or nobody) wins; only `winner` matters here."""
    difference = {"a": 0.3, "b": -0.3, None: 0.01}[winner]
    return MetricComparison(
        metric="ttft_p50", better="lower", unit="ms", a_value=100, b_value=100 * (1 + difference),
        difference=difference, ci_low=difference - 0.1, ci_high=difference + 0.1,
        significant=winner is not None, outcome="unclear" if winner is None else "ahead",
        winner=winner, repeats=3, verdict="",
    )  # fmt: skip


def levels(*winners: str | None) -> list[LevelComparison]:
    """Levels 1, 2, 4, ... with the TTFT p50 winner of each."""
    return [LevelComparison(level=2.0**i, metrics=[compared(w)]) for i, w in enumerate(winners)]


def test_the_crossover_is_the_lowest_level_of_the_final_winning_streak() -> None:
    result = crossover("ttft_p50", levels("a", None, "b", "b"), "concurrency")
    assert (result.winner, result.from_level) == ("b", 4.0)
    assert result.note == ("b ahead from concurrency 4 on (below: 1: a ahead; 2: unclear)")


def test_a_target_ahead_everywhere_crosses_over_at_the_lowest_level() -> None:
    result = crossover("ttft_p50", levels("a", "a", "a"), "rate")
    assert (result.winner, result.from_level) == ("a", 1.0)
    assert result.note == "a ahead at every level measured, from 1 req/s"


def test_a_winner_that_loses_its_lead_at_the_top_is_no_crossover() -> None:
    result = crossover("ttft_p50", levels("b", "b", None), "concurrency")
    assert (result.winner, result.from_level) == (None, None)
    assert "highest level (concurrency 4)" in result.note
    flipped = crossover("ttft_p50", levels("b", "b", "a"), "concurrency")
    assert (flipped.winner, flipped.from_level) == ("a", 4.0)


def test_a_metric_missing_at_a_level_breaks_the_streak() -> None:
    with_gap = levels("b", "b", "b")
    with_gap[1] = LevelComparison(level=2.0, metrics=[])  # not comparable at 2
    result = crossover("ttft_p50", with_gap, "concurrency")
    assert result.from_level == 4.0
    assert crossover("itl_p50", with_gap, "concurrency").winner is None
    assert crossover("ttft_p50", [], "concurrency").winner is None


def test_no_crossover_is_drawn_through_a_failed_level() -> None:
    with_failure = levels("b", "b", "b", "b")
    with_failure[1] = LevelComparison(level=2.0, metrics=[], failed=["a"])
    result = crossover("ttft_p50", with_failure, "concurrency")
    assert (result.winner, result.from_level) == ("b", 4.0)
    assert result.note == "b ahead from concurrency 4 on (below: 1: b ahead; 2: a failed)"


def test_a_failure_at_the_highest_level_leaves_no_crossover() -> None:
    top_failed = levels("b", "b")
    top_failed.append(LevelComparison(level=4.0, metrics=[], failed=["a", "b"]))
    result = crossover("ttft_p50", top_failed, "rate")
    assert (result.winner, result.from_level) == (None, None)
    assert result.note == "a and b failed at the highest level (4 req/s)"


def estimate(value: float, spread: float = 0.005, seed: int = 0, repeats: int = 5) -> Estimate:
    """A pooled value whose runs spread `spread` (relative) around it, each run's own
    bootstrap a third of that."""
    rng = np.random.default_rng([seed, round(value)])
    runs = tuple(
        RunValue(k, value * float(np.exp(rng.normal(0, spread))), (spread / 3) ** 2)
        for k in range(repeats)
    )
    return Estimate(value, runs, 400)


def at(throughput: float, ttft_p50: float, e2e_p50: float) -> dict[MetricName, Estimate]:
    return {
        "output_token_throughput": estimate(throughput),
        "ttft_p50": estimate(ttft_p50, seed=1),
        "e2e_p50": estimate(e2e_p50, seed=2),
    }


def test_saturation_is_where_throughput_stalls_while_latency_climbs() -> None:
    levels = {
        8: at(1000, 50, 500),
        1: at(200, 40, 400),  # order does not matter
        2: at(390, 40, 410),
        4: at(700, 45, 450),
        16: at(1050, 120, 900),  # +5% throughput, TTFT +140%
        32: at(1060, 400, 1800),
    }
    result = saturation("t", levels, "concurrency", 0.99)
    assert (result.level, result.next_level) == (8, 16)
    assert [c.metric for c in result.changes] == ["output_token_throughput", "ttft_p50", "e2e_p50"]
    for change, truth in zip(result.changes, (0.05, 1.4, 0.8), strict=True):
        assert change.change == pytest.approx(truth, rel=0.02)
        # Runs 0.5% apart, 5 repeats: the 99% interval is a few percent of the ratio wide.
        assert change.ci_low < truth < change.ci_high
        assert change.ci_high - change.ci_low < 0.06 * (1 + truth)
    assert re.fullmatch(
        r"saturates at concurrency 8: at 16, output tokens/s \+5\.0% \(99% CI [-+]?\d\.\d% to "
        r"\+\d+\.?\d*%\) while TTFT p50 \+140% \(99% CI \+1\d\d% to \+1\d\d%\), "
        r"E2E p50 \+8\d% \(99% CI \+\d\d% to \+\d\d%\)",
        result.note,
    ), result.note


def test_throughput_that_keeps_rising_or_latency_that_holds_is_not_saturation() -> None:
    rising = {1: at(100, 40, 400), 2: at(150, 80, 800), 4: at(200, 160, 1600)}
    assert saturation("t", rising, "rate", 0.99).level is None
    assert saturation("t", rising, "rate", 0.99).note == "not saturated up to 4 req/s"
    assert saturation("t", rising, "rate", 0.99).changes == []
    # Flat throughput at flat latency: the load did not grow the queue (nothing is waiting).
    flat = {1: at(100, 40, 400), 2: at(102, 45, 420)}
    assert saturation("t", flat, "concurrency", 0.99).level is None
    falling = {1: at(100, 40, 400), 2: at(60, 40, 900)}
    assert saturation("t", falling, "concurrency", 0.99).level == 1
    one = {1: at(100, 40, 400)}
    assert saturation("t", one, "concurrency", 0.99).note == "fewer than two levels measured"


def test_a_saturation_without_an_interval_is_not_stated() -> None:
    levels = {1: at(100, 40, 400), 2: at(102, 80, 800)}
    no_replicate = Estimate(100.0, (), 400)
    levels[1] = {**levels[1], "output_token_throughput": no_replicate}
    result = saturation("t", levels, "concurrency", 0.99)
    assert (result.level, result.changes) == (None, [])
    assert result.note == (
        "no saturation verdict: the change from concurrency 1 to 2 has no confidence interval"
    )
    assert "saturates" not in result.note


def test_saturation_is_not_judged_across_a_failed_level() -> None:
    # 2 -> 8 would qualify, but the target failed at 4 in between.
    across = {1: at(100, 40, 400), 2: at(190, 40, 410), 4: None, 8: at(200, 200, 2000)}
    result = saturation("t", across, "concurrency", 0.99)
    assert result.level is None
    assert result.note == "no saturation seen between the levels it answered; failed at 4"
    after = {1: None, 2: at(190, 40, 410), 4: at(200, 200, 2000)}
    assert saturation("t", after, "concurrency", 0.99).level == 2
    apart = {1: at(100, 40, 400), 2: None, 4: at(200, 200, 2000)}
    assert saturation("t", apart, "concurrency", 0.99).note == (
        "no saturation seen (no two consecutive levels answered); failed at 2"
    )


def test_a_saturation_the_intervals_do_not_settle_is_not_stated() -> None:
    """The point values qualify, but runs 5% apart leave the throughput gain possibly above
    10%: no verdict, and the changes say why."""
    loose = {
        level: {
            metric: estimate(value, spread=0.05, seed=seed)
            for seed, (metric, value) in enumerate(
                [("output_token_throughput", t), ("ttft_p50", f), ("e2e_p50", e)]
            )
        }
        for level, (t, f, e) in {1: (100, 40, 400), 2: (105, 52, 520)}.items()
    }
    result = saturation("t", loose, "concurrency", 0.99)
    assert result.level is None
    assert result.note.startswith(
        "no saturation verdict: the change from concurrency 1 to 2 is not settled"
    )
    assert len(result.changes) == 3


def test_a_saturation_from_one_repeat_is_not_stated() -> None:
    single = {
        level: {
            "output_token_throughput": estimate(t, repeats=1),
            "ttft_p50": estimate(f, seed=1, repeats=1),
            "e2e_p50": estimate(f * 10, seed=2, repeats=1),
        }
        for level, (t, f) in {1: (100, 40), 2: (102, 80)}.items()
    }
    result = saturation("t", single, "concurrency", 0.99)
    assert result.level is None
    assert "rests on one repeat (--repeat 3 or more)" in result.note
