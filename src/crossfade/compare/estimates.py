"""One target at one load level, its repeats pooled: the point value of every compared metric,
each run's value with its bootstrap variance (`intervals` makes the interval from them), and
the summary the report plots.

Latency percentiles resample a run's requests; ITL resamples
requests too and pools their per-token values (a cluster bootstrap: the tokens of one request
are not independent); throughputs redraw the window's length too (`throughput`). See
docs/metrics.md, "Comparison statistics".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from crossfade.bench.metrics import NS_PER_MS, FloatArray, IntArray, percentile
from crossfade.bench.summary import describe
from crossfade.compare.intervals import RunValue
from crossfade.compare.model import Better, MetricName, TargetLevelSummary
from crossfade.compare.samples import RunSamples
from crossfade.compare.stats import log_variance, percentile_replicates, resample_counts
from crossfade.compare.throughput import ThroughputSample, throughput_replicates

# metric -> (better, unit, label in verdicts)
METRICS: dict[MetricName, tuple[Better, str, str]] = {
    "output_token_throughput": ("higher", "tok/s", "output tokens/s"),
    "request_throughput": ("higher", "req/s", "requests/s"),
    "goodput": ("higher", "req/s", "goodput"),
    "ttft_p50": ("lower", "ms", "TTFT p50"),
    "ttft_p99": ("lower", "ms", "TTFT p99"),
    "itl_p50": ("lower", "ms", "ITL p50"),
    "itl_p99": ("lower", "ms", "ITL p99"),
    "e2e_p50": ("lower", "ms", "E2E p50"),
    "e2e_p99": ("lower", "ms", "E2E p99"),
}


# Below these numbers of measured requests per run a metric is not ranked (`verdicts`): a p50 of
# fewer is mostly the luck of the draw, and a p99 of fewer than 100 values is the largest one
# or two, whose bootstrap says little (ITL p99 has many per-token values: MIN_REQUESTS).
MIN_REQUESTS = 20
MIN_P99_VALUES = 100


@dataclass(frozen=True, eq=False)
class Estimate:
    """A metric's point value on all the pooled data, each run's own value with the bootstrap
    variance of its log, and the fewest measured requests a run had (`MIN_REQUESTS`)."""

    value: float
    runs: tuple[RunValue, ...]
    fewest: int


def estimates(
    runs: Sequence[RunSamples],
    repeats: Sequence[int],
    resamples: int,
    rng: np.random.Generator,
    goodput: bool,
) -> dict[MetricName, Estimate]:
    """Every compared metric of the pooled `runs` (goodput only when `goodput`); each run
    bootstrapped on its own (`repeats`: their repetition numbers). A latency metric without any
    value is left out."""
    pooled = _values(runs, goodput)
    per_run = [_run_values(run, resamples, rng, goodput) for run in runs]
    result = {}
    for metric, (value, _) in pooled.items():
        values = [
            RunValue(repeat, *found[metric])
            for repeat, found in zip(repeats, per_run, strict=True)
            if metric in found
        ]
        result[metric] = Estimate(value, tuple(values), min(run.requests for run in runs))
    return result


def _run_values(
    run: RunSamples, resamples: int, rng: np.random.Generator, goodput: bool
) -> dict[MetricName, tuple[float, float]]:
    """Per metric: the run's value and the bootstrap variance of its log."""
    found = _values([run], goodput, resamples, rng)
    return {metric: (value, log_variance(reps)) for metric, (value, reps) in found.items()}


def _values(
    runs: Sequence[RunSamples],
    goodput: bool,
    resamples: int = 0,
    rng: np.random.Generator | None = None,
) -> dict[MetricName, tuple[float, FloatArray | None]]:
    """Each metric's value over `runs` pooled, with bootstrap replicates when `rng` is given."""
    result = _throughputs(runs, goodput, resamples, rng)
    offsets = np.cumsum([0] + [r.requests for r in runs])[:-1]
    requests = (
        resample_counts([sum(r.requests for r in runs)], resamples, rng)
        if rng is not None
        else None
    )
    per_request: dict[tuple[MetricName, MetricName], FloatArray] = {
        ("ttft_p50", "ttft_p99"): np.concatenate([r.ttft_ns for r in runs]),
        ("e2e_p50", "e2e_p99"): np.concatenate([r.e2e_ns for r in runs]),
    }
    for names, values in per_request.items():
        present = ~np.isnan(values)
        result |= _percentiles(names, values[present], np.flatnonzero(present), requests)
    itl = np.concatenate([r.itl_ns for r in runs])
    owners = np.concatenate([r.itl_owner + o for r, o in zip(runs, offsets, strict=True)])
    return result | _percentiles(("itl_p50", "itl_p99"), itl, owners, requests)


