"""A run's samples use the run summary's own definitions: the same window, basis and goodput."""

from __future__ import annotations

import numpy as np
import pytest

from crossfade.bench.metrics import percentile
from crossfade.bench.plan import LoadPlan
from crossfade.compare.samples import run_samples
from crossfade.errors import CrossfadeError
from tests.compare.sweeps import RunShape, bench_result, closed_loop_records


def point(values: np.ndarray, q: float) -> float:
    return percentile(values[~np.isnan(values)], q)


@pytest.mark.parametrize("mode", ["closed", "open"])
def test_samples_reproduce_the_run_summary(mode: str) -> None:
    shape = RunShape(ttft_ms=50, requests=120, failures=3, sent_after_ms=7)
    records = closed_loop_records(shape, 4, np.random.default_rng(0))
    plan = (
        LoadPlan(concurrency=4, requests=120)
        if mode == "closed"
        else LoadPlan(rate=5, requests=120)
    )
    result = bench_result("t", plan, records, ["ttft:p50<52ms", "itl:p90<11ms"])
    samples = run_samples(result, records, "runs/t")
    summary = result.summary
    distributions = summary.distributions
    # Open loop: latency from the scheduled time, as the run's summary and goodput take it.
    ttft, e2e = (
        (distributions.ttft_ns, distributions.e2e_ns)
        if mode == "closed"
        else (distributions.ttft_from_scheduled_ns, distributions.e2e_from_scheduled_ns)
    )
    assert (samples.requests, samples.failed) == (summary.requests, summary.failed) == (120, 3)
    assert point(samples.ttft_ns, 50) == ttft.p50
    assert point(samples.ttft_ns, 99) == ttft.p99
    assert point(samples.e2e_ns, 99) == e2e.p99
    assert samples.itl_ns.size == distributions.itl_ns.count == 117 * 19
    assert percentile(samples.itl_ns, 99) == distributions.itl_ns.p99
    assert samples.counted.sum() / samples.window_s == pytest.approx(
        summary.request_throughput_per_s, rel=1e-12
    )
    assert samples.counted_tokens.sum() / samples.window_s == pytest.approx(
        summary.output_token_throughput_per_s, rel=1e-12
    )
    assert summary.goodput is not None
    assert samples.good is not None
    assert 0 < samples.good.sum() < 117
    assert samples.good.sum() / samples.window_s == pytest.approx(
        summary.goodput.good_per_s, rel=1e-12
    )
    assert point(samples.decode_rate, 50) == distributions.output_tokens_per_s.p50
    # Each request's ITL values are its own: request 3 (the first success) owns 19 of them.
    assert (samples.itl_owner == 3).sum() == 19
    assert np.isnan(samples.ttft_ns[:3]).all()


def test_requests_outside_the_window_are_not_measured() -> None:
    records = closed_loop_records(
        RunShape(ttft_ms=50, requests=40, failures=0), 2, np.random.default_rng(1)
    )
    result = bench_result("t", LoadPlan(concurrency=2, requests=40), records, [])
    # The first four requests were warm-up: the window opens at the fifth one's schedule.
    ordered = sorted(records, key=lambda r: r.scheduled_ns)
    run = result.run.model_copy(update={"measure_start_ns": ordered[4].scheduled_ns})
    result = result.model_copy(update={"run": run})
    samples = run_samples(result, records, "runs/t")
    assert samples.requests == 36
    assert samples.good is None
    assert samples.window_ns == result.run.end_ns - ordered[4].scheduled_ns


def test_a_result_whose_window_or_slos_cannot_be_used_is_refused_by_name() -> None:
    """(A result without a plan or a window is refused when it is loaded: tests/bench.)"""
    records = closed_loop_records(
        RunShape(ttft_ms=50, requests=5, failures=0), 1, np.random.default_rng(1)
    )
    result = bench_result("t", LoadPlan(concurrency=1, requests=5), records, [])
    empty = result.run.model_copy(update={"end_ns": result.run.measure_start_ns})
    with pytest.raises(CrossfadeError, match=r"runs/t: empty measurement window"):
        run_samples(result.model_copy(update={"run": empty}), records, "runs/t")
    config = result.config.model_copy(update={"slos": ["ttft<5"]})
    with pytest.raises(CrossfadeError, match=r"runs/t: result.json config.slos: bad SLO"):
        run_samples(result.model_copy(update={"config": config}), records, "runs/t")
