"""`ReportData`: the neutral content every report format renders, built by `data.load_report`.

Plain values only (no plotly, no HTML), so figures, HTML and markdown are pure functions of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from crossfade.bench.sweep_index import LoadMode
from crossfade.compare.model import Comparison
from crossfade.report.marks import Marker

CdfMetric = Literal["ttft", "e2e"]
CDF_METRICS: tuple[CdfMetric, ...] = ("ttft", "e2e")


@dataclass(frozen=True)
class ReportTarget:
    name: str
    url: str
    emulated: bool
    server: str  # what the server said about itself, one line


@dataclass(frozen=True)
class LevelPoint:
    """One target at one load level, repeats pooled; latencies in ms."""

    target: str
    level: float
    requests: int
    failed: int
    output_token_throughput: float  # tok/s, all users together
    request_throughput: float  # req/s
    goodput: float | None  # req/s meeting every SLO; None without SLOs
    ttft_ms: dict[str, float]  # p50, p90, p99, mean; empty when nothing was measured
    itl_ms: dict[str, float]
    e2e_ms: dict[str, float]
    tokens_per_s_per_user: float | None  # median per-request decode rate


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
    target: str
    level: float
    requests: int
    failed: int
    by_kind: dict[str, int]  # only the kinds that occurred


@dataclass(frozen=True)
class ReportData:
    sources: tuple[str, ...]  # the RESULTS folders, as given
    mode: LoadMode
    targets: tuple[ReportTarget, ...]
    points: tuple[LevelPoint, ...]  # in target order, then by level
    cdfs: tuple[Cdf, ...]
    errors: tuple[ErrorRow, ...]
    workload: tuple[tuple[str, str], ...]  # (field, value) rows
    environment: tuple[tuple[str, str], ...]
    comparisons: tuple[Comparison, ...]
    notes: tuple[str, ...]  # what the runs themselves noted: early stops, warnings

    @property
    def marker(self) -> Marker:
        return Marker(target.name for target in self.targets if target.emulated)

    @property
    def emulated(self) -> list[ReportTarget]:
        return [target for target in self.targets if target.emulated]

    @property
    def levels(self) -> list[float]:
        return sorted({point.level for point in self.points})

    def points_of(self, target: str) -> list[LevelPoint]:
        return [point for point in self.points if point.target == target]

    def cdfs_of(self, metric: CdfMetric) -> list[Cdf]:
        return [cdf for cdf in self.cdfs if cdf.metric == metric and cdf.values_ms]


def level_name(mode: LoadMode) -> str:
    return "concurrency" if mode == "concurrency" else "request rate"


def level_text(mode: LoadMode, level: float) -> str:
    return f"concurrency {level:g}" if mode == "concurrency" else f"{level:g} req/s"


def levels_text(mode: LoadMode, levels: Sequence[float]) -> str:
    joined = ", ".join(f"{level:g}" for level in levels)
    return f"concurrency {joined}" if mode == "concurrency" else f"{joined} req/s"
