"""Crossover and saturation as pure functions of hand-built level comparisons and summaries."""

from __future__ import annotations

from crossfade.compare.crossover import crossover, saturation
from crossfade.compare.model import LevelComparison, MetricComparison, TargetLevelSummary


def compared(winner: str | None) -> MetricComparison:
    """A TTFT p50 comparison that `winner` (or nobody) wins; only `winner` matters here."""
    difference = {"a": 0.3, "b": -0.3, None: 0.01}[winner]
    return MetricComparison(
        metric="ttft_p50", better="lower", unit="ms", a_value=100, b_value=100 * (1 + difference),
        difference=difference, ci_low=difference - 0.1, ci_high=difference + 0.1,
        significant=winner is not None, winner=winner, verdict="",
    )  # fmt: skip


def levels(*winners: str | None) -> list[LevelComparison]:
    """Levels 1, 2, 4, ... with the TTFT p50 winner of each."""
    return [LevelComparison(level=2.0**i, metrics=[compared(w)]) for i, w in enumerate(winners)]


def test_the_crossover_is_the_lowest_level_of_the_final_winning_streak() -> None:
    result = crossover("ttft_p50", levels("a", None, "b", "b"), "concurrency")
    assert (result.winner, result.from_level) == ("b", 4.0)
    assert result.note == (
        "b ahead from concurrency 4 on (below: 1: a ahead; 2: no significant difference)"
    )


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


def summary(level: float, throughput: float, ttft_p50: float, e2e_p50: float) -> TargetLevelSummary:
    return TargetLevelSummary(
        target="t", level=level, runs=[], requests=100, failed=0,
        output_token_throughput=throughput, request_throughput=throughput / 10, goodput=None,
        ttft_ms={"p50": ttft_p50}, itl_ms={}, e2e_ms={"p50": e2e_p50},
        output_tokens_per_s_per_user=0.0,
    )  # fmt: skip


def test_saturation_is_where_throughput_stalls_while_latency_climbs() -> None:
    summaries = [
        summary(8, 1000, 50, 500),
        summary(1, 200, 40, 400),  # order does not matter
        summary(2, 390, 40, 410),
        summary(4, 700, 45, 450),
        summary(16, 1050, 120, 900),  # +5% throughput, TTFT +140%
        summary(32, 1060, 400, 1800),
    ]
    result = saturation("t", summaries, "concurrency")
    assert result.level == 8
    assert result.note == (
        "saturates at concurrency 8: at 16, output tokens/s +5% while TTFT p50 +140%, E2E p50 +80%"
    )


def test_throughput_that_keeps_rising_or_latency_that_holds_is_not_saturation() -> None:
    rising = [summary(1, 100, 40, 400), summary(2, 150, 80, 800), summary(4, 200, 160, 1600)]
    assert saturation("t", rising, "rate").level is None
    assert saturation("t", rising, "rate").note == "not saturated up to 4 req/s"
    # Flat throughput at flat latency: the load did not grow the queue (nothing is waiting).
    flat = [summary(1, 100, 40, 400), summary(2, 102, 45, 420)]
    assert saturation("t", flat, "concurrency").level is None
    falling = [summary(1, 100, 40, 400), summary(2, 60, 40, 900)]
    assert saturation("t", falling, "concurrency").level == 1
    assert saturation("t", flat[:1], "concurrency").note == "fewer than two levels measured"
