"""The report as markdown for a pull request: the verdicts and tables, no charts."""

from __future__ import annotations

from collections.abc import Sequence

from crossfade.compare.verdicts import levels_label
from crossfade.report.marks import EMULATED_NOTE
from crossfade.report.model import ReportData
from crossfade.report.projection import (
    PROJECTION_NOTE,
    RATIO_COLUMNS,
    RATIO_NOTE,
    no_ratio_note,
    projection_rows,
    ratio_cells,
)
from crossfade.report.server_clock import (
    SERVER_CLOCK_COLUMNS,
    SERVER_CLOCK_NOTE,
    server_clock_rows,
)
from crossfade.report.text import (
    ERROR_COLUMNS,
    LEVEL_COLUMNS,
    NO_COMPARISON,
    comparison_columns,
    comparison_rows,
    error_rows,
    failure_notes,
    headlines,
    level_rows,
    pair_heading,
    pair_note,
    saturation_rows,
    target_rows,
)


def _cell(text: str) -> str:
    """A table cell: pipes escaped, and no line break to end the row early."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = [
        "| " + " | ".join(_cell(c) for c in columns) + " |",
        "|" + "|".join(" --- " for _ in columns) + "|",
    ]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def render_markdown(data: ReportData, title: str = "crossfade report") -> str:
    marker = data.marker
    lines = [
        f"# {marker.text(title)}",
        "",
        f"Targets: {', '.join(marker.label(t.name) for t in data.targets)}  ",
        f"Load: {levels_label(data.mode, data.levels)}  ",
        f"From: {', '.join(f'`{source}`' for source in data.sources)}",
        "",
    ]
    for target in data.emulated:
        lines += [f"> **{marker.label(target.name)}** {EMULATED_NOTE}", ""]
    for what, how in failure_notes(data):
        lines += [f"> **{_cell(what)}**: {_cell(how)}", ""]

    lines += ["## Headline", ""]
    for heading, items in headlines(data):
        lines += [f"**{heading}**", "", *(f"- {item}" for item in items), ""]

    if data.projected is not None:
        ratios = data.ratios()
        lines += [
            "## Projection (projected, not measured)",
            "",
            f"> **Projected** {PROJECTION_NOTE}",
        ]
        lines += [
            "",
            *_table(("Projection", ""), [list(r) for r in projection_rows(data.projected)]),
        ]
        lines += [RATIO_NOTE if ratios else no_ratio_note(data.projected), ""]
        if ratios:
            lines += _table(RATIO_COLUMNS, [ratio_cells(row) for row in ratios])
    lines += ["## Each target at each level", "", *_table(LEVEL_COLUMNS, level_rows(data))]
    if data.server_clock:
        lines += ["## The server's own clock", "", SERVER_CLOCK_NOTE, ""]
        lines += _table(SERVER_CLOCK_COLUMNS, server_clock_rows(data))

    lines += ["## Comparison", ""]
    if not data.comparisons:
        lines += [NO_COMPARISON, ""]
    for comparison in data.comparisons:
        if comparison.completeness == "partial":
            lines += ["The sweep ended early: partial results.", ""]
        for pair in comparison.pairs:
            columns = comparison_columns(data, comparison, pair)
            lines += [
                f"### {pair_heading(data, pair)}",
                "",
                pair_note(data, comparison, pair) + " Significant differences are in bold.",
                "",
                *_table(
                    columns,
                    [
                        [
                            f"**{cell}**" if significant and i == 4 else cell
                            for i, cell in enumerate(cells)
                        ]
                        for significant, cells in comparison_rows(data, pair)
                    ],
                ),
            ]
    saturation = saturation_rows(data)
    if saturation:
        lines += ["## Saturation", "", *_table(("Target", "Saturates at", "Why"), saturation)]

    failed = sum(row.failed for row in data.errors)
    requests = sum(row.requests for row in data.errors)
    lines += [f"## Errors ({failed} of {requests} requests)", ""]
    if failed:
        lines += _table(ERROR_COLUMNS, error_rows(data))
    else:
        lines += [f"No failed requests among {requests} measured.", ""]

    lines += ["## Workload and environment", ""]
    lines += _table(("Target", "URL", "Emulated", "Server"), target_rows(data))
    lines += _table(("Workload and load", ""), [list(row) for row in data.workload])
    lines += _table(("Environment", ""), [[k, marker.text(v)] for k, v in data.environment])
    if data.notes:
        lines += ["Notes from the runs:", "", *(f"- {marker.text(n)}" for n in data.notes), ""]
    return "\n".join(lines).rstrip("\n") + "\n"
