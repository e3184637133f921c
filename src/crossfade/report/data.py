"""Saved results -> `ReportData` (see model.py): what every report format renders.

RESULTS are sweep folders (sweep.json, plus comparison.json once `crossfade compare` analysed
them) and single result folders written by `crossfade bench`, in any mix of one load mode. A
level's figures come from comparison.json where there is one (the numbers its statistics were
computed on), else they are pooled from the runs as compare pools them. CDFs and failures always
come from the runs themselves, and so does whether a target failed at a level (compare's rule):
a failed level has no figures, no point and no CDF. Nothing depends on when the report is made:
the same folders, the same report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from crossfade.bench.plan import StopReason
from crossfade.bench.result_model import RunConfig
from crossfade.bench.results import RESULT_FILE, load_records, load_result
from crossfade.bench.summary import in_window
from crossfade.bench.sweep_index import SWEEP_FILE, LoadMode, load_sweep
from crossfade.compare.model import (
    COMPARISON_FILE,
    Comparison,
    TargetLevelSummary,
    load_comparison,
)
from crossfade.compare.verdicts import level_label
from crossfade.errors import CrossfadeError
from crossfade.report.describe import environment_rows, server_line, workload_rows
from crossfade.report.model import CDF_METRICS, ReportData, ReportTarget
from crossfade.report.projection import ProjectedSweep, projected_sweep, split_projection
from crossfade.report.runs import Run, cdf, error_row, pooled
from crossfade.report.server_clock import server_clock_row

Key = tuple[str, float]  # (target, level)


class ReportError(CrossfadeError):
    """Results a report cannot be made from; the message names the file and the fix."""


def _plan_level(config: RunConfig) -> tuple[LoadMode, float]:
    """The run's load mode and level (a plan has exactly one of concurrency and rate)."""
    if config.plan.concurrency is not None:
        return "concurrency", float(config.plan.concurrency)
    assert config.plan.rate is not None
    return "rate", config.plan.rate


def _run(
    folder: Path, source: str, target: str | None, level: float | None, url: str | None
) -> Run:
    result = load_result(folder)
    try:
        records = in_window(load_records(folder), result.run.measure_start_ns, result.run.end_ns)
    except FileNotFoundError:
        raise ReportError(
            f"{folder}: no requests.jsonl; the report needs the raw records for its CDFs"
        ) from None
    return Run(
        source=source,
        folder=str(folder),
        target=target if target is not None else result.name,
        level=level if level is not None else _plan_level(result.config)[1],
        url=url if url is not None else result.target.url,
        emulated=result.emulated,
        result=result,
        records=records,
    )


def _gather(paths: Sequence[Path]) -> tuple[list[Run], list[tuple[str, Comparison]], LoadMode]:
    runs: list[Run] = []
    comparisons: list[tuple[str, Comparison]] = []
    modes: dict[LoadMode, Path] = {}
    emulated: set[str] = set()
    for path in paths:
        if not path.is_dir():
            raise ReportError(f"{path}: no such folder (give sweep or result folders)")
        if (path / SWEEP_FILE).is_file():
            index = load_sweep(path)
            modes.setdefault(index.mode, path)
            emulated |= {target.name for target in index.targets if target.emulated}
            runs += [
                _run(path / r.folder, str(path), r.target, r.level, index.target(r.target).url)
                for r in index.runs
            ]
            if (path / COMPARISON_FILE).is_file():
                comparison = load_comparison(path / COMPARISON_FILE)
                comparisons.append((str(path), comparison))
                emulated |= {target.name for target in comparison.targets if target.emulated}
        elif (path / RESULT_FILE).is_file():
            run = _run(path, str(path), None, None, None)
            modes.setdefault(_plan_level(run.result.config)[0], path)
            runs.append(run)
        else:
            raise ReportError(
                f"{path}: neither a sweep folder ({SWEEP_FILE}) nor a result folder "
                f"({RESULT_FILE}); give folders written by `crossfade compare` or `crossfade bench`"
            )
    if len(modes) > 1:
        raise ReportError(
            f"{modes['concurrency']} was measured at fixed concurrencies and {modes['rate']} at "
            "request rates; one report plots one kind of load: report them separately"
        )
    if not runs:
        raise ReportError(f"{', '.join(map(str, paths))}: no runs recorded yet, nothing to report")
    # A target is emulated if anything says so: the sweep, the comparison or a run's server.
    runs = [replace(run, emulated=run.emulated or run.target in emulated) for run in runs]
    return runs, comparisons, next(iter(modes))


