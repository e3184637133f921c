"""The headline as a matrix: per compared pair, one row per metric, one column per level, each
cell the outcome of the margin rule (`compare.verdicts.outcome`) in a word and a colour.

The pair's targets are "a" and "b" in the cells and named once, marked, in the key above the
table: the emulated mark stays on every name without repeating it in every cell.
"""

from __future__ import annotations

from dataclasses import dataclass

from crossfade.compare.model import PairComparison
from crossfade.report.model import ReportData
from crossfade.report.text import METRIC_LABELS, pair_heading, percent

# The cell classes, for the colours and the legend under the table.
OUTCOME_LEGEND = (
    ("ahead", "ahead beyond the margin"),
    ("equivalent", "equivalent within the margin"),
    ("unclear", "no significant difference beyond the margin (unclear)"),
    ("little", "too little data to judge"),
    ("failed", "a target failed"),
)


@dataclass(frozen=True)
class VerdictCell:
    kind: str  # one of OUTCOME_LEGEND's classes, or "none" (not compared)
    text: str
    title: str  # the full verdict line, shown on hover


@dataclass(frozen=True)
class VerdictTable:
    heading: str
    key: str  # which target is a, which is b
    levels: list[str]
    rows: list[tuple[str, list[VerdictCell]]]  # (metric label, one cell per level)


def verdict_tables(data: ReportData) -> list[VerdictTable]:
    marker = data.marker
    tables = []
    for comparison in data.comparisons:
        margin = f"±{comparison.margin:.0%}" if comparison.margin > 0 else "no margin"
        for pair in comparison.pairs:
            key = (
                f"a = {marker.label(pair.a)}; b = {marker.label(pair.b)}; "
                f"{comparison.confidence:.0%} confidence, equivalence margin {margin}"
            )
            tables.append(
                VerdictTable(
                    heading=pair_heading(data, pair),
                    key=key,
                    levels=[f"{level.level:g}" for level in pair.levels],
                    rows=_rows(data, pair),
                )
            )
    return tables


def _rows(data: ReportData, pair: PairComparison) -> list[tuple[str, list[VerdictCell]]]:
    metrics = [
        m for m in METRIC_LABELS if any(x.metric == m for lv in pair.levels for x in lv.metrics)
    ]
    rows = []
    for metric in metrics:
        cells = []
        for level in pair.levels:
            found = next((m for m in level.metrics if m.metric == metric), None)
            if level.failed:
                failed = " and ".join("a" if name == pair.a else "b" for name in level.failed)
                cells.append(VerdictCell("failed", f"{failed} failed", "no comparison"))
            elif found is None:
                cells.append(VerdictCell("none", "\u2013", "not comparable here"))
            else:
                title = data.marker.text(found.verdict)
                change = percent(found.difference)
                if found.outcome == "ahead":
                    side = "a" if found.winner == pair.a else "b"
                    cells.append(VerdictCell("ahead", f"{side} ahead ({change})", title))
                elif found.outcome == "too_little_data":
                    cells.append(VerdictCell("little", "too little data", title))
                else:
                    cells.append(VerdictCell(found.outcome, f"{found.outcome} ({change})", title))
        rows.append((METRIC_LABELS[metric], cells))
    return rows
