"""The projected crossover on constructed cases: one backend ahead at low concurrency and behind
at high, one ahead everywhere, the two even, a level without a figure, a lead too small."""

from __future__ import annotations

import pytest

from crossfade.project.crossover import EVEN_WITHIN, crossover, crossovers, level_leads
from tests.project.projections import backend


def test_ahead_at_low_concurrency_and_behind_at_high_is_a_crossover() -> None:
    trt = backend("tensorrtllm", {1: 100, 8: 95, 32: 130, 64: 160})
    vllm = backend("vllm", {1: 110, 8: 100, 32: 120, 64: 140})
    found = crossover("output_token_throughput_per_gpu", trt, vllm)
    assert (found.leader, found.from_concurrency, found.overtakes) == ("tensorrtllm", 32, True)
    assert found.better == "higher"
    assert found.note == (
        "TensorRT-LLM ahead from concurrency 32 on, by 8% to 14% "
        "(below: 1: vLLM ahead by 10%; 8: vLLM ahead by 5%)"
    )


def test_a_lower_is_better_metric_crosses_the_same_way() -> None:
    trt = backend("tensorrtllm", {1: 100, 8: 95, 32: 130, 64: 160})
    vllm = backend("vllm", {1: 110, 8: 100, 32: 120, 64: 140})
    found = crossover("ttft_ms", trt, vllm)  # TTFT = 100000 / throughput: lower wins
    assert (found.leader, found.from_concurrency, found.overtakes) == ("tensorrtllm", 32, True)
    assert found.better == "lower"


def test_ahead_everywhere_is_no_crossover() -> None:
    trt = backend("tensorrtllm", {1: 100, 8: 200, 32: 300})
    vllm = backend("vllm", {1: 120, 8: 260, 32: 330})
    found = crossover("output_token_throughput_per_gpu", trt, vllm)
    assert (found.leader, found.from_concurrency, found.overtakes) == ("vllm", 1, False)
    assert found.note == "vLLM ahead at every concurrency projected (1 to 32), by 10% to 30%"


def test_even_at_the_highest_concurrency_has_no_leader() -> None:
    trt = backend("tensorrtllm", {1: 100, 8: 200, 32: 300})
    vllm = backend("vllm", {1: 150, 8: 250, 32: 300})
    found = crossover("output_token_throughput_per_gpu", trt, vllm)
    assert (found.leader, found.from_concurrency, found.overtakes) == (None, None, False)
    assert found.note == "even at the highest concurrency (32)"


def test_pulling_ahead_from_even_is_no_overtaking() -> None:
    trt = backend("tensorrtllm", {1: 100, 8: 100, 32: 150})
    vllm = backend("vllm", {1: 100, 8: 101, 32: 120})
    found = crossover("output_token_throughput_per_gpu", trt, vllm)
    assert (found.leader, found.from_concurrency, found.overtakes) == ("tensorrtllm", 32, False)
    assert found.note.endswith("(below: 1: even; 8: even)")


def test_a_lead_below_the_threshold_is_even() -> None:
    small = 100 * (1 + EVEN_WITHIN * 0.9)
    large = 100 * (1 + EVEN_WITHIN * 1.1)
    trt = backend("tensorrtllm", {1: small, 2: large})
    vllm = backend("vllm", {1: 100, 2: 100})
    leads = level_leads("output_token_throughput_per_gpu", trt, vllm)
    assert [(lead.leader, lead.lead) for lead in leads] == [
        (None, 0.0),
        ("tensorrtllm", pytest.approx(EVEN_WITHIN * 1.1)),
    ]


def test_a_level_without_a_figure_has_no_leader_and_stops_a_run() -> None:
    trt = backend("tensorrtllm", {1: 100, 8: 150, 32: 200, 64: 220})
    vllm = backend("vllm", {1: 90, 8: None, 32: 180, 64: 190})
    found = crossover("output_token_throughput_per_gpu", trt, vllm)
    assert (found.leader, found.from_concurrency, found.overtakes) == ("tensorrtllm", 32, False)
    assert "8: vLLM not projected" in found.note


def test_no_figure_at_the_highest_concurrency_has_no_leader() -> None:
    trt = backend("tensorrtllm", {1: 100, 8: None})
    vllm = backend("vllm", {1: 120, 8: None})
    found = crossover("output_token_throughput_per_gpu", trt, vllm)
    assert found.leader is None
    assert found.note == "TensorRT-LLM and vLLM not projected at the highest concurrency (8)"


def test_every_crossover_metric_is_drawn() -> None:
    trt = backend("tensorrtllm", {1: 100, 8: 200})
    vllm = backend("vllm", {1: 120, 8: 260})
    found = crossovers(trt, vllm)
    assert [c.metric for c in found] == ["output_token_throughput_per_gpu", "ttft_ms", "tpot_ms"]
    assert {c.leader for c in found} == {"vllm"}
