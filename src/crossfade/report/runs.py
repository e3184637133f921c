"""Saved runs pooled per target and load level: the figures of a level (compare's), its latency
CDFs and its failures. Repeats of a level count as one longer measurement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from crossfade.bench.metrics import NS_PER_MS, RequestMetrics, request_metrics
from crossfade.bench.protocol import RequestRecord
from crossfade.bench.results import BenchResult
from crossfade.bench.summary import Summary, error_groups
from crossfade.compare.estimates import level_summary
from crossfade.compare.failures import level_failure
from crossfade.compare.model import TargetLevelSummary
from crossfade.compare.samples import run_samples
from crossfade.report.model import Cdf, CdfMetric, ErrorRow

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


def pooled(target: str, level: float, runs: Sequence[Run]) -> TargetLevelSummary:
    """The level's figures as compare pools them (`compare.estimates.level_summary`), so a
    report of runs and one of a comparison.json give the same numbers for the same runs."""
    samples = [run_samples(run.result, run.records, run.folder) for run in runs]
    return level_summary(target, level, samples, [run.folder for run in runs])


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