def _throughputs(
    runs: Sequence[RunSamples], goodput: bool, resamples: int, rng: np.random.Generator | None
) -> dict[MetricName, tuple[float, FloatArray | None]]:
    """Counted tokens, requests and good requests over the pooled windows."""
    counted: dict[MetricName, list[FloatArray]] = {
        "output_token_throughput": [r.counted_tokens for r in runs],
        "request_throughput": [r.counted for r in runs],
    }
    if goodput:
        counted["goodput"] = [_present(r.good, r.requests) for r in runs]
    seconds = sum(run.window_s for run in runs)
    replicates: dict[str, FloatArray] = {}
    if rng is not None:
        (run,) = runs  # replicates are drawn per run
        sample = ThroughputSample(
            slot_ns=run.slot_ns,
            counted={metric: per_run[0] for metric, per_run in counted.items()},
            window_s=run.window_s,
            concurrency=run.concurrency,
        )
        replicates = throughput_replicates([sample], resamples, rng)
    return {
        metric: (float(np.sum([a.sum() for a in per_run])) / seconds, replicates.get(metric))
        for metric, per_run in counted.items()
    }


def _present(good: FloatArray | None, requests: int) -> FloatArray:
    return good if good is not None else np.zeros(requests)


def _percentiles(
    names: tuple[MetricName, MetricName],
    values: FloatArray,
    owners: IntArray,
    counts: IntArray | None,
) -> dict[MetricName, tuple[float, FloatArray | None]]:
    """p50 and p99 of `values` (ns) in ms, as `names`; nothing when there are no values."""
    if values.size == 0:
        return {}
    replicates = (
        percentile_replicates(values, owners, counts, [50, 99]) / NS_PER_MS
        if counts is not None
        else None
    )
    return {
        name: (
            percentile(values, q) / NS_PER_MS,
            replicates[:, column] if replicates is not None else None,
        )
        for column, (name, q) in enumerate(zip(names, (50, 99), strict=True))
    }


def level_summary(
    target: str, level: float, runs: Sequence[RunSamples], folders: Sequence[str]
) -> TargetLevelSummary:
    """The pooled point figures of one target at one level (no resampling): what comparison.json
    and the report give for it.

    Repeats count as one longer measurement. A rate is what the repeats counted over all their
    windows together, sum(counted) / sum(window): the same number as each run's rate weighted
    by its window, sum(rate * window) / sum(window), without a run's rounding in between.
    Latencies pool the requests (their basis is the run's: from the scheduled send in an open
    loop); a figure with no value at all is empty (no decode rate without a request of two or
    more tokens)."""
    seconds = sum(r.window_s for r in runs)
    with_slos = all(r.good is not None for r in runs)
    return TargetLevelSummary(
        target=target,
        level=level,
        runs=list(folders),
        requests=sum(r.requests for r in runs),
        failed=sum(r.failed for r in runs),
        output_token_throughput=sum(float(r.counted_tokens.sum()) for r in runs) / seconds,
        request_throughput=sum(float(r.counted.sum()) for r in runs) / seconds,
        goodput=(
            sum(float(_present(r.good, r.requests).sum()) for r in runs) / seconds
            if with_slos
            else None
        ),
        ttft_ms=_milliseconds(np.concatenate([r.ttft_ns for r in runs])),
        itl_ms=_milliseconds(np.concatenate([r.itl_ns for r in runs])),
        e2e_ms=_milliseconds(np.concatenate([r.e2e_ns for r in runs])),
        output_tokens_per_s_per_user=_median(np.concatenate([r.decode_rate for r in runs])),
    )


def _milliseconds(values_ns: FloatArray) -> dict[str, float]:
    """p50, p90, p99 and mean in ms, as the run summary computes them; empty without values."""
    stats = describe(values_ns[~np.isnan(values_ns)])
    if stats.count == 0:
        return {}
    points = {"p50": stats.p50, "p90": stats.p90, "p99": stats.p99, "mean": stats.mean}
    return {name: float(value) / NS_PER_MS for name, value in points.items() if value is not None}


def _median(values: FloatArray) -> float | None:
    present = values[~np.isnan(values)]
    return percentile(present, 50) if present.size else None