def _targets(runs: Sequence[Run]) -> list[ReportTarget]:
    seen: dict[str, ReportTarget] = {}
    for run in runs:
        known = seen.get(run.target)
        seen[run.target] = ReportTarget(
            name=run.target,
            url=known.url if known else run.url,
            emulated=run.emulated or (known is not None and known.emulated),
            server=known.server if known else server_line(run.result),
        )
    return list(seen.values())


def _groups(runs: Sequence[Run]) -> dict[Key, list[Run]]:
    groups: dict[Key, list[Run]] = {}
    for run in runs:
        groups.setdefault((run.target, run.level), []).append(run)
    return groups


def _points(
    runs: Sequence[Run], comparisons: Sequence[tuple[str, Comparison]], mode: LoadMode
) -> list[TargetLevelSummary]:
    owner: dict[Key, str] = {}
    points: list[TargetLevelSummary] = []
    for source, comparison in comparisons:
        for s in comparison.summaries:
            if (s.target, s.level) in owner:
                raise ReportError(
                    f"{s.target} at {level_label(mode, s.level)} is in both "
                    f"{owner[(s.target, s.level)]} and {source}; report them separately"
                )
            owner[(s.target, s.level)] = source
            points.append(s)
    compared = {source for source, _ in comparisons}
    for (target, level), group in _groups([r for r in runs if r.source not in compared]).items():
        if (target, level) in owner:
            raise ReportError(
                f"{target} at {level_label(mode, level)} is in both {owner[(target, level)]} "
                f"and {group[0].folder}; report them separately"
            )
        points.append(pooled(target, level, group))
    return points


def _run_notes(runs: Sequence[Run], mode: LoadMode) -> list[str]:
    notes = []
    for run in runs:
        where = f"{run.target} at {level_label(mode, run.level)}"
        stop = run.result.run.stop_reason
        if stop not in (StopReason.COMPLETED, StopReason.DURATION):
            notes.append(f"{where}: the run stopped early ({stop})")
        notes += [f"{where}: {note}" for note in run.result.run.notes]
    return list(dict.fromkeys(notes))  # repeats of a level often say the same thing


def load_report(paths: Sequence[Path]) -> ReportData:
    measured, projection = split_projection(paths)
    if not measured and projection is not None:
        return _projection_only(paths, projected_sweep(*projection, []))
    runs, comparisons, mode = _gather(measured)
    projected = None
    if projection is not None:
        if mode != "concurrency":
            raise ReportError(
                f"{projection[0]}: a projection is at fixed concurrencies, and "
                f"{', '.join(map(str, measured))} at request rates: report them separately"
            )
        projected = projected_sweep(*projection, [run.result for run in runs])
    targets = _targets(runs)
    order = {target.name: i for i, target in enumerate(targets)}
    for _, comparison in comparisons:
        for summary in comparison.summaries:
            if summary.target not in order:
                raise ReportError(
                    f"{COMPARISON_FILE}: summaries: target {summary.target!r} has no runs in "
                    "its sweep.json; run `crossfade compare` on the sweep again"
                )
    groups = sorted(_groups(runs).items(), key=lambda item: (order[item[0][0]], item[0][1]))
    errors = [error_row(target, level, group) for (target, level), group in groups]
    # A comparison.json of schema 1 still has a summary for a level where the target failed.
    failed = {(row.target, row.level) for row in errors if row.failure is not None}
    points = [p for p in _points(runs, comparisons, mode) if (p.target, p.level) not in failed]
    return ReportData(
        sources=tuple(str(path) for path in paths),
        mode=mode,
        targets=tuple(targets),
        points=tuple(sorted(points, key=lambda p: (order[p.target], p.level))),
        cdfs=tuple(
            cdf(target, level, metric, group)
            for (target, level), group in groups
            if (target, level) not in failed
            for metric in CDF_METRICS
        ),
        errors=tuple(errors),
        server_clock=tuple(
            row
            for (target, level), group in groups
            if (target, level) not in failed
            and (row := server_clock_row(target, level, group)) is not None
        ),
        workload=workload_rows([run.result for run in runs]),
        environment=environment_rows([run.result for run in runs]),
        comparisons=tuple(comparison for _, comparison in comparisons),
        notes=tuple(_run_notes(runs, mode)),
        projected=projected,
    )


def _projection_only(paths: Sequence[Path], projected: ProjectedSweep) -> ReportData:
    return ReportData(
        sources=tuple(str(path) for path in paths),
        mode="concurrency",
        targets=(),
        points=(),
        cdfs=(),
        errors=(),
        server_clock=(),
        workload=(),
        environment=(),
        comparisons=(),
        notes=(),
        projected=projected,
    )
