"""The gates on synthetic observations whose true ratios and differences are known."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from crossfade.bench.metrics import percentiles
from crossfade.rollout.canary import gates as gates_module
from crossfade.rollout.canary.gates import Verdict, evaluate_window
from crossfade.rollout.router.observations import Observation
from crossfade.spec.canary_plan import Gates, Slo
from tests.rollout.canary.fakes import Profile
from tests.rollout.canary.observations import observations, window

GATES = Gates(
    ttft_p95_ratio_max=1.5,
    itl_p95_ratio_max=1.5,
    error_rate_delta_max=0.02,
    length_mismatch_delta_max=0.02,
    slo=Slo(ttft_p99_ms=100.0, itl_p99_ms=50.0),
)


def as_candidate(seen: list[Observation], **scale: float) -> list[Observation]:
    """The same requests, served by the candidate, with TTFT and/or ITL scaled exactly."""
    result = []
    for o in seen:
        update: dict[str, object] = {"backend": "candidate"}
        if o.ttft_ms is not None:
            update["ttft_ms"] = o.ttft_ms * scale.get("ttft", 1.0)
        update["itl_ms"] = [v * scale.get("itl", 1.0) for v in o.itl_ms]
        result.append(replace(o, **update))
    return result


def gate(report: gates_module.WindowReport, name: str) -> gates_module.GateResult:
    return next(g for g in report.gates if g.name == name)


def test_equal_backends_pass_every_gate() -> None:
    report = evaluate_window(window(400, 400), "incumbent", "candidate", GATES)
    assert report.verdict is Verdict.PASS
    assert [g.name for g in report.gates] == [
        "ttft_p95_ratio", "itl_p95_ratio", "error_rate_delta", "length_mismatch_delta",
        "ttft_p99_ms", "itl_p99_ms",
    ]  # fmt: skip
    assert gate(report, "ttft_p95_ratio").value == pytest.approx(1.0, abs=0.1)


@pytest.mark.slow  # 60 bootstrap intervals: seconds
def test_intervals_cover_the_true_ratio_about_as_often_as_promised() -> None:
    covered = 0
    for seed in range(60):
        result = gate(
            evaluate_window(window(200, 200, seed=seed), "incumbent", "candidate", GATES),
            "ttft_p95_ratio",
        )
        assert result.low is not None
        assert result.high is not None
        covered += result.low <= 1.0 <= result.high
    # 95% intervals: 57 expected. Over 150 seeds this measured 93%; a percentile bootstrap of a
    # tail percentile runs a little narrow.
    assert covered >= 51


@pytest.mark.parametrize(
    ("factor", "limit", "verdict"),
    [(2.0, 1.5, Verdict.FAIL), (2.0, 2.5, Verdict.PASS), (2.0, 2.0, Verdict.UNCLEAR)],
)
def test_a_ttft_ratio_is_the_ratio_of_p95s(factor: float, limit: float, verdict: Verdict) -> None:
    incumbent = observations("incumbent", 300)
    gates = GATES.model_copy(update={"ttft_p95_ratio_max": limit})
    report = evaluate_window(
        incumbent + as_candidate(incumbent, ttft=factor), "incumbent", "candidate", gates
    )
    result = gate(report, "ttft_p95_ratio")
    assert result.value == pytest.approx(factor)
    assert result.verdict is verdict
    assert result.limit == limit
    assert gate(report, "itl_p95_ratio").value == pytest.approx(1.0)


def test_itl_pools_every_token_of_the_successful_requests() -> None:
    incumbent = observations("incumbent", 200, Profile(tokens=33, error_rate=0.1))
    report = evaluate_window(
        incumbent + as_candidate(incumbent, itl=3.0), "incumbent", "candidate", GATES
    )
    pooled = [v for o in incumbent if o.ok for v in o.itl_ms]
    assert len(pooled) == 32 * sum(o.ok for o in incumbent)
    assert report.incumbent.itl_p95_ms == pytest.approx(percentiles(pooled, [95])[0])
    assert report.candidate.itl_p99_ms == pytest.approx(3 * percentiles(pooled, [99])[0])
    result = gate(report, "itl_p95_ratio")
    assert result.value == pytest.approx(3.0)
    assert result.verdict is Verdict.FAIL


def test_error_rate_is_a_difference() -> None:
    seen = window(200, 200, Profile(error_rate=0.25), Profile(error_rate=0.05))
    report = evaluate_window(seen, "incumbent", "candidate", GATES)
    rates = {
        side: sum(not o.ok for o in seen if o.backend == side) / 200
        for side in ("incumbent", "candidate")
    }
    assert report.candidate.error_rate == pytest.approx(rates["candidate"])
    result = gate(report, "error_rate_delta")
    assert result.value == pytest.approx(rates["candidate"] - rates["incumbent"])
    assert result.verdict is Verdict.FAIL
    # Failed requests have no latency: the ratios use the successful ones only.
    assert gate(report, "ttft_p95_ratio").verdict is Verdict.PASS


def test_length_mismatch_counts_whole_responses_and_length_failures_are_not_errors() -> None:
    seen = window(100, 100)
    cut = [
        replace(o, ok=False, error_kind="short_output", output_tokens=10)
        if o.backend == "candidate" and i % 10 == 0
        else o
        for i, o in enumerate(seen)
    ]
    report = evaluate_window(cut, "incumbent", "candidate", GATES)
    assert report.candidate.errors == 0
    assert (report.candidate.length_checked, report.candidate.length_mismatches) == (100, 10)
    result = gate(report, "length_mismatch_delta")
    assert result.value == pytest.approx(0.1)
    assert result.verdict is Verdict.FAIL


def test_responses_without_counts_are_not_checked() -> None:
    seen = [replace(o, requested_tokens=None) for o in window(100, 100)]
    report = evaluate_window(seen, "incumbent", "candidate", GATES)
    assert report.candidate.length_checked == 0
    result = gate(report, "length_mismatch_delta")
    assert result.verdict is Verdict.UNCLEAR
    assert "leave out gates.length_mismatch_delta_max" in result.note
    # Counts on one side only: too few to compare.
    seen = [
        replace(o, output_tokens=None) if o.backend == "candidate" else o for o in window(100, 100)
    ]
    result = gate(evaluate_window(seen, "incumbent", "candidate", GATES), "length_mismatch_delta")
    assert result.verdict is Verdict.UNCLEAR
    assert "too few checked lengths: candidate 0, incumbent 100" in result.note
    assert "(gates.min_samples is 20)" in result.note


def test_too_few_samples_is_unclear_whatever_the_values() -> None:
    seen = window(300, 19, Profile(ttft_ms=80.0, error_rate=0.5))
    report = evaluate_window(seen, "incumbent", "candidate", GATES)
    assert {g.verdict for g in report.gates} == {Verdict.UNCLEAR}
    assert "candidate 19, incumbent 300" in gate(report, "error_rate_delta").note
    # Latencies count the successful requests only.
    succeeded = sum(o.ok for o in seen if o.backend == "candidate")
    assert f"candidate {succeeded}," in gate(report, "ttft_p95_ratio").note
    assert report.candidate.requests == 19


def test_slo_is_on_the_candidates_p99() -> None:
    slow = Profile(ttft_ms=150.0)
    report = evaluate_window(window(300, 300, slow, slow), "incumbent", "candidate", GATES)
    assert gate(report, "ttft_p95_ratio").verdict is Verdict.PASS  # both as slow
    result = gate(report, "ttft_p99_ms")
    assert result.value == report.candidate.ttft_p99_ms
    assert result.verdict is Verdict.FAIL


def test_other_backends_are_ignored_and_no_traffic_is_unclear() -> None:
    report = evaluate_window(observations("third", 100), "incumbent", "candidate", GATES)
    assert report.verdict is Verdict.UNCLEAR
    assert report.candidate.requests == report.incumbent.requests == 0
    assert report.candidate.error_rate is None
    assert report.candidate.ttft_p95_ms is None


def test_zero_itl_on_both_sides_passes() -> None:
    # Every token after the first in the first chunk: per-token ITL is all zeros.
    seen = [replace(o, itl_ms=[0.0] * len(o.itl_ms)) for o in window(100, 100)]
    result = gate(evaluate_window(seen, "incumbent", "candidate", GATES), "itl_p95_ratio")
    assert (result.verdict, result.value) == (Verdict.PASS, 1.0)


def test_same_window_same_verdicts() -> None:
    seen = window(200, 200, Profile(ttft_ms=29.0))
    first = evaluate_window(seen, "incumbent", "candidate", GATES, seed=3)
    assert evaluate_window(seen, "incumbent", "candidate", GATES, seed=3) == first


def test_large_windows_resample_a_subsample(monkeypatch: pytest.MonkeyPatch) -> None:
    incumbent = observations("incumbent", 1000)
    seen = incumbent + as_candidate(incumbent, ttft=2.0)
    narrow = gate(evaluate_window(seen, "incumbent", "candidate", GATES), "ttft_p95_ratio")
    monkeypatch.setattr(gates_module, "MAX_RESAMPLED_REQUESTS", 100)
    report = evaluate_window(seen, "incumbent", "candidate", GATES)
    wide = gate(report, "ttft_p95_ratio")
    # The point value still uses all 1000 requests; the interval, 100 of them: wider.
    assert report.candidate.requests == 1000
    assert wide.value == narrow.value == pytest.approx(2.0)
    assert wide.verdict is Verdict.FAIL
    assert None not in (wide.low, wide.high, narrow.low, narrow.high)
    assert wide.high - wide.low > 1.3 * (narrow.high - narrow.low)  # type: ignore[operator]


def test_describe_states_value_interval_and_limit() -> None:
    incumbent = observations("incumbent", 300)
    report = evaluate_window(
        incumbent + as_candidate(incumbent, ttft=2.0), "incumbent", "candidate", GATES
    )
    text = gate(report, "ttft_p95_ratio").describe()
    assert text.startswith("ttft_p95_ratio 2 (CI ")
    assert text.endswith("past 1.5")
    assert np.isfinite(report.incumbent.ttft_p99_ms or np.nan)


TPOT_GATES = Gates(ttft_p95_ratio_max=1.5, tpot_p95_ratio_max=1.5, error_rate_delta_max=0.02)


def test_tpot_is_one_value_per_request_and_its_ratio_is_gated() -> None:
    incumbent = observations("incumbent", 300)
    slower = [replace(o, backend="candidate", tpot_ms=o.tpot_ms * 2.0) for o in incumbent]
    report = evaluate_window(incumbent + slower, "incumbent", "candidate", TPOT_GATES)
    assert [g.name for g in report.gates] == [
        "ttft_p95_ratio",
        "tpot_p95_ratio",
        "error_rate_delta",
    ]
    per_request = [o.tpot_ms for o in incumbent if o.tpot_ms is not None]
    assert len(per_request) == 300  # one per successful request
    assert report.incumbent.tpot_p95_ms == pytest.approx(percentiles(per_request, [95])[0])
    result = gate(report, "tpot_p95_ratio")
    assert result.value == pytest.approx(2.0)
    assert result.verdict is Verdict.FAIL
    same = as_candidate(incumbent)
    passed = gate(
        evaluate_window(incumbent + same, "incumbent", "candidate", TPOT_GATES), "tpot_p95_ratio"
    )
    assert passed.verdict is Verdict.PASS


def test_tpot_holds_where_chunking_leaves_the_incumbents_itl_at_zero() -> None:
    # The incumbent sends most of each answer in one chunk: its per-token ITL is almost all 0,
    # so the ITL ratio cannot be judged, while each request's TPOT still is.
    both = Gates(
        ttft_p95_ratio_max=1.5,
        itl_p95_ratio_max=1.5,
        tpot_p95_ratio_max=1.5,
        error_rate_delta_max=0.02,
    )
    incumbent = [replace(o, itl_ms=[0.0] * len(o.itl_ms)) for o in observations("incumbent", 200)]
    candidate = observations("candidate", 200, seed=1)
    report = evaluate_window(incumbent + candidate, "incumbent", "candidate", both)
    assert gate(report, "itl_p95_ratio").verdict is Verdict.UNCLEAR
    assert gate(report, "tpot_p95_ratio").verdict is Verdict.PASS


def test_a_plan_without_the_itl_gate_does_not_evaluate_it() -> None:
    report = evaluate_window(window(100, 100), "incumbent", "candidate", TPOT_GATES)
    assert "itl_p95_ratio" not in [g.name for g in report.gates]
    assert report.incumbent.itl_p95_ms is not None  # still reported, just not gated
