"""Saved runs pooled per target and load level: the figures of a level, its latency CDFs and
its failures. Repeats of a level count as one longer measurement: their records are pooled
for percentiles, and their rates are weighted by each run's window length."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from crossfade.bench.metrics import RequestMetrics, percentiles, request_metrics
from crossfade.bench.protocol import RequestRecord
from crossfade.bench.results import BenchResult
from crossfade.bench.summary import Summary, error_groups
from crossfade.compare.failures import level_failure
from crossfade.report.model import Cdf, CdfMetric, ErrorRow, LevelPoint

NS_PER_MS = 1e6
CDF_POINTS = 200  # per curve: enough to read a tail, small enough to keep the file light


@dataclass(frozen=True)
class Run:
    """One saved run, its records already cut to the run's measurement window."""

    source: str  # the RESULTS folder it came from
    folder: str
    target: str
    level: float
    url: str
    emulated: bool
    result: BenchResult
    records: list[RequestRecord]

    @property
    def summary(self) -> Summary:
        return self.result.summary


def _metrics(runs: Sequence[Run]) -> list[RequestMetrics]:
    return [m for run in runs for r in run.records if (m := request_metrics(r)) is not None]


def _ms_stats(values_ns: Sequence[float] | np.ndarray[Any, Any]) -> dict[str, float]:
    array = np.asarray(values_ns, dtype=np.float64)
    if array.size == 0:
        return {}
    p50, p90, p99 = percentiles(array, [50, 90, 99])
    return {
        "p50": p50 / NS_PER_MS,
        "p90": p90 / NS_PER_MS,
        "p99": p99 / NS_PER_MS,
        "mean": float(array.mean()) / NS_PER_MS,
    }


def _weighted_rate(runs: Sequence[Run], rate: Callable[[Summary], float]) -> float:
    """A rate over all the runs' windows together: sum(rate * window) / sum(window)."""
    window = sum(run.summary.window_s for run in runs)
    return sum(rate(run.summary) * run.summary.window_s for run in runs) / window


def pooled_point(target: str, level: float, runs: Sequence[Run]) -> LevelPoint:
    measured = _metrics(runs)
    itl = [m.itl_ns for m in measured]
    rates = [m.output_tokens_per_s for m in measured if m.output_tokens_per_s is not None]
    goodputs = [run.summary.goodput for run in runs]
    return LevelPoint(
        target=target,
        level=level,
        requests=sum(run.summary.requests for run in runs),
        failed=sum(run.summary.failed for run in runs),
        output_token_throughput=_weighted_rate(runs, lambda s: s.output_token_throughput_per_s),
        request_throughput=_weighted_rate(runs, lambda s: s.request_throughput_per_s),
        goodput=(
            _weighted_rate(runs, lambda s: s.goodput.good_per_s if s.goodput else 0.0)
            if all(goodputs)
            else None
        ),
        ttft_ms=_ms_stats([m.ttft_ns for m in measured if m.ttft_ns is not None]),
        itl_ms=_ms_stats(np.concatenate(itl) if itl else []),
        e2e_ms=_ms_stats([m.e2e_ns for m in measured]),
        tokens_per_s_per_user=percentiles(rates, [50])[0] if rates else None,
    )


def cdf(target: str, level: float, metric: CdfMetric, runs: Sequence[Run]) -> Cdf:
    """The empirical CDF of per-request TTFT or E2E; above `CDF_POINTS` requests, evenly
    spaced ranks stand for the rest (always the first and the last), so it is deterministic."""
    measured = _metrics(runs)
    raw = [m.ttft_ns if metric == "ttft" else m.e2e_ns for m in measured]
    ordered = np.sort(np.asarray([v for v in raw if v is not None], dtype=np.float64))
    count = int(ordered.size)
    if count <= CDF_POINTS:
        ranks = np.arange(count)
    else:
        ranks = np.unique(np.rint(np.linspace(0, count - 1, CDF_POINTS)).astype(np.int64))
    return Cdf(
        target=target,
        level=level,
        metric=metric,
        # Rounded: microseconds and 1e-5 of a share are below what a chart can show.
        values_ms=tuple(round(float(ordered[i]) / NS_PER_MS, 3) for i in ranks),
        fractions=tuple(round((int(i) + 1) / count, 5) for i in ranks),
    )


def error_row(target: str, level: float, runs: Sequence[Run]) -> ErrorRow:
    """The failures of a target at a level, grouped from the runs' own records (so results saved
    before the summary grouped its errors show their messages too), and whether the target
    failed there (`compare.failures`)."""
    return ErrorRow(
        target=target,
        level=level,
        requests=sum(run.summary.requests for run in runs),
        failed=sum(run.summary.failed for run in runs),
        groups=tuple(error_groups(record for run in runs for record in run.records)),
        failure=level_failure(
            target, level, [(run.folder, run.summary, run.records) for run in runs]
        ),
    )
