"""The words and table cells a report shows, shared by the HTML and markdown formats: number
formats, the headline verdicts, and the rows of the level and comparison tables. Every target
name goes through the report's `Marker`, so an emulated target is marked wherever it is named.
"""

from __future__ import annotations

from crossfade.bench.summary import MESSAGES_PER_ERROR_KIND
from crossfade.compare.failures import errors_text, failure_text, pool_failures
from crossfade.compare.model import (
    Comparison,
    MetricComparison,
    Outcome,
    PairComparison,
    TargetLevelSummary,
)
from crossfade.compare.verdicts import OUTCOME_WORDS, level_label, levels_label
from crossfade.report.model import ReportData

METRIC_LABELS = {
    "output_token_throughput": "Output throughput",
    "request_throughput": "Request throughput",
    "goodput": "Goodput",
    "ttft_p50": "TTFT p50",
    "ttft_p99": "TTFT p99",
    "itl_p50": "ITL p50",
    "itl_p99": "ITL p99",
    "e2e_p50": "E2E p50",
    "e2e_p99": "E2E p99",
}
# The metrics a headline speaks of, in this order; the tables show them all.
HEADLINE_METRICS = ("output_token_throughput", "goodput", "ttft_p99", "itl_p99", "e2e_p99")

LEVEL_COLUMNS = (
    "Target", "Level", "Output tok/s", "Req/s", "Goodput req/s", "TTFT p50 ms", "TTFT p99 ms",
    "ITL p50 ms", "ITL p99 ms", "E2E p50 ms", "E2E p99 ms", "Tok/s per user", "Failed",
)  # fmt: skip
COMPARISON_COLUMNS = ("Level", "Metric", "{a}", "{b}", "Difference", "{ci} CI", "Verdict")
ERROR_COLUMNS = (
    "Target",
    "Level",
    "Requests",
    "Failed",
    "Target failed",
    "By kind: first messages",
)
DASH = "\u2013"
NO_COMPARISON = (
    "No comparison: these results have no comparison.json (`crossfade compare` writes one for "
    "a sweep), so no differences with confidence intervals are shown; each target's own "
    "figures are above."
)


def number(value: float | None) -> str:
    """A figure with as many digits as a reader can use: 12,345 / 123 / 12.3 / 1.23."""
    if value is None:
        return "\u2013"
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if size >= 10 else f"{value:.2f}"


def percent(value: float) -> str:
    return f"{value:+.1%}"


def metric_headline(data: ReportData, pair: PairComparison, metric: str) -> str | None:
    """Which target is ahead on `metric` at which levels and where the margin rule found them
    equivalent or could not tell, or None if the pair lacks it."""
    by_winner: dict[str | None, list[float]] = {}
    by_outcome: dict[Outcome, list[float]] = {}
    for level in pair.levels:
        for comparison in level.metrics:
            if comparison.metric == metric:
                by_winner.setdefault(comparison.winner, []).append(level.level)
                if comparison.winner is None:
                    by_outcome.setdefault(comparison.outcome, []).append(level.level)
    if not by_winner:
        return None
    marker = data.marker
    parts = [
        f"{marker.label(winner)} ahead at {levels_label(data.mode, levels)}"
        for winner, levels in by_winner.items()
        if winner is not None
    ]
    parts += [
        f"{OUTCOME_WORDS[outcome]} at {levels_label(data.mode, levels)}"
        for outcome, levels in by_outcome.items()
    ]
    return f"{METRIC_LABELS.get(metric, metric)}: " + "; ".join(parts) + "."


def failure_notes(data: ReportData) -> list[tuple[str, str]]:
    """(what failed, how) for every target that failed at some level: one note for a target
    that failed at every level, else one per level."""
    marker, notes = data.marker, []
    for target in data.targets:
        failures = data.failures_of(target.name)
        if not failures:
            continue
        name = marker.label(target.name)
        if data.failed_everywhere(target.name):
            levels = levels_label(data.mode, [f.level for f in failures])
            text = failure_text(pool_failures(failures))
            notes.append((f"{name} failed at every level measured", f"{levels}: {text}."))
            continue
        notes += [
            (f"{name} failed at {level_label(data.mode, f.level)}", f"{failure_text(f)}.")
            for f in failures
        ]
    return [(what, marker.text(how) + " No figures are drawn from it.") for what, how in notes]


def headlines(data: ReportData, with_metrics: bool = True) -> list[tuple[str, list[str]]]:
    """(heading, lines) per compared pair, then each target's peak throughput; without the
    metric lines when a verdict table says them (`verdict_table`)."""
    marker, blocks = data.marker, []
    for comparison in data.comparisons:
        for pair in comparison.pairs:
            lines = [
                line
                for metric in (HEADLINE_METRICS if with_metrics else ())
                if (line := metric_headline(data, pair, metric)) is not None
            ]
            if pair.levels and pair.levels[-1].failed and pair.crossovers:
                # The same for every metric: said once.
                lines.append(f"No crossover: {marker.text(pair.crossovers[0].note)}.")
            else:
                lines += [
                    f"Crossover, {METRIC_LABELS.get(c.metric, c.metric)}: {marker.text(c.note)}"
                    for c in pair.crossovers
                    if c.metric in HEADLINE_METRICS
                ]
            lines += _failed_levels(data, pair)
            blocks.append((pair_heading(data, pair), lines))
    peaks = []
    for target in data.targets:
        points = data.points_of(target.name)
        if points:
            best = max(points, key=lambda p: p.output_token_throughput)
            peaks.append(
                f"{marker.label(target.name)}: peak {number(best.output_token_throughput)} "
                f"output tok/s at {level_label(data.mode, best.level)}."
            )
    blocks.append(("Peak throughput", peaks))
    return blocks


