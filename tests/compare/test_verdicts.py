"""Verdicts under the practical-equivalence rule: a winner only beyond the margin (stated from
the winner's side), equivalent inside it, unclear across an edge, and too little data when the
runs are too few or too small, each saying what would settle it."""

from __future__ import annotations

import pytest

from crossfade.compare.intervals import Difference
from crossfade.compare.model import MetricComparison
from crossfade.compare.verdicts import compare_metric, outcome, verdict
from tests.compare.synthetic import estimate

MARGIN = 0.05


def difference(estimate: float, low: float, high: float, confidence: float = 0.99) -> Difference:
    return Difference(estimate, low, high, confidence, repeats=3, spread=0.01)


def test_b_lower_on_a_latency_is_b_ahead() -> None:
    text = verdict(
        "ttft_p99",
        "triton-vllm",
        "vllm-native",
        difference(-0.18, -0.25, -0.11),
        "vllm-native",
        "ahead",
        MARGIN,
    )
    assert text == "TTFT p99: vllm-native 18% lower than triton-vllm (99% CI 11% to 25%)"


def test_a_ahead_is_restated_relative_to_b() -> None:
    # b 25% higher latency than a, so a is 20% lower than b: 1 / 1.25 - 1 = -0.2.
    text = verdict("e2e_p50", "a", "b", difference(0.25, 1 / 0.9 - 1, 0.5, 0.95), "a", "ahead", 0)
    assert text == "E2E p50: a 20% lower than b (95% CI 10% to 33%)"
    # Throughput: b 20% lower than a, so a is 25% higher than b.
    text = verdict(
        "output_token_throughput", "a", "b", difference(-0.2, -0.5, -0.1), "a", "ahead", 0
    )
    assert text == "output tokens/s: a 25% higher than b (99% CI 11% to 100%)"


def test_the_margin_rule_has_three_outcomes() -> None:
    assert outcome(difference(0.12, 0.06, 0.18), MARGIN) == "ahead"
    assert outcome(difference(-0.12, -0.18, -0.06), MARGIN) == "ahead"
    assert outcome(difference(0.003, -0.02, 0.03), MARGIN) == "equivalent"
    # Significant against 0, but not beyond the margin: no winner.
    assert outcome(difference(0.04, 0.02, 0.07), MARGIN) == "unclear"
    assert outcome(difference(0.0, -0.2, 0.2), MARGIN) == "unclear"
    # No margin: the old rule (the interval excludes 0).
    assert outcome(difference(0.04, 0.02, 0.07), 0.0) == "ahead"


def test_equivalent_and_unclear_keep_the_signs_of_b_against_a() -> None:
    text = verdict("itl_p50", "a", "b", difference(-0.002, -0.016, 0.013), None, "equivalent", 0.05)
    assert text == "ITL p50: equivalent within ±5.0% (-0.2%, 99% CI -1.6% to +1.3%)"
    text = verdict("itl_p50", "a", "b", difference(-0.02, -0.06, 0.03), None, "unclear", 0.05)
    assert text == (
        "ITL p50: no significant difference beyond ±5.0% (-2.0%, 99% CI -6.0% to +3.0%)"
    )


def compared(metric: str, a: list[float], b: list[float], **kwargs: int) -> MetricComparison:
    requests = kwargs.get("requests", 400)
    found = compare_metric(
        metric,  # type: ignore[arg-type]
        "a",
        "b",
        estimate(a, requests=requests),
        estimate(b, requests=requests),
        0.99,
        MARGIN,
    )
    assert found is not None
    return found


def test_compare_metric_names_the_winner_beyond_the_margin_by_what_is_better() -> None:
    latency = compared("ttft_p50", [130.0, 131.0, 129.0], [100.0, 100.5, 99.5])
    assert (latency.outcome, latency.winner, latency.better, latency.unit) == (
        "ahead",
        "b",
        "lower",
        "ms",
    )
    assert latency.repeats == 3
    throughput = compared("request_throughput", [130.0, 131.0, 129.0], [100.0, 100.5, 99.5])
    assert (throughput.winner, throughput.unit) == ("a", "req/s")


def test_an_a_a_difference_is_equivalent_not_a_winner() -> None:
    same = compared("e2e_p99", [100.0, 100.4, 99.8], [100.3, 100.1, 100.2])
    assert (same.outcome, same.winner) == ("equivalent", None)
    assert same.verdict.startswith("E2E p99: equivalent within ±5.0% (")


def test_a_small_but_real_difference_is_no_winner() -> None:
    small = compared("ttft_p50", [100.0, 100.2, 99.8], [104.5, 105.5, 104.8])
    assert small.significant
    assert (small.outcome, small.winner) == ("unclear", None)


def test_a_wide_interval_suggests_more_repeats() -> None:
    wide = compared("ttft_p50", [100.0, 101.0, 99.5], [100.5, 99.5, 101.5])
    assert wide.outcome == "unclear"
    assert wide.advice == (
        "about 7 repeats would settle it at ±5.0% (--repeat 7), or more requests per run"
    )
    assert wide.advice in wide.verdict


def test_one_repeat_is_too_little_data() -> None:
    one = compared("ttft_p50", [100.0], [150.0])
    assert (one.outcome, one.winner) == ("too_little_data", None)
    assert one.verdict == (
        "TTFT p50: too little data to judge (1 repeat: how runs differ is unknown; "
        "--repeat 3 or more)"
    )


@pytest.mark.parametrize(("metric", "needed"), [("ttft_p99", 100), ("itl_p50", 20)])
def test_too_few_requests_is_too_little_data(metric: str, needed: int) -> None:
    few = compared(metric, [100.0, 100.0], [150.0, 150.0], requests=16)
    assert (few.outcome, few.winner) == ("too_little_data", None)
    assert f"--requests {needed}" in (few.advice or "")
    enough = compared(metric, [100.0, 100.0], [150.0, 150.0], requests=needed)
    assert enough.outcome == "ahead"


def test_no_relative_difference_is_no_comparison() -> None:
    assert (
        compare_metric(
            "goodput", "a", "b", estimate([1.0]), estimate([1.0]).__class__(0.0, (), 400), 0.99, 0
        )
        is None
    )
