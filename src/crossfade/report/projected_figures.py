"""Projected curves in the report's charts: the same axes as a measured sweep (throughput vs
concurrency, TTFT and TPOT vs concurrency in the median panel, the latency-throughput trade-off),
drawn dotted with hollow markers in colours no target takes, and "(projected)" in every name.
When the projection is of another workload than the measured sweep, its throughput has an axis
of its own on the right: the two scales (a GPU cluster, this machine) need not meet."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go  # type: ignore[import-untyped]

from crossfade.project.model import Backend, BackendProjection, PointFigures
from crossfade.report.model import ReportData

# Not in the targets' palette: a projected curve never shares a measured target's colour.
COLOURS: dict[Backend, str] = {"tensorrtllm": "#4d7c0f", "vllm": "#7c3aed"}
SYMBOLS: dict[Backend, str] = {"tensorrtllm": "diamond-open", "vllm": "circle-open"}
LEVEL_CHARTS = ("chart-throughput", "chart-ttft", "chart-itl")


def trace_name(data: ReportData, backend: BackendProjection) -> str:
    assert data.projected is not None
    inputs = data.projected.projection.inputs
    return f"{backend.label}: {inputs.model}, {backend.gpus}x {inputs.gpu}"


def _trace(
    data: ReportData, backend: BackendProjection, x: list[float], y: list[float], hover: str,
    **extra: Any,
) -> go.Scatter:  # fmt: skip
    name = trace_name(data, backend)
    return go.Scatter(
        x=x,
        y=y,
        name=name,
        legendgroup=name,
        mode="lines+markers",
        line={"color": COLOURS[backend.backend], "dash": "dot", "width": 2.5},
        marker={
            "size": 10,
            "symbol": SYMBOLS[backend.backend],
            "color": COLOURS[backend.backend],
            "line": {"width": 2},
        },
        hovertemplate=f"{name}<br>{hover}<extra></extra>",
        **extra,
    )


def _series(backend: BackendProjection) -> list[tuple[int, PointFigures]]:
    return [(p.concurrency, p.figures) for p in backend.points if p.figures is not None]


def _own_axis(figure: go.Figure, axis: str, title: str) -> None:
    figure.update_layout(
        {
            f"yaxis{axis[1:]}": {
                "title": {"text": title},
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
                "showgrid": False,
                "automargin": True,
            }
        }
    )


def add_projected(charts: dict[str, go.Figure], data: ReportData) -> None:
    """Draw the projection into the charts (nothing when the report has none)."""
    projected = data.projected
    if projected is None:
        return
    own = not projected.same_workload and bool(data.points)
    axis = {"yaxis": "y2"} if own else {}
    for backend in projected.projection.backends:
        series = _series(backend)
        if not series:
            continue
        levels = [float(c) for c, _ in series]
        at = "concurrency %{x:g}<br>"
        charts["chart-throughput"].add_trace(
            _trace(
                data,
                backend,
                levels,
                [f.output_token_throughput for _, f in series],
                at + "%{y:,.1f} tok/s",
                **axis,
            )
        )
        charts["chart-ttft"].add_trace(
            _trace(data, backend, levels, [f.ttft_ms for _, f in series], at + "TTFT %{y:,.1f} ms"),
            row=1,
            col=1,
        )
        charts["chart-itl"].add_trace(
            _trace(data, backend, levels, [f.tpot_ms for _, f in series], at + "TPOT %{y:,.1f} ms"),
            row=1,
            col=1,
        )
        charts["chart-pareto"].add_trace(
            _trace(
                data,
                backend,
                [f.output_tokens_per_s_per_user for _, f in series],
                [f.output_token_throughput for _, f in series],
                "concurrency %{text}<br>%{x:,.1f} tok/s per user<br>%{y:,.1f} tok/s in total",
                text=[f"{c}" for c, _ in series],
                textposition="bottom center",
                **axis,
            ).update(mode="lines+markers+text")
        )
    if own:
        for chart in ("chart-throughput", "chart-pareto"):
            _own_axis(charts[chart], "y2", "Projected output tokens/s, all users (projected)")
    ticks = sorted({*data.levels, *map(float, projected.projection.inputs.concurrency)})
    for chart in LEVEL_CHARTS:
        charts[chart].update_xaxes(tickvals=ticks, ticktext=[f"{t:g}" for t in ticks])
