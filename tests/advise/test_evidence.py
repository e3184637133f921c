"""Measured evidence: backends from URL schemes, the level nearest the stated concurrency,
differences turned into TensorRT-LLM vs vLLM whichever side the file put them on, emulated
engines labelled and never counted, and unreadable comparison files named."""

from __future__ import annotations

import pytest

from crossfade.advise.evidence import (
    EMULATED_LABEL,
    backend_of,
    gather_evidence,
)
from crossfade.advise.render import _row as evidence_row
from crossfade.bench.targets import SCHEMES
from crossfade.spec.models import Deployment
from tests.advise.comparisons import TRT, VLLM, make_comparison

THROUGHPUT = {"output_token_throughput": (1200.0, 1000.0, True)}


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("triton-trtllm://h:8000/ensemble", "tensorrtllm"),
        ("triton-grpc-trtllm://h:8001/tensorrt_llm_bls", "tensorrtllm"),
        ("triton-vllm://h:8000/vllm_model", "vllm"),
        ("triton-grpc-vllm://h:8001/vllm_model", "vllm"),
        ("openai://h:8000/v1?model=m", "vllm"),
        ("openai-chat://h:8000/v1?model=m", "vllm"),
        ("trtllm-serve://h:8000/v1?model=m", "tensorrtllm"),  # the URL names the engine
        ("TRITON-TRTLLM://h/ensemble", "tensorrtllm"),
        ("grpc://h:8001/x", None),
        ("no scheme", None),
    ],
)
def test_backend_of_url(url: str, backend: str | None) -> None:
    assert backend_of(url) == backend


def test_every_bench_scheme_has_a_backend() -> None:
    for scheme in SCHEMES:
        assert backend_of(f"{scheme}://h/m") in ("vllm", "tensorrtllm")


@pytest.mark.parametrize("trt_first", [True, False])
def test_difference_is_tensorrtllm_relative_to_vllm_on_either_side(trt_first: bool) -> None:
    trt, vllm = 1200.0, 1000.0
    comparison = make_comparison(
        {32: {"output_token_throughput": (trt, vllm, True)}}, trt_first=trt_first
    )
    evidence = gather_evidence([("r", comparison)], Deployment(expected_concurrency=32))
    [pair] = evidence.pairs
    [metric] = pair.metrics
    assert (metric.tensorrtllm, metric.vllm) == (trt, vllm)
    assert metric.change == pytest.approx((trt - vllm) / vllm)
    assert metric.ci_low < metric.change < metric.ci_high
    assert metric.winner == "tensorrtllm"
    assert pair.counts
    assert pair.verdict == evidence.verdict == "tensorrtllm"
    assert (pair.tensorrtllm_target, pair.vllm_target) == (TRT, VLLM)


@pytest.mark.parametrize(
    ("levels", "stated", "chosen"),
    [([8, 32, 128], 48, 32), ([16, 48], 32, 48), ([1, 64], 64, 64), ([4, 8], 6, 8)],
)
def test_the_level_nearest_the_stated_concurrency_is_used(
    levels: list[float], stated: int, chosen: float
) -> None:
    comparison = make_comparison({level: THROUGHPUT for level in levels})
    [pair] = gather_evidence([("r", comparison)], Deployment(expected_concurrency=stated)).pairs
    assert pair.level == chosen
    assert pair.counts
    assert "concurrency" in pair.where


def test_a_level_far_from_the_stated_concurrency_is_shown_but_does_not_count() -> None:
    comparison = make_comparison({8: THROUGHPUT})
    evidence = gather_evidence([("r", comparison)], Deployment(expected_concurrency=64))
    [pair] = evidence.pairs
    assert not pair.counts
    assert evidence.verdict is None
    assert any("far from the stated concurrency" in note for note in pair.notes)


def test_a_level_where_a_target_failed_is_never_evidence() -> None:
    # vLLM failed at 64, the stated concurrency: the evidence is from 32, where both answered.
    comparison = make_comparison({32: THROUGHPUT, 64: THROUGHPUT}, failed={64: [VLLM]})
    evidence = gather_evidence([("r", comparison)], Deployment(expected_concurrency=64))
    [pair] = evidence.pairs
    assert pair.level == 32
    assert pair.counts
    assert evidence.verdict == "tensorrtllm"
    assert "vllm failed at concurrency 64: no evidence from there" in pair.notes
    # Without a stated concurrency, the highest level both answered.
    [top] = gather_evidence([("r", comparison)], Deployment()).pairs
    assert top.level == 32


def test_a_pair_that_never_both_answered_is_skipped() -> None:
    comparison = make_comparison({8: THROUGHPUT, 64: THROUGHPUT}, failed={8: [TRT], 64: [TRT]})
    evidence = gather_evidence([("r", comparison)], Deployment(expected_concurrency=64))
    assert evidence.pairs == []
    assert evidence.verdict is None
    assert evidence.skipped == [
        "r: trt vs vllm: no level where both answered (trt failed at concurrency 8, 64)"
    ]


