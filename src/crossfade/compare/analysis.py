"""A sweep folder in, `comparison.json` out: reads sweep.json and every run folder it indexes,
pools the repeats of each target at each level, and compares every pair of targets. A target
that failed at a level (`failures`) is recorded there and nothing is estimated from it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np

from crossfade.bench.protocol import RequestRecord
from crossfade.bench.results import REQUESTS_FILE, load_records, load_result
from crossfade.bench.summary import Summary, in_window
from crossfade.bench.sweep_index import SweepIndex, SweepRun, load_sweep
from crossfade.compare.crossover import crossover, saturation
from crossfade.compare.defaults import DEFAULT_MARGIN
from crossfade.compare.estimates import METRICS, Estimate, estimates, level_summary
from crossfade.compare.failures import level_failure
from crossfade.compare.intervals import value_interval
from crossfade.compare.lengths import length_difference, output_lengths
from crossfade.compare.model import (
    CompareError,
    Comparison,
    LengthDifference,
    LevelComparison,
    LevelFailure,
    MetricComparison,
    MetricName,
    PairComparison,
    TargetLevelSummary,
)
from crossfade.compare.samples import RunSamples, measurement_window, run_samples
from crossfade.compare.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES
from crossfade.compare.verdicts import compare_metric

Cell = tuple[str, float]  # (target, level)


@dataclass(frozen=True)
class _Run:
    entry: SweepRun
    samples: RunSamples
    summary: Summary  # result.json's
    failed_records: list[RequestRecord]  # the measured records when the run failed, else none


def analyse_sweep(
    folder: Path,
    *,
    confidence: float | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    margin: float | None = None,
) -> Comparison:
    """Compare every pair of the sweep's targets at every level both reached (a = the earlier
    target in sweep.json), judged against the practical-equivalence `margin` (a fraction).
    Deterministic for a given `seed`."""
    confidence = DEFAULT_CONFIDENCE if confidence is None else confidence
    margin = DEFAULT_MARGIN if margin is None else margin
    if not 0 < confidence < 1:
        raise CompareError(f"confidence {confidence} is outside (0, 1); use e.g. 0.99")
    if not 0 <= margin < 1:
        raise CompareError(f"margin {margin} is outside [0, 1); use e.g. 0.05")
    if resamples < 1:
        raise CompareError(f"resamples {resamples} must be at least 1; the default is 2000")
    index = load_sweep(folder)
    cells = _read_runs(folder, index)
    slos = _one_slo_list(cells)
    names = [target.name for target in index.targets]
    summaries: list[TargetLevelSummary] = []
    failures: list[LevelFailure] = []
    per_cell: dict[Cell, dict[MetricName, Estimate] | None] = {}  # None: the target failed
    for target_position, target in enumerate(names):
        for level_position, level in enumerate(index.levels):
            group = cells.get((target, level))
            if not group:
                continue
            failure = level_failure(
                target, level, [(r.entry.folder, r.summary, r.failed_records) for r in group]
            )
            if failure is not None:
                failures.append(failure)
                per_cell[target, level] = None
                continue
            samples = [r.samples for r in group]
            # One stream per cell: a cell's replicates do not depend on which pairs exist.
            rng = np.random.default_rng([seed, target_position, level_position])
            found = estimates(
                samples, [r.entry.repeat for r in group], resamples, rng, goodput=bool(slos)
            )
            per_cell[target, level] = found
            summary = level_summary(target, level, samples, [r.entry.folder for r in group])
            summaries.append(summary.model_copy(update={"intervals": _bands(found, confidence)}))
    runs_of: dict[str, list[Summary]] = defaultdict(list)
    for (target, _), group in cells.items():
        runs_of[target] += [run.summary for run in group]
    lengths = {name: output_lengths(name, runs_of[name]) for name in names}
    pairs = [
        _pair(a, b, index, per_cell, confidence, margin, length_difference(lengths[a], lengths[b]))
        for a, b in combinations(names, 2)
    ]
    complete = index.stop_reason == "completed" and all(
        (target, level) in per_cell for target in names for level in index.levels
    )
    answered = {target for (target, _), cell in per_cell.items() if cell is not None}
    return Comparison(
        mode=index.mode,
        levels=index.levels,
        targets=index.targets,
        workload_fingerprint=index.workload_fingerprint,
        confidence=confidence,
        margin=margin,
        resamples=resamples,
        seed=seed,
        summaries=summaries,
        pairs=pairs,
        # A target that failed at every level it was measured at has nothing to saturate.
        saturation=[
            saturation(
                name,
                {level: cell for (target, level), cell in per_cell.items() if target == name},
                index.mode,
                confidence,
            )
            for name in names
            if name in answered or not any(target == name for target, _ in per_cell)
        ],
        completeness="complete" if complete else "partial",
        failures=failures,
        output_lengths=list(lengths.values()),
    )


def _bands(
    found: dict[MetricName, Estimate], confidence: float
) -> dict[MetricName, tuple[float, float]]:
    """Each metric's interval of the target's own value, for the report's bands."""
    bands = {}
    for metric, estimate in found.items():
        band = value_interval(estimate.runs, confidence)
        if band is not None:
            bands[metric] = band
    return bands


