"""The report's charts: pure functions from `ReportData` to plotly figures.

Each target keeps one colour in every chart, and a point with an interval over the repeats (from
comparison.json) carries it as an error bar; an emulated target is drawn dashed and its name
carries the emulated mark (marks.py). A level where a target failed is a gap in its line, and
its legend name says so. Load levels sit on a log axis with a tick at each level
measured, so a doubling sweep (1, 2, 4, ...) is evenly spaced. No figure holds anything that
depends on when it is drawn, so the same data serialises to the same JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import plotly.graph_objects as go  # type: ignore[import-untyped]
from plotly.subplots import make_subplots  # type: ignore[import-untyped]

from crossfade.compare.model import MetricName, TargetLevelSummary
from crossfade.compare.verdicts import levels_label
from crossfade.report.model import CdfMetric, ReportData, ReportTarget, level_name
from crossfade.report.projected_figures import add_projected

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#17becf", "#8c564b", "#e377c2")
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif"
GRID = "#e5e7eb"
PERCENTILE_PANELS = ("p50", "p99")


def colour(data: ReportData, target: str) -> str:
    index = next(i for i, t in enumerate(data.targets) if t.name == target)
    return PALETTE[index % len(PALETTE)]


def _lighter(hex_colour: str, share: float) -> str:
    """`hex_colour` mixed with white, keeping `share` of the colour."""
    channels = [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(255 - (255 - c) * share):02x}" for c in channels)


def _line(data: ReportData, target: ReportTarget, shade: float = 1.0) -> dict[str, Any]:
    return {
        "color": _lighter(colour(data, target.name), shade),
        "dash": "dash" if target.emulated else "solid",
        "width": 2.5,
    }


def _layout(figure: go.Figure, title: str, height: int = 440) -> go.Figure:
    figure.update_layout(
        template=None,
        title={"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 17}},
        font={"family": FONT, "size": 13, "color": "#1f2937"},
        paper_bgcolor="white",
        plot_bgcolor="white",
        height=height,
        margin={"l": 80, "r": 24, "t": 70, "b": 16},
        # Under everything, axis titles included: the plot area shrinks to make room.
        legend={"orientation": "h", "x": 0, "y": 0, "yref": "container", "yanchor": "bottom"},
        hovermode="closest",
    )
    figure.update_xaxes(
        gridcolor=GRID, linecolor="#9ca3af", ticks="outside", zeroline=False, automargin=True
    )
    figure.update_yaxes(
        gridcolor=GRID, linecolor="#9ca3af", ticks="outside", zeroline=False, automargin=True
    )
    return figure


def _level_axis(data: ReportData) -> dict[str, Any]:
    unit = "requests in flight, log scale" if data.mode == "concurrency" else "req/s, log scale"
    return {
        "type": "log",
        "title": {"text": f"{level_name(data.mode).capitalize()} ({unit})"},
        "tickvals": data.levels,
        "ticktext": [f"{level:g}" for level in data.levels],
    }


def _per_level(
    data: ReportData,
    value: Callable[[TargetLevelSummary], float | None],
    unit: str,  # after the value in the hover text
    name_suffix: str = "",
    band: MetricName | None = None,  # the metric whose interval each point carries
    **style: Any,
) -> list[go.Scatter]:
    traces = []
    marker = data.marker
    for target in data.targets:
        points = [p for p in data.points_of(target.name) if value(p) is not None]
        if not points:
            continue
        failed = [f.level for f in data.failures_of(target.name)]
        name = marker.label(target.name)
        if failed:
            name += f" (failed at {levels_label(data.mode, failed)})"
        name += name_suffix
        # A level where the target failed is a gap in its line, never a point.
        drawn = sorted([(p.level, value(p)) for p in points] + [(level, None) for level in failed])
        bars = _error_bars(data, target.name, band, drawn) if band is not None else {}
        traces.append(
            go.Scatter(
                x=[level for level, _ in drawn],
                y=[y for _, y in drawn],
                name=name,
                legendgroup=marker.label(target.name),
                mode="lines+markers",
                line=_line(data, target),
                marker={"size": 8, "color": colour(data, target.name)},
                hovertemplate=f"{name}<br>{level_name(data.mode)} %{{x:g}}<br>"
                f"%{{y:,.1f}} {unit}<extra></extra>",
                **style,
                **bars,
            )
        )
    return traces


def _error_bars(
    data: ReportData, target: str, metric: MetricName, drawn: list[tuple[float, float | None]]
) -> dict[str, Any]:
    """Plotly error bars from each point's interval over the repeats (comparison.json's
    `intervals`); none where a point has no interval (a report of runs alone)."""
    bands = {p.level: p.intervals.get(metric) for p in data.points_of(target)}
    above: list[float | None] = []
    below: list[float | None] = []
    for level, y in drawn:
        band = bands.get(level)
        above.append(band[1] - y if band is not None and y is not None else None)
        below.append(y - band[0] if band is not None and y is not None else None)
    if not any(v is not None for v in above):
        return {}
    return {
        "error_y": {
            "type": "data", "symmetric": False, "array": above, "arrayminus": below,
            "color": colour(data, target), "thickness": 1.5, "width": 5,
        }
    }  # fmt: skip


def throughput_figure(data: ReportData) -> go.Figure:
    figure = go.Figure(
        _per_level(
            data, lambda p: p.output_token_throughput, "tok/s", band="output_token_throughput"
        )
    )
    figure.update_xaxes(**_level_axis(data))
    figure.update_yaxes(title={"text": "Output tokens/s, all users"}, rangemode="tozero")
    return _layout(figure, f"Output token throughput vs {level_name(data.mode)}")


def goodput_figure(data: ReportData) -> go.Figure:
    has_goodput = any(point.goodput is not None for point in data.points)
    traces = _per_level(
        data,
        lambda p: p.request_throughput,
        "req/s",
        " \u2014 all completed" if has_goodput else "",
        band="request_throughput",
        opacity=0.45 if has_goodput else 1.0,
    )
    if has_goodput:
        traces += _per_level(
            data, lambda p: p.goodput, "req/s", " \u2014 goodput (SLOs met)", band="goodput"
        )
        title = f"Goodput vs {level_name(data.mode)}"
    else:
        title = f"Request throughput vs {level_name(data.mode)} (no SLOs given, so no goodput)"
    figure = go.Figure(traces)
    figure.update_xaxes(**_level_axis(data))
    figure.update_yaxes(title={"text": "Requests/s"}, rangemode="tozero")
    return _layout(figure, title)


def latency_figure(data: ReportData, metric: str, short: str, title: str) -> go.Figure:
    """`metric` ("ttft_ms" or "itl_ms") p50 and p99 side by side against the load level."""
    figure = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=[f"{p} (median)" if p == "p50" else p for p in PERCENTILE_PANELS],
        horizontal_spacing=0.1,
    )
    for column, percentile in enumerate(PERCENTILE_PANELS, start=1):

        def value(point: TargetLevelSummary, q: str = percentile) -> float | None:
            stats: dict[str, float] = getattr(point, metric)
            return stats.get(q)

        band = cast(MetricName, f"{short.lower()}_{percentile}")
        traces = _per_level(data, value, f"ms ({percentile})", band=band, showlegend=column == 1)
        for trace in traces:
            figure.add_trace(trace, row=1, col=column)
        axis = {"text": f"{short} {percentile} (ms)"}
        figure.update_yaxes(title=axis, rangemode="tozero", col=column)
    figure.update_xaxes(**_level_axis(data))
    return _layout(figure, title)


def pareto_frontier(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point beats on both axes (more per user and more in total)."""
    frontier: list[tuple[float, float]] = []
    for x, y in sorted(points, key=lambda p: (-p[0], -p[1])):
        if not frontier or y > frontier[-1][1]:
            frontier.append((x, y))
    return frontier[::-1]