def test_without_a_stated_concurrency_nothing_counts() -> None:
    comparison = make_comparison({8: THROUGHPUT, 64: THROUGHPUT})
    evidence = gather_evidence([("r", comparison)], Deployment())
    [pair] = evidence.pairs
    assert pair.level == 64
    assert not pair.counts
    assert evidence.verdict is None


def test_rate_sweeps_do_not_count_against_a_concurrency() -> None:
    comparison = make_comparison({4.0: THROUGHPUT}, mode="rate")
    [pair] = gather_evidence([("r", comparison)], Deployment(expected_concurrency=4)).pairs
    assert not pair.counts
    assert "req/s" in pair.where


def test_emulated_engine_is_labelled_and_never_counts() -> None:
    comparison = make_comparison({32: THROUGHPUT}, emulated=True)
    facts = Deployment(expected_concurrency=32, ttft_p99_target_ms=500.0)
    evidence = gather_evidence([("r", comparison)], facts)
    [pair] = evidence.pairs
    assert pair.emulated
    # Its name carries the mark wherever it is shown.
    assert pair.tensorrtllm_target == f"{TRT} (emulated)"
    assert f"{TRT} (emulated) vs {VLLM}" in pair.where
    assert {check.target for check in pair.checks} == {f"{TRT} (emulated)", VLLM}
    assert not pair.counts
    assert pair.notes[0] == EMULATED_LABEL
    assert evidence.verdict is None
    # Its figures are still there to show.
    assert pair.metrics[0].tensorrtllm == THROUGHPUT["output_token_throughput"][0]


def test_pairs_that_are_not_one_of_each_backend_are_skipped() -> None:
    comparison = make_comparison({32: THROUGHPUT}, trt_url="openai://h:8000/v1?model=m")
    evidence = gather_evidence([("r", comparison)], Deployment(expected_concurrency=32))
    assert evidence.pairs == []
    assert len(evidence.skipped) == 1
    assert evidence.verdict is None


def test_verdicts_no_difference_and_mixed() -> None:
    facts = Deployment(expected_concurrency=32)
    flat = make_comparison({32: {"output_token_throughput": (1010.0, 1000.0, False)}})
    assert gather_evidence([("r", flat)], facts).verdict == "none"
    split = make_comparison(
        {32: {"output_token_throughput": (1200.0, 1000.0, True), "ttft_p99": (900.0, 600.0, True)}}
    )
    evidence = gather_evidence([("r", split)], facts)
    assert evidence.verdict == "mixed"
    assert {m.winner for m in evidence.pairs[0].metrics} == {"tensorrtllm", "vllm"}
    vllm_ahead = make_comparison({32: {"output_token_throughput": (900.0, 1000.0, True)}})
    disagree = gather_evidence([("a", flat), ("b", vllm_ahead)], facts)
    assert disagree.verdict == "vllm"
    both = gather_evidence([("a", split), ("b", vllm_ahead)], facts)
    assert both.verdict == "mixed"


def test_latency_targets_are_checked_against_each_target() -> None:
    trt_ttft, vllm_ttft = 400.0, 650.0
    comparison = make_comparison({32: {"ttft_p99": (trt_ttft, vllm_ttft, True)}})
    facts = Deployment(expected_concurrency=32, ttft_p99_target_ms=500.0)
    [pair] = gather_evidence([("r", comparison)], facts).pairs
    checks = {(c.target, c.metric): c for c in pair.checks}
    assert set(checks) == {(TRT, "ttft_p99"), (VLLM, "ttft_p99")}
    assert checks[(TRT, "ttft_p99")].met
    assert not checks[(VLLM, "ttft_p99")].met
    assert checks[(VLLM, "ttft_p99")].observed_ms == vllm_ttft


def test_a_difference_inside_the_margin_is_evidence_of_equivalence_not_of_a_winner() -> None:
    """The margin rule's outcome carries into the evidence and its table row."""
    comparison = make_comparison({32.0: {"output_token_throughput": (1001.0, 1000.0, False)}})
    (pair,) = comparison.pairs
    (level,) = pair.levels
    (metric,) = level.metrics
    equivalent = metric.model_copy(update={"outcome": "equivalent", "ci_low": -0.02})
    comparison = comparison.model_copy(
        update={
            "pairs": [
                pair.model_copy(
                    update={"levels": [level.model_copy(update={"metrics": [equivalent]})]}
                )
            ]
        }
    )
    [found] = gather_evidence([("r", comparison)], Deployment(expected_concurrency=32)).pairs
    (evidence,) = found.metrics
    assert (evidence.winner, evidence.outcome) == (None, "equivalent")
    assert evidence_row(evidence, found)[-1] == "equivalent"