def _read_runs(folder: Path, index: SweepIndex) -> dict[Cell, list[_Run]]:
    """Every indexed run's samples by (target, level), repeats in order; refuses runs of another
    workload than the sweep's (load_sweep refuses runs of targets or levels it does not list)."""
    cells: dict[Cell, list[_Run]] = defaultdict(list)
    foreign = []
    for run in sorted(index.runs, key=lambda r: (r.target, r.level, r.repeat)):
        path = folder / run.folder
        result = load_result(path)
        fingerprint = result.config.workload.fingerprint
        if fingerprint != index.workload_fingerprint:
            foreign.append(f"{path} ({fingerprint})")
            continue
        try:
            records = load_records(path)
        except OSError as exc:
            raise CompareError(
                f"{path / REQUESTS_FILE}: cannot read the run's requests ({exc.strerror}); "
                "rerun that level or remove the run from sweep.json"
            ) from None
        summary = result.summary
        failed = in_window(records, *measurement_window(result, str(path)))
        cells[run.target, run.level].append(
            _Run(
                run,
                run_samples(result, records, str(path)),
                summary,
                failed if summary.target_failed else [],
            )
        )
    if foreign:
        raise CompareError(
            f"runs measured with another workload than the sweep's "
            f"{index.workload_fingerprint} ({folder / 'sweep.json'}): {', '.join(foreign)}; "
            "remove them from the sweep or rerun them with the sweep's workload"
        )
    return cells


def _one_slo_list(cells: dict[Cell, list[_Run]]) -> tuple[str, ...]:
    """The SLOs every run was measured with; goodput is compared only under one list."""
    by_list: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for group in cells.values():
        for run in group:
            by_list[run.samples.slos].append(run.samples.folder)
    if len(by_list) > 1:
        detail = "; ".join(
            f"{','.join(slos) or 'none'}: {', '.join(folders)}" for slos, folders in by_list.items()
        )
        raise CompareError(
            f"the runs were measured with different SLOs ({detail}); goodput compares only "
            "under one list: rerun the odd runs with the same --slo"
        )
    return next(iter(by_list), ())


def _pair(
    a: str,
    b: str,
    index: SweepIndex,
    per_cell: dict[Cell, dict[MetricName, Estimate] | None],
    confidence: float,
    margin: float,
    lengths: LengthDifference | None,
) -> PairComparison:
    levels = []
    for level in index.levels:
        if (a, level) not in per_cell or (b, level) not in per_cell:
            continue
        a_estimates, b_estimates = per_cell[a, level], per_cell[b, level]
        if a_estimates is None or b_estimates is None:
            failed = [name for name in (a, b) if per_cell[name, level] is None]
            levels.append(LevelComparison(level=level, metrics=[], failed=failed))
            continue
        metrics: list[MetricComparison] = []
        for metric in METRICS:
            if metric in a_estimates and metric in b_estimates:
                compared = compare_metric(
                    metric, a, b, a_estimates[metric], b_estimates[metric], confidence, margin
                )
                metrics += [compared] if compared is not None else []
        levels.append(LevelComparison(level=level, metrics=metrics))
    compared_metrics = [m for m in METRICS if any(e and m in e for e in per_cell.values())]
    # Where the pair never both answered there is nothing to cross over.
    answered = any(not level.failed for level in levels)
    return PairComparison(
        a=a,
        b=b,
        levels=levels,
        crossovers=[crossover(m, levels, index.mode) for m in compared_metrics] if answered else [],
        output_lengths=lengths,
    )
