"""A projection (projection.json, `crossfade project`) in a report: read beside the measured
folders, drawn as projected curves (projected_figures.py), and set against the measured sweep of
the same workload with the ratio measured/projected per point.

The ratio pairs a measured target with the projected backend its URL names (bench's
`engine_of`), at a concurrency both have, only when every run had the projection's fixed input
and output lengths. An emulated target is never paired: its figures are not TensorRT-LLM's.
A ratio near 1 says the projection held on the team's hardware; far from 1, how far to trust it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from crossfade.bench.results import RESULT_FILE, BenchResult
from crossfade.bench.sweep_index import SWEEP_FILE
from crossfade.bench.targets import engine_of
from crossfade.compare.model import TargetLevelSummary
from crossfade.project.model import (
    PROJECTION_FILE,
    BackendProjection,
    Projection,
    ProjectionError,
    load_projection,
)

PROJECTED_MARK = "(projected)"
PROJECTION_NOTE = (
    "projected by NVIDIA's AIConfigurator from kernels measured on the named GPUs, not "
    "measured here: every curve and figure marked projected is an estimate of a serving "
    "engine's steady state, without Triton, the network or a benchmark client."
)
RATIO_COLUMNS = (
    "Measured target",
    "Projected",
    "Concurrency",
    "TTFT p50 / projected TTFT",
    "ITL p50 / projected TPOT",
    "Output tok/s / projected",
)


@dataclass(frozen=True)
class ProjectedSweep:
    source: str  # projection.json as given
    projection: Projection
    same_workload: bool  # every measured run had the projection's input and output lengths
    workload_note: str  # why the measured sweep is or is not the projection's workload


@dataclass(frozen=True)
class Ratio:
    measured: float
    projected: float

    @property
    def value(self) -> float | None:
        return self.measured / self.projected if self.projected > 0 else None


@dataclass(frozen=True)
class RatioRow:
    target: str
    backend: BackendProjection
    concurrency: int
    ttft: Ratio  # measured TTFT p50 / projected TTFT
    itl: Ratio  # measured ITL p50 / projected TPOT
    output_throughput: Ratio  # measured output tokens/s / projected (one replica)


def is_projection(path: Path) -> bool:
    """projection.json itself, or a folder holding one and no measured results."""
    if path.is_file():
        return path.name == PROJECTION_FILE
    return (
        (path / PROJECTION_FILE).is_file()
        and not (path / SWEEP_FILE).is_file()
        and not (path / RESULT_FILE).is_file()
    )


def split_projection(paths: Sequence[Path]) -> tuple[list[Path], tuple[str, Projection] | None]:
    """The measured folders, and the one projection among the paths (read), if any."""
    measured = [path for path in paths if not is_projection(path)]
    given = [path for path in paths if is_projection(path)]
    if len(given) > 1:
        raise ProjectionError(
            f"{', '.join(map(str, given))}: one projection per report; report them separately"
        )
    return measured, ((str(given[0]), load_projection(given[0])) if given else None)


def projected_sweep(
    source: str, projection: Projection, results: Sequence[BenchResult]
) -> ProjectedSweep:
    inputs = projection.inputs
    wanted = (str(inputs.input_len), str(inputs.output_len))
    lengths = {(r.config.workload.input_len, r.config.workload.output_len) for r in results}
    projected = f"{inputs.input_len} tokens in, {inputs.output_len} out"
    if not results:
        note = f"projected at {projected}; no measured sweep given"
        return ProjectedSweep(source, projection, False, note)
    if lengths == {wanted}:
        note = f"the measured sweep's workload is the projection's ({projected})"
        return ProjectedSweep(source, projection, True, note)
    measured = "; ".join(sorted(f"{i or '-'} in, {o or '-'} out" for i, o in lengths))
    note = (
        f"projected at {projected}, measured at {measured}: another workload (and often "
        "another model and machine), so no ratios; the projected curves have their own axis "
        "where their scale differs"
    )
    return ProjectedSweep(source, projection, False, note)


def ratio_rows(
    projected: ProjectedSweep,
    points: Sequence[TargetLevelSummary],
    urls: dict[str, str],
    emulated: set[str],
) -> list[RatioRow]:
    """measured/projected per point, for each real target a projected backend answers for."""
    if not projected.same_workload:
        return []
    rows = []
    for point in points:
        engine = engine_of(urls.get(point.target, ""))
        backend = projected.projection.backend(engine) if engine else None
        if backend is None or point.target in emulated or not float(point.level).is_integer():
            continue
        at = backend.point(int(point.level))
        if at is None or at.figures is None:
            continue
        ttft, itl = point.ttft_ms.get("p50"), point.itl_ms.get("p50")
        if ttft is None or itl is None:
            continue
        rows.append(
            RatioRow(
                target=point.target,
                backend=backend,
                concurrency=int(point.level),
                ttft=Ratio(ttft, at.figures.ttft_ms),
                itl=Ratio(itl, at.figures.tpot_ms),
                output_throughput=Ratio(
                    point.output_token_throughput, at.figures.output_token_throughput
                ),
            )
        )
    return rows


def ratio_cells(row: RatioRow) -> tuple[str, ...]:
    def cell(ratio: Ratio, unit: str) -> str:
        value = ratio.value
        shown = f"{value:.2f}x" if value is not None else "-"
        return f"{shown} ({ratio.measured:,.1f} / {ratio.projected:,.1f} {unit})"

    return (
        row.target,
        row.backend.label,
        f"{row.concurrency}",
        cell(row.ttft, "ms"),
        cell(row.itl, "ms"),
        cell(row.output_throughput, "tok/s"),
    )


RATIO_NOTE = (
    "measured / projected at each concurrency both have, for each measured target whose URL "
    "names a projected backend (an emulated target never): 1.00x is the projection exactly; "
    "above 1 the measured latency is longer or the measured throughput higher. The projected "
    "throughput is one replica's; the measured, the whole target's."
)


def no_ratio_note(projected: ProjectedSweep) -> str:
    if projected.same_workload:
        return (
            "No ratios: no measured target at a projected concurrency whose URL names a "
            "projected backend (emulated targets are never paired)."
        )
    return f"No ratios: {projected.workload_note}."


def projection_rows(projected: ProjectedSweep) -> list[tuple[str, str]]:
    """(field, value) rows of what was projected, from where."""
    projection = projected.projection
    inputs, library = projection.inputs, projection.library
    rows = [
        ("projection", projected.source),
        ("model", f"{inputs.model} ({inputs.hf_config.architecture}, {inputs.quantization})"),
        ("GPUs", f"{inputs.gpu} ({inputs.system})"),
        ("workload", f"{inputs.input_len} tokens in, {inputs.output_len} out"),
        ("concurrency", ", ".join(map(str, inputs.concurrency))),
        ("library", f"AIConfigurator {library.version} ({library.database_mode} databases)"),
    ]
    rows += [
        (
            b.label,
            f"database {b.database_backend} {b.database_version}, tp {b.tensor_parallel}, "
            f"pp {b.pipeline_parallel} ({b.gpus} GPUs)",
        )
        for b in projection.backends
    ]
    rows += [(f"crossover, {c.metric} {PROJECTED_MARK}", c.note) for c in projection.crossovers]
    rows.append(("against the measured sweep", projected.workload_note))
    return rows