def pareto_figure(data: ReportData) -> go.Figure:
    marker = data.marker
    per_user = [(p, p.output_tokens_per_s_per_user) for p in data.points]
    measured = [(p, x) for p, x in per_user if x is not None]
    frontier = pareto_frontier([(x, p.output_token_throughput) for p, x in measured])
    figure = go.Figure()
    if frontier:
        figure.add_trace(
            go.Scatter(
                x=[x for x, _ in frontier],
                y=[y for _, y in frontier],
                name="Pareto frontier (all targets)",
                mode="lines",
                line={"color": "#9ca3af", "width": 10},
                opacity=0.35,
                hoverinfo="skip",
            )
        )
    for target in data.targets:
        points = [(p, x) for p, x in measured if p.target == target.name]
        if not points:
            continue
        name = marker.label(target.name)
        figure.add_trace(
            go.Scatter(
                x=[x for _, x in points],
                y=[p.output_token_throughput for p, _ in points],
                text=[f"{p.level:g}" for p, _ in points],
                name=name,
                legendgroup=marker.label(target.name),
                mode="lines+markers+text",
                textposition="top center",
                line=_line(data, target),
                marker={"size": 9, "color": colour(data, target.name)},
                hovertemplate=f"{name}<br>{level_name(data.mode)} %{{text}}<br>"
                "%{x:,.1f} tok/s per user<br>%{y:,.1f} tok/s in total<extra></extra>",
            )
        )
    figure.update_xaxes(title={"text": "Output tokens/s per user (median decode rate)"})
    figure.update_yaxes(title={"text": "Output tokens/s, all users"}, rangemode="tozero")
    labels = "concurrency" if data.mode == "concurrency" else "request rate (req/s)"
    return _layout(figure, f"Latency-throughput trade-off (points labelled by {labels})")


