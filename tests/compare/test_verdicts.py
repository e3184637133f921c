"""Verdict lines: stated from the winner's side, or 'no significant difference' with the signs."""

from __future__ import annotations

import numpy as np
import pytest

from crossfade.compare.estimates import Estimate
from crossfade.compare.stats import Difference
from crossfade.compare.verdicts import compare_metric, verdict


def test_b_lower_on_a_latency_is_b_ahead() -> None:
    text = verdict(
        "ttft_p99",
        "triton-vllm",
        "vllm-native",
        Difference(-0.18, -0.25, -0.11, 0.99),
        "vllm-native",
    )
    assert text == "TTFT p99: vllm-native 18% lower than triton-vllm (99% CI 11% to 25%)"


def test_a_ahead_is_restated_relative_to_b() -> None:
    # b 25% higher latency than a, so a is 20% lower than b: 1 / 1.25 - 1 = -0.2.
    text = verdict("e2e_p50", "a", "b", Difference(0.25, 1 / 0.9 - 1, 0.5, 0.95), "a")
    assert text == "E2E p50: a 20% lower than b (95% CI 10% to 33%)"
    # Throughput: b 20% lower than a, so a is 25% higher than b.
    text = verdict("output_token_throughput", "a", "b", Difference(-0.2, -0.5, -0.1, 0.99), "a")
    assert text == "output tokens/s: a 25% higher than b (99% CI 11% to 100%)"


def test_no_difference_keeps_the_signs_of_b_against_a() -> None:
    text = verdict("itl_p50", "a", "b", Difference(-0.02, -0.06, 0.03, 0.99), None)
    assert text == "ITL p50: no significant difference (-2.0%, 99% CI -6.0% to +3.0%)"


def test_compare_metric_names_the_winner_by_what_is_better() -> None:
    low, high = Estimate(100.0, np.full(50, 100.0)), Estimate(130.0, np.full(50, 130.0))
    latency = compare_metric("ttft_p50", "a", "b", high, low, 0.99)
    assert latency is not None
    assert (latency.winner, latency.better, latency.unit) == ("b", "lower", "ms")
    assert latency.difference == pytest.approx(100 / 130 - 1)
    throughput = compare_metric("request_throughput", "a", "b", high, low, 0.99)
    assert throughput is not None
    assert (throughput.winner, throughput.unit) == ("a", "req/s")
    up, down = Estimate(100.0, np.linspace(80, 120, 50)), Estimate(100.0, np.linspace(120, 80, 50))
    unsure = compare_metric("itl_p99", "a", "b", up, down, 0.99)
    assert unsure is not None
    assert (unsure.winner, unsure.significant) == (None, False)
    assert unsure.ci_low < 0 < unsure.ci_high
    zero = Estimate(0.0, np.zeros(50))
    assert compare_metric("goodput", "a", "b", zero, low, 0.99) is None
