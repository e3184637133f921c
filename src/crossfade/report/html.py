"""The report as one self-contained HTML file: it opens offline and requests nothing.

plotly.js is inlined once; each chart is its figure's JSON (sorted keys) drawn into an element
with a fixed id, so the same data gives the same bytes. Every text from the data is escaped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import Any

from crossfade.compare.verdicts import levels_label
from crossfade.report.figures import figures
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
from crossfade.report.verdict_table import OUTCOME_LEGEND, VerdictTable, verdict_tables

PLOT_CONFIG = {"displaylogo": False, "responsive": True}
# The page may run its own inline code and draw, and fetch nothing: a browser enforces it.
CONTENT_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:"
)
# Charts drawn across the whole width; the others pair up two by two.
WIDE_CHARTS = ("chart-ttft", "chart-itl", "chart-pareto", "chart-cdf-ttft", "chart-cdf-e2e")
CHART_SECTIONS = (
    ("throughput", "Throughput and goodput", ("chart-throughput", "chart-goodput")),
    ("latency", "Latency under load", ("chart-ttft", "chart-itl")),
    ("pareto", "Latency-throughput frontier", ("chart-pareto",)),
    ("distributions", "Per-request latency", ("chart-cdf-ttft", "chart-cdf-e2e")),
)

CSS = """
:root { --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --warn: #b45309; --fail: #b91c1c; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #f9fafb;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1360px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 12px; padding-bottom: 6px; border-bottom: 1px solid #d1d5db; }
h3 { font-size: 16px; margin: 20px 0 8px; }
.sub { color: var(--muted); margin: 2px 0; }
.banner { margin: 18px 0; padding: 14px 18px; border: 2px solid var(--warn);
  background: #fffbeb; border-radius: 8px; }
.banner strong { color: var(--warn); }
.banner.failed { border-color: var(--fail); background: #fef2f2; }
.banner.failed strong { color: var(--fail); }
.note { color: var(--muted); font-style: italic; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.chart { background: white; border: 1px solid var(--line); border-radius: 8px; padding: 4px;
  min-height: 440px; }
.chart.wide { grid-column: 1 / -1; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; background: white; font-size: 13.5px; margin: 6px 0 10px; }
th, td { border: 1px solid var(--line); padding: 5px 10px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.text { min-width: 18em; }
table.pairs th { text-align: left; }
tr.significant td { background: #f0fdf4; }
tbody tr:nth-child(even):not(.significant) td { background: #fafafa; }
ul.verdicts li { margin: 3px 0; }
table.verdict-matrix td { white-space: nowrap; text-align: center; }
.v-ahead { background: #bbf7d0 !important; }
.v-equivalent { background: #bfdbfe !important; }
.v-unclear { background: #fde68a !important; }
.v-little, .v-none { background: #e5e7eb !important; color: var(--muted); }
.v-failed { background: #fecaca !important; }
p.legend span { display: inline-block; padding: 2px 8px; margin: 0 6px 4px 0; border-radius: 4px; }
code { font-size: 13px; }
"""


def _cell(text: str) -> str:
    """A body cell: figures right-aligned, long prose given room to read."""
    if text[:1].isdigit() or text[:1] in "+-[\u2013":
        return f'<td class="num">{escape(text)}</td>'
    if len(text) > 40:
        return f'<td class="text">{escape(text)}</td>'
    return f"<td>{escape(text)}</td>"


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]], marks: Sequence[str] = ()) -> str:
    """`marks`: a CSS class per row ("" for none)."""
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    for i, row in enumerate(rows):
        mark = f' class="{marks[i]}"' if i < len(marks) and marks[i] else ""
        body.append(f"<tr{mark}>{''.join(map(_cell, row))}</tr>")
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _pairs(rows: Sequence[tuple[str, str]]) -> str:
    """A (field, value) table."""
    body = "".join(
        f'<tr><th scope="row">{escape(k)}</th><td>{escape(v)}</td></tr>' for k, v in rows
    )
    return f'<table class="pairs"><tbody>{body}</tbody></table>'


def _section(anchor: str, title: str, *parts: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{"".join(parts)}</section>'


def _header(data: ReportData, title: str) -> str:
    marker = data.marker
    names = ", ".join(marker.label(t.name) for t in data.targets)
    parts = [
        f"<h1>{escape(marker.text(title))}</h1>",
        f'<p class="sub">Targets: {escape(names)}</p>',
        f'<p class="sub">Load: {escape(levels_label(data.mode, data.levels))}</p>',
        f'<p class="sub">From: {escape(", ".join(data.sources))}</p>',
    ]
    for target in data.emulated:
        parts.append(
            f'<div class="banner" role="alert"><strong>{escape(marker.label(target.name))}'
            f"</strong> {escape(EMULATED_NOTE)}</div>"
        )
    parts += [
        f'<div class="banner failed" role="alert"><strong>{escape(what)}</strong>: '
        f"{escape(how)}</div>"
        for what, how in failure_notes(data)
    ]
    return "".join(parts)


def _verdicts(data: ReportData) -> str:
    parts = [_matrix(table) for table in verdict_tables(data)]
    if parts:
        legend = "".join(
            f'<span class="v-{kind}">{escape(text)}</span>' for kind, text in OUTCOME_LEGEND
        )
        parts.append(f'<p class="legend">{legend}</p>')
    for heading, lines in headlines(data, with_metrics=False):
        if lines:
            items = "".join(f"<li>{escape(line)}</li>" for line in lines)
            parts.append(f'<h3>{escape(heading)}</h3><ul class="verdicts">{items}</ul>')
    return _section("verdicts", "Headline", *parts)


def _matrix(table: VerdictTable) -> str:
    """Metric x level, each cell its outcome's word and colour, the full verdict on hover."""
    head = "<th>Metric</th>" + "".join(f"<th>{escape(level)}</th>" for level in table.levels)
    body = "".join(
        f'<tr><th scope="row">{escape(metric)}</th>'
        + "".join(
            f'<td class="v-{cell.kind}" title="{escape(cell.title)}">{escape(cell.text)}</td>'
            for cell in cells
        )
        + "</tr>"
        for metric, cells in table.rows
    )
    return (
        f'<h3>{escape(table.heading)}</h3><p class="sub">{escape(table.key)}</p>'
        f'<div class="scroll"><table class="verdict-matrix"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _charts(data: ReportData, chart_ids: Sequence[str]) -> str:
    parts = []
    for anchor, title, ids in CHART_SECTIONS:
        divs = "".join(
            f'<div class="chart{" wide" if i in WIDE_CHARTS else ""}" id="{i}"></div>'
            for i in ids
            if i in chart_ids
        )
        parts.append(_section(anchor, title, f'<div class="grid">{divs}</div>'))
    return "".join(parts)


def _projection(data: ReportData) -> str:
    if data.projected is None:
        return ""
    ratios = data.ratios()
    parts = [
        f'<div class="banner" role="note"><strong>Projected</strong> {escape(PROJECTION_NOTE)}'
        "</div>",
        _pairs(projection_rows(data.projected)),
        f'<p class="note">{escape(RATIO_NOTE if ratios else no_ratio_note(data.projected))}</p>',
    ]
    if ratios:
        parts.append(_table(RATIO_COLUMNS, [ratio_cells(row) for row in ratios]))
    return _section("projection", "Projection (projected, not measured)", *parts)


def _tables(data: ReportData) -> str:
    parts = [
        _section("levels", "Each target at each level", _table(LEVEL_COLUMNS, level_rows(data)))
    ]
    if data.server_clock:
        note = f'<p class="note">{escape(SERVER_CLOCK_NOTE)}</p>'
        table = _table(SERVER_CLOCK_COLUMNS, server_clock_rows(data))
        parts.append(_section("server-clock", "The server's own clock", note, table))
    comparison_parts = [] if data.comparisons else [f'<p class="note">{escape(NO_COMPARISON)}</p>']
    for comparison in data.comparisons:
        if comparison.completeness == "partial":
            comparison_parts.append('<p class="note">The sweep ended early: partial results.</p>')
        for pair in comparison.pairs:
            columns = comparison_columns(data, comparison, pair)
            rows = comparison_rows(data, pair)
            note = pair_note(data, comparison, pair) + " Highlighted rows are significant."
            comparison_parts += [
                f"<h3>{escape(pair_heading(data, pair))}</h3>",
                f'<p class="note">{escape(note)}</p>',
                _table(
                    columns,
                    [cells for _, cells in rows],
                    ["significant" if significant else "" for significant, _ in rows],
                ),
            ]
    parts.append(_section("comparison", "Comparison", *comparison_parts))
    saturation = saturation_rows(data)
    if saturation:
        table = _table(("Target", "Saturates at", "Why"), saturation)
        parts.append(_section("saturation", "Saturation", table))
    failed = sum(row.failed for row in data.errors)
    requests = sum(row.requests for row in data.errors)
    errors = (
        _table(ERROR_COLUMNS, error_rows(data))
        if failed
        else f"<p>No failed requests among {requests} measured.</p>"
    )
    parts.append(_section("errors", f"Errors ({failed} of {requests} requests)", errors))
    return "".join(parts)


def _about(data: ReportData) -> str:
    marker = data.marker
    notes = "".join(f"<li>{escape(marker.text(note))}</li>" for note in data.notes)
    return _section(
        "setup",
        "Workload and environment",
        "<h3>Targets</h3>",
        _table(("Target", "URL", "Emulated", "Server"), target_rows(data)),
        "<h3>Workload and load</h3>",
        _pairs(data.workload),
        "<h3>Environment</h3>",
        _pairs([(k, marker.text(v)) for k, v in data.environment]),
        f"<h3>Notes from the runs</h3><ul>{notes}</ul>" if notes else "",
    )


def _script_json(value: Any) -> str:
    """JSON safe inside <script>: no '<', '>' or '&' that could close or open a tag."""
    text = json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_html(data: ReportData, title: str = "crossfade report") -> str:
    from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

    charts = figures(data)
    policy = escape(CONTENT_POLICY, quote=False)  # no double quote in it: safe in the attribute
    calls = "".join(
        f"draw({json.dumps(chart_id)},{_script_json(figure.to_plotly_json())});\n"
        for chart_id, figure in charts.items()
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(data.marker.text(title))}</title>\n<style>{CSS}</style>\n"
        f"<script>{get_plotlyjs()}</script>\n</head>\n<body>\n<main>\n"
        + _header(data, title)
        + _verdicts(data)
        + _charts(data, list(charts))
        + _projection(data)
        + _tables(data)
        + _about(data)
        + "\n</main>\n<script>\n"
        f"var config = {_script_json(PLOT_CONFIG)};\n"
        "function draw(id, figure) { Plotly.newPlot(id, figure.data, figure.layout, config); }\n"
        f"{calls}</script>\n</body>\n</html>\n"
    )
