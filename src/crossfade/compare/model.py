"""`comparison.json`: the statistics of a sweep, per pair of targets and load level. Written by
`crossfade compare`, read by report and advise. Differences are relative, (b - a) / a, with a
bootstrap confidence interval computed from the raw per-request records."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from crossfade.bench.sweep_index import LoadMode, SweepTarget
from crossfade.errors import CrossfadeError
from crossfade.saved import read_model, write_model

COMPARISON_FILE = "comparison.json"
COMPARISON_SCHEMA_VERSION = 1

# The metrics every pair is compared on; "lower" means lower is better.
MetricName = Literal[
    "output_token_throughput",  # tokens/s over the measurement window
    "request_throughput",  # requests/s
    "goodput",  # requests/s meeting every SLO (only when SLOs were given)
    "ttft_p50",
    "ttft_p99",
    "itl_p50",
    "itl_p99",
    "e2e_p50",
    "e2e_p99",
]
Better = Literal["higher", "lower"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricComparison(_Frozen):
    metric: MetricName
    better: Better
    unit: str  # "tok/s", "req/s", "ms"
    a_value: float  # the point estimate on target a (all repeats pooled)
    b_value: float
    difference: float  # (b - a) / a
    ci_low: float  # confidence interval of `difference`
    ci_high: float
    significant: bool  # the interval excludes 0
    winner: str | None  # the target ahead with confidence; None: no significant difference
    verdict: str  # one line a person reads, e.g. "no significant difference"


class LevelComparison(_Frozen):
    level: float
    metrics: list[MetricComparison]


class Crossover(_Frozen):
    """The lowest load from which one target is ahead with confidence at every higher level."""

    metric: MetricName
    winner: str | None  # None: neither is ahead from any level on
    from_level: float | None
    note: str


class PairComparison(_Frozen):
    a: str  # target names
    b: str
    levels: list[LevelComparison]
    crossovers: list[Crossover]


class Saturation(_Frozen):
    """Where a target stops scaling: throughput stops rising while latency climbs."""

    target: str
    level: float | None  # None: it did not saturate within the levels measured
    note: str


class TargetLevelSummary(_Frozen):
    """One target at one level, every repeat pooled: what the report's charts plot."""

    target: str
    level: float
    runs: list[str]  # result folders, relative to the sweep folder
    requests: int
    failed: int
    output_token_throughput: float
    request_throughput: float
    goodput: float | None
    ttft_ms: dict[str, float]  # p50, p90, p99, mean
    itl_ms: dict[str, float]
    e2e_ms: dict[str, float]
    output_tokens_per_s_per_user: float  # median per-request decode rate


class Comparison(_Frozen):
    schema_version: int = COMPARISON_SCHEMA_VERSION
    mode: LoadMode
    levels: list[float]
    targets: list[SweepTarget]
    workload_fingerprint: str
    confidence: float
    resamples: int
    seed: int
    summaries: list[TargetLevelSummary]
    pairs: list[PairComparison]
    saturation: list[Saturation]
    completeness: Literal["complete", "partial"] = "complete"  # partial: the sweep ended early


class CompareError(CrossfadeError):
    """A sweep that cannot be compared, or a comparison.json that cannot be read."""


def save_comparison(folder: Path, comparison: Comparison) -> Path:
    return write_model(folder / COMPARISON_FILE, comparison)


def load_comparison(path: Path) -> Comparison:
    """Read comparison.json, or the sweep folder holding it."""
    file = path / COMPARISON_FILE if path.is_dir() else path
    return read_model(
        file,
        Comparison,
        version=COMPARISON_SCHEMA_VERSION,
        error=CompareError,
        missing="no comparison here (written by `crossfade compare` in a sweep folder)",
        stale="rerun `crossfade compare --from` on the sweep",
    )
