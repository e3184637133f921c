"""A projection on the terminal: one row per concurrency and backend under a "projected"
heading, then each point's caveat, what each backend was projected with and where the lead
changes hands."""

from __future__ import annotations

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from crossfade.project.model import (
    BACKEND_LABELS,
    BackendProjection,
    ProjectedPoint,
    Projection,
)

METRIC_NAMES = {
    "output_token_throughput_per_gpu": "output tokens/s per GPU",
    "ttft_ms": "TTFT",
    "tpot_ms": "TPOT",
}


def projection_table(projection: Projection) -> Group:
    inputs, library = projection.inputs, projection.library
    title = (
        f"PROJECTED (AIConfigurator {library.version}, measured kernels), not measured: "
        f"{inputs.model} on {inputs.gpu} ({inputs.system}), {inputs.input_len} tokens in, "
        f"{inputs.output_len} out, quantization {inputs.quantization}, KV cache "
        f"{inputs.kv_cache_dtype}"
    )
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("conc.", justify="right")
    table.add_column("projected", no_wrap=True)
    for column in ("TTFT ms", "TPOT ms", "tok/s", "tok/s/GPU", "tok/s/user"):
        table.add_column(column, justify="right")
    notes: list[str] = []
    for concurrency in inputs.concurrency:
        for backend in projection.backends:
            point = backend.point(concurrency)
            if point is None:
                continue
            table.add_row(str(concurrency), BACKEND_LABELS[backend.backend], *_cells(point))
            note = _note(point)
            if note:
                notes.append(f"{backend.label} at {concurrency}: {note}")
    lines = [Text(line) for line in notes]
    lines += [Text(_setup_line(backend)) for backend in projection.backends]
    lines += [Text(f"{METRIC_NAMES[c.metric]}: {c.note}") for c in projection.crossovers]
    return Group(table, *lines)


def _cells(point: ProjectedPoint) -> list[str]:
    figures = point.figures
    if figures is None:
        return ["not projected"] + ["-"] * 4
    return [
        f"{figures.ttft_ms:.1f}",
        f"{figures.tpot_ms:.2f}",
        f"{figures.output_token_throughput:,.0f}",
        f"{figures.output_token_throughput_per_gpu:,.0f}",
        f"{figures.output_tokens_per_s_per_user:.1f}",
    ]


def _note(point: ProjectedPoint) -> str | None:
    return f"not projected: {point.failure}" if point.failure else point.warning


def _setup_line(backend: BackendProjection) -> str:
    precision = backend.precision
    kernels = (
        f"GEMM {precision.gemm}, KV cache {precision.kv_cache}, attention {precision.attention}"
        if precision is not None
        else "no point projected"
    )
    return (
        f"{backend.label}: {backend.database_backend} {backend.database_version} database, "
        f"tp {backend.tensor_parallel} x pp {backend.pipeline_parallel} "
        f"({backend.parallelism_from}), {kernels}"
    )