def cdf_figure(data: ReportData, metric: CdfMetric) -> go.Figure:
    marker = data.marker
    figure = go.Figure()
    for target in data.targets:
        curves = [c for c in data.cdfs_of(metric) if c.target == target.name]
        for i, curve in enumerate(curves):
            # Darker for higher load: the eye follows one colour per target up the sweep.
            shade = 0.35 + 0.65 * (i + 1) / len(curves)
            figure.add_trace(
                go.Scatter(
                    x=list(curve.values_ms),
                    y=list(curve.fractions),
                    name=f"{curve.level:g}",
                    legendgroup=marker.label(target.name),
                    legendgrouptitle={"text": marker.label(target.name)},
                    mode="lines",
                    line={**_line(data, target, shade), "shape": "hv", "width": 2},
                    hovertemplate=f"{marker.label(target.name)}<br>{level_name(data.mode)} "
                    f"{curve.level:g}<br>%{{x:,.1f}} ms: %{{y:.1%}} of requests<extra></extra>",
                )
            )
    what = "TTFT" if metric == "ttft" else "End-to-end latency"
    figure.update_xaxes(type="log", title={"text": f"{what}, ms (log scale)"})
    figure.update_yaxes(title={"text": "Share of requests at or below"}, range=[0, 1.02])
    title = f"{what} per request: CDF at each {level_name(data.mode)} (legend: level)"
    # One legend group per target, one entry per level, to the right of the curves.
    legend = {"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yref": "paper"}
    return _layout(figure, title, height=480).update_layout(
        legend={**legend, "yanchor": "top", "groupclick": "toggleitem"}
    )


def figures(data: ReportData) -> dict[str, go.Figure]:
    """Every chart of the report, by the fixed id of the element it is drawn in."""
    charts = {
        "chart-throughput": throughput_figure(data),
        "chart-goodput": goodput_figure(data),
        "chart-ttft": latency_figure(data, "ttft_ms", "TTFT", "Time to first token (TTFT) vs load"),
        "chart-itl": latency_figure(
            data, "itl_ms", "ITL", "Inter-token latency (ITL, per token) vs load"
        ),
        "chart-pareto": pareto_figure(data),
        "chart-cdf-ttft": cdf_figure(data, "ttft"),
        "chart-cdf-e2e": cdf_figure(data, "e2e"),
    }
    add_projected(charts, data)
    return charts
