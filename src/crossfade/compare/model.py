"""`comparison.json`: the statistics of a sweep, per pair of targets and load level. Written by
`crossfade compare`, read by report and advise. Differences are relative, (b - a) / a, with a
bootstrap confidence interval computed from the raw per-request records.

Schema 2 added the failed levels (`failures`, `LevelComparison.failed`) and the intervals of a
saturation (`Saturation.changes`); schema 3 gives a level without any decode rate None for its
`output_tokens_per_s_per_user` (0.0 before); schema 4 adds each target's output lengths
(`output_lengths`) and, per pair, whether they did unequal work (`PairComparison.
output_lengths`: one forced exact lengths and the other could not, or their mean lengths
differ by more than `lengths.LENGTH_TOLERANCE`); schema 5 builds intervals from the repeats,
judges each difference against a practical-equivalence `margin` (`MetricComparison.outcome`)
and gives each target's value its interval (`TargetLevelSummary.intervals`). All older schemas
are still read: a schema 1 file without its saturation levels (they came without an interval),
0.0 as None, no lengths before schema 4 (they were not compared then), and before schema 5 a
winner as "ahead", anything else as "unclear", margin 0.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from crossfade.bench.summary import ErrorGroup
from crossfade.bench.sweep_index import LoadMode, SweepTarget
from crossfade.errors import CrossfadeError
from crossfade.saved import read_model, write_model

COMPARISON_FILE = "comparison.json"
COMPARISON_SCHEMA_VERSION = 5

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
# ahead: the interval lies wholly beyond the margin (`winner` says who); equivalent: wholly
# inside it; unclear: it straddles a margin's edge; too_little_data: not judged (`advice`).
Outcome = Literal["ahead", "equivalent", "unclear", "too_little_data"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricComparison(_Frozen):
    metric: MetricName
    better: Better
    unit: str  # "tok/s", "req/s", "ms"
    a_value: float  # the point estimate on target a (all repeats pooled)
    b_value: float
    # (b - a) / a: over the repeats paired, the geometric mean of b_k / a_k, minus 1 (before
    # schema 4, of the pooled values; with one repeat the two are the same)
    difference: float
    ci_low: float  # confidence interval of `difference`
    ci_high: float
    significant: bool  # the interval excludes 0
    outcome: Outcome  # the interval against the comparison's margin
    winner: str | None  # the target ahead (outcome "ahead"); None otherwise
    repeats: int  # pairs of runs the interval rests on (0: not recorded, before schema 4)
    advice: str | None = None  # what more data would settle it (too little data, unclear)
    verdict: str  # one line a person reads, e.g. "equivalent within ±5%"


class LevelComparison(_Frozen):
    level: float
    metrics: list[MetricComparison]  # none when a target failed here
    failed: list[str] = []  # the targets of the pair that failed at this level (`failures`)


class Crossover(_Frozen):
    """The lowest load from which one target is ahead with confidence at every higher level."""

    metric: MetricName
    winner: str | None  # None: neither is ahead from any level on
    from_level: float | None
    note: str


class OutputLengths(_Frozen):
    """A target's output lengths over all its runs (successful measured requests)."""

    target: str
    forced: bool  # every run asked for exact lengths (False: the target cannot force them)
    counted: bool  # crossfade counted them with the workload's tokenizer (the server did not)
    requests: int  # the successful requests they are of
    mean_output_tokens: float | None  # None: no successful request


class LengthDifference(_Frozen):
    """A pair that did unequal work: one forced exact lengths and the other did not, or their
    mean output lengths differ by more than `lengths.LENGTH_TOLERANCE`. Its per-token and throughput
    figures then compare different amounts of output."""

    a_mean_output_tokens: float
    b_mean_output_tokens: float
    difference: float  # (b - a) / a
    a_forced: bool
    b_forced: bool
    note: str  # the line a person reads


class PairComparison(_Frozen):
    a: str  # target names
    b: str
    levels: list[LevelComparison]
    crossovers: list[Crossover]
    output_lengths: LengthDifference | None = None  # None: the same work (or not compared)


class RelativeChange(_Frozen):
    """How a metric of one target changed from one level to the next: (after - before) / before,
    with its bootstrap interval at the comparison's confidence."""

    metric: MetricName
    change: float
    ci_low: float
    ci_high: float


class Saturation(_Frozen):
    """Where a target stops scaling: throughput stops rising while latency climbs."""

    target: str
    level: float | None  # None: no saturation found (or none that can be given an interval)
    note: str
    next_level: float | None = None  # the level the changes lead to
    # From `level` to `next_level`: output tokens/s, then the latencies that climbed.
    changes: list[RelativeChange] = []


