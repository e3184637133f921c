"""`ReportData`: the neutral content every report format renders, built by `data.load_report`.

Plain values only (no plotly, no HTML), so figures, HTML and markdown are pure functions of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from crossfade.bench.summary import ErrorGroup, ServerClock
from crossfade.bench.sweep_index import LoadMode
from crossfade.compare.model import Comparison, LevelFailure, TargetLevelSummary
from crossfade.report.marks import Marker
from crossfade.report.projection import ProjectedSweep, RatioRow, ratio_rows

CdfMetric = Literal["ttft", "e2e"]
CDF_METRICS: tuple[CdfMetric, ...] = ("ttft", "e2e")


@dataclass(frozen=True)
class ReportTarget:
    name: str
    url: str
    emulated: bool
    server: str  # what the server said about itself, one line


@dataclass(frozen=True)
class Cdf:
    """Per-request latency distribution of one target at one level, at most 200 points."""

    target: str
    level: float
    metric: CdfMetric
    values_ms: tuple[float, ...]
    fractions: tuple[float, ...]  # share of requests at or below each value


@dataclass(frozen=True)
class ErrorRow:
    """The failed requests of one target at one level, repeats pooled."""

    target: str
    level: float
    requests: int
    failed: int
    groups: tuple[ErrorGroup, ...]  # by kind, most frequent first, with the first messages
    failure: LevelFailure | None  # the target failed here: nothing is drawn from it


@dataclass(frozen=True)
class ServerClockRow:
    """The server's own figures of one target at one level, repeats pooled."""

    target: str
    level: float
    completed: int  # successful requests; `clock.records` of them carried the server's stamps
    clock: ServerClock


@dataclass(frozen=True)
class ReportData:
    sources: tuple[str, ...]  # the RESULTS folders, as given
    mode: LoadMode
    targets: tuple[ReportTarget, ...]
    # One target at one level, repeats pooled as compare pools them; in target order, by level.
    points: tuple[TargetLevelSummary, ...]
    cdfs: tuple[Cdf, ...]
    errors: tuple[ErrorRow, ...]
    # Target and level pairs whose requests carried the server's own timestamps (none failed).
    server_clock: tuple[ServerClockRow, ...]
    workload: tuple[tuple[str, str], ...]  # (field, value) rows
    environment: tuple[tuple[str, str], ...]
    comparisons: tuple[Comparison, ...]
    notes: tuple[str, ...]  # what the runs themselves noted: early stops, warnings
    projected: ProjectedSweep | None = None  # a projection given beside the measured folders

    @property
    def marker(self) -> Marker:
        return Marker(target.name for target in self.targets if target.emulated)

    @property
    def emulated(self) -> list[ReportTarget]:
        return [target for target in self.targets if target.emulated]

    @property
    def levels(self) -> list[float]:
        return sorted({point.level for point in self.points})

    def ratios(self) -> list[RatioRow]:
        """measured/projected per point, when a projection of the same workload was given."""
        if self.projected is None:
            return []
        urls = {target.name: target.url for target in self.targets}
        emulated = {target.name for target in self.emulated}
        return ratio_rows(self.projected, self.points, urls, emulated)

    def points_of(self, target: str) -> list[TargetLevelSummary]:
        return [point for point in self.points if point.target == target]

    def cdfs_of(self, metric: CdfMetric) -> list[Cdf]:
        return [cdf for cdf in self.cdfs if cdf.metric == metric and cdf.values_ms]

    @property
    def failures(self) -> list[LevelFailure]:
        """Every (target, level) where the target failed, in target order, then by level."""
        return [row.failure for row in self.errors if row.failure is not None]

    def failures_of(self, target: str) -> list[LevelFailure]:
        return [failure for failure in self.failures if failure.target == target]

    def failed_everywhere(self, target: str) -> bool:
        rows = [row for row in self.errors if row.target == target]
        return bool(rows) and all(row.failure is not None for row in rows)


def level_name(mode: LoadMode) -> str:
    return "concurrency" if mode == "concurrency" else "request rate"