def _failed_levels(data: ReportData, pair: PairComparison) -> list[str]:
    """ "No comparison at concurrency 4, 8: b failed." per set of targets that failed."""
    by_failed: dict[tuple[str, ...], list[float]] = {}
    for level in pair.levels:
        if level.failed:
            by_failed.setdefault(tuple(level.failed), []).append(level.level)
    return [
        f"No comparison at {levels_label(data.mode, levels)}: "
        f"{' and '.join(data.marker.label(name) for name in failed)} failed."
        for failed, levels in by_failed.items()
    ]


def level_rows(data: ReportData) -> list[list[str]]:
    """A row per target and level, in target order, then by level; a level where the target
    failed says so instead of giving figures."""
    marker = data.marker
    order = {target.name: i for i, target in enumerate(data.targets)}
    rows: list[tuple[int, float, list[str]]] = [
        (order[p.target], p.level, [marker.label(p.target), f"{p.level:g}", *_figures(p)])
        for p in data.points
    ]
    rows += [
        (
            order[f.target],
            f.level,
            [
                marker.label(f.target),
                f"{f.level:g}",
                "failed",
                *[DASH] * 9,
                f"{f.failed}/{f.requests}",
            ],
        )
        for f in data.failures
    ]
    return [cells for _, _, cells in sorted(rows, key=lambda row: row[:2])]


def _figures(p: TargetLevelSummary) -> list[str]:
    return [
        number(p.output_token_throughput),
        number(p.request_throughput),
        number(p.goodput),
        number(p.ttft_ms.get("p50")),
        number(p.ttft_ms.get("p99")),
        number(p.itl_ms.get("p50")),
        number(p.itl_ms.get("p99")),
        number(p.e2e_ms.get("p50")),
        number(p.e2e_ms.get("p99")),
        number(p.output_tokens_per_s_per_user),
        f"{p.failed}/{p.requests}",
    ]


def _value(comparison: MetricComparison, value: float) -> str:
    return f"{number(value)} {comparison.unit}"


def pair_heading(data: ReportData, pair: PairComparison) -> str:
    return f"{data.marker.label(pair.b)} vs {data.marker.label(pair.a)}"


def pair_note(data: ReportData, comparison: Comparison, pair: PairComparison) -> str:
    return (
        f"Difference = ({data.marker.label(pair.b)} \u2212 {data.marker.label(pair.a)}) / "
        f"{data.marker.label(pair.a)}, with {comparison.confidence:.0%} bootstrap confidence "
        f"intervals ({comparison.resamples} resamples, seed {comparison.seed}) computed from "
        "the per-request records."
    )


def comparison_columns(data: ReportData, comparison: Comparison, pair: PairComparison) -> list[str]:
    names = {"a": data.marker.label(pair.a), "b": data.marker.label(pair.b)}
    ci = f"{comparison.confidence:.0%}"
    return [column.format(ci=ci, **names) for column in COMPARISON_COLUMNS]


def comparison_rows(data: ReportData, pair: PairComparison) -> list[tuple[bool, list[str]]]:
    """(significant, cells) per level and metric; one row for a level where a target failed."""
    marker = data.marker
    rows: list[tuple[bool, list[str]]] = []
    for level in pair.levels:
        if level.failed:
            failed = " and ".join(marker.label(name) for name in level.failed)
            rows.append(
                (False, [f"{level.level:g}", *[DASH] * 5, f"no comparison: {failed} failed"])
            )
        rows += [
            (
                m.significant,
                [
                    f"{level.level:g}",
                    METRIC_LABELS.get(m.metric, m.metric),
                    _value(m, m.a_value),
                    _value(m, m.b_value),
                    percent(m.difference),
                    f"[{percent(m.ci_low)}, {percent(m.ci_high)}]",
                    marker.text(m.verdict),
                ],
            )
            for m in level.metrics
        ]
    return rows


def saturation_rows(data: ReportData) -> list[list[str]]:
    marker = data.marker
    return [
        [
            marker.label(s.target),
            DASH if s.level is None else f"{s.level:g}",
            marker.text(s.note),
        ]
        for comparison in data.comparisons
        for s in comparison.saturation
    ]


def error_rows(data: ReportData) -> list[list[str]]:
    """A row per target and level with failures: counts, whether the target failed there, and
    each kind with its first messages."""
    marker = data.marker
    return [
        [
            marker.label(row.target),
            f"{row.level:g}",
            str(row.requests),
            str(row.failed),
            "yes" if row.failure is not None else "no",
            marker.text(errors_text(row.groups, MESSAGES_PER_ERROR_KIND)) or DASH,
        ]
        for row in data.errors
        if row.failed
    ]


def target_rows(data: ReportData) -> list[list[str]]:
    marker = data.marker
    return [
        [
            marker.label(t.name),
            marker.text(t.url),  # a target's name is often its URL
            "yes" if t.emulated else "no",
            marker.text(t.server),
        ]
        for t in data.targets
    ]