class LevelFailure(_Frozen):
    """A target at a level where at least one run says nothing about it
    (`bench.summary.Summary.target_failed`): nothing is compared, crossed or saturated there."""

    target: str
    level: float
    runs: int  # the level's runs
    failed_runs: list[str]  # the runs that failed, relative to the sweep folder
    requests: int  # measured requests of the failed runs
    failed: int  # of which failed
    errors: list[ErrorGroup]  # of the failed runs, most frequent kind first


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
    output_tokens_per_s_per_user: float | None  # median per-request decode rate; None: none
    # The interval of each compared metric's value (the report's bands); none before schema 4.
    intervals: dict[MetricName, tuple[float, float]] = {}


class Comparison(_Frozen):
    schema_version: int = COMPARISON_SCHEMA_VERSION
    mode: LoadMode
    levels: list[float]
    targets: list[SweepTarget]
    workload_fingerprint: str
    confidence: float
    margin: float  # practical equivalence: |difference| below it does not matter (0: none)
    resamples: int
    seed: int
    summaries: list[TargetLevelSummary]
    pairs: list[PairComparison]
    saturation: list[Saturation]
    completeness: Literal["complete", "partial"] = "complete"  # partial: the sweep ended early
    failures: list[LevelFailure] = []  # in target order, then by level
    output_lengths: list[OutputLengths] = []  # in target order (none before schema 4)

    def failure(self, target: str, level: float) -> LevelFailure | None:
        return next((f for f in self.failures if (f.target, f.level) == (target, level)), None)

    def failed_everywhere(self, target: str) -> bool:
        """True when `target` failed at every level it was measured at (and was measured)."""
        failed = {f.level for f in self.failures if f.target == target}
        measured = failed | {s.level for s in self.summaries if s.target == target}
        return bool(failed) and failed == measured


class CompareError(CrossfadeError):
    """A sweep that cannot be compared, or a comparison.json that cannot be read."""


def save_comparison(folder: Path, comparison: Comparison) -> Path:
    return write_model(folder / COMPARISON_FILE, comparison)


def load_comparison(path: Path) -> Comparison:
    """Read comparison.json, or the sweep folder holding it (schemas 1 to 3 are upgraded)."""
    file = path / COMPARISON_FILE if path.is_dir() else path
    rerun = f"rerun `crossfade compare --from {shlex.quote(str(file.parent))}`"
    comparison = read_model(
        file,
        Comparison,
        version=COMPARISON_SCHEMA_VERSION,
        older=(1, 2, 3, 4),
        upgrade=_outcomes,
        error=CompareError,
        missing="no comparison here (written by `crossfade compare` in a sweep folder)",
        stale=rerun,
    )
    if comparison.schema_version == COMPARISON_SCHEMA_VERSION:
        return comparison
    return _upgrade(comparison, rerun)


def _outcomes(found: int, data: dict[str, Any]) -> dict[str, Any]:
    """Before schema 5 a metric had a winner when its interval excluded 0 and no margin."""
    data.setdefault("margin", 0.0)
    for pair in data.get("pairs", []):
        for level in pair.get("levels", []):
            for metric in level.get("metrics", []):
                metric.setdefault("outcome", "ahead" if metric.get("winner") else "unclear")
                metric.setdefault("repeats", 0)
    data["schema_version"] = found  # the model-level upgrade below does the rest
    return data


def _upgrade(comparison: Comparison, rerun: str) -> Comparison:
    """Schema 1 recorded no failed levels (none can be known now) and saturation levels
    without an interval: those are not stated. Schemas 1 and 2 gave 0.0 for a level without
    any decode rate; a real median rate is never 0. Before schema 4 no output lengths were
    compared: none are stated."""
    summaries = [
        s.model_copy(update={"output_tokens_per_s_per_user": None})
        if s.output_tokens_per_s_per_user == 0.0
        else s
        for s in comparison.summaries
    ]
    if comparison.schema_version != 1:
        return comparison.model_copy(
            update={"schema_version": COMPARISON_SCHEMA_VERSION, "summaries": summaries}
        )
    saturation = [
        s
        if s.level is None
        else Saturation(
            target=s.target,
            level=None,
            note=f"no saturation verdict: comparison.json schema 1 has no interval for it; {rerun}",
        )
        for s in comparison.saturation
    ]
    return comparison.model_copy(
        update={
            "schema_version": COMPARISON_SCHEMA_VERSION,
            "summaries": summaries,
            "saturation": saturation,
        }
    )
