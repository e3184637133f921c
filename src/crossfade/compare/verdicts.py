"""From two estimates to a `MetricComparison` and the sentence a person reads (pure)."""

from __future__ import annotations

import math

from crossfade.bench.sweep_index import LoadMode
from crossfade.compare.estimates import METRICS, Estimate
from crossfade.compare.model import Comparison, MetricComparison, MetricName
from crossfade.compare.stats import Difference, relative_difference


def level_label(mode: LoadMode, level: float) -> str:
    return f"concurrency {level:g}" if mode == "concurrency" else f"{level:g} req/s"


def compare_metric(
    metric: MetricName,
    a: str,
    b: str,
    a_estimate: Estimate,
    b_estimate: Estimate,
    confidence: float,
) -> MetricComparison | None:
    """Target `b` against target `a` on `metric`; None when the relative difference is undefined
    (a's value is 0, or no replicate has one)."""
    try:
        difference = relative_difference(
            a_estimate.value,
            b_estimate.value,
            a_estimate.replicates,
            b_estimate.replicates,
            confidence,
        )
    except ValueError:
        return None
    better, unit, _ = METRICS[metric]
    winner = None
    if difference.significant:
        b_ahead = difference.estimate < 0 if better == "lower" else difference.estimate > 0
        winner = b if b_ahead else a
    return MetricComparison(
        metric=metric,
        better=better,
        unit=unit,
        a_value=a_estimate.value,
        b_value=b_estimate.value,
        difference=difference.estimate,
        ci_low=difference.low,
        ci_high=difference.high,
        significant=difference.significant,
        winner=winner,
        verdict=verdict(metric, a, b, difference, winner),
    )


def verdict(metric: MetricName, a: str, b: str, difference: Difference, winner: str | None) -> str:
    """ "TTFT p99: b 18% lower than a (99% CI 11% to 25%)", stated from the winner's side and
    relative to the loser; or "ITL p50: no significant difference (-2%, 99% CI -6% to +3%)",
    with the signs of (b - a) / a."""
    better, _, label = METRICS[metric]
    ci = f"{difference.confidence * 100:g}% CI"
    if winner is None:
        return (
            f"{label}: no significant difference ({_signed(difference.estimate)}, "
            f"{ci} {_signed(difference.low)} to {_signed(difference.high)})"
        )
    estimate, low, high = difference.estimate, difference.low, difference.high
    if winner == a:  # restate as a relative to b: (a - b) / b = 1 / (1 + d) - 1, decreasing in d
        estimate, low, high = _inverse(estimate), _inverse(high), _inverse(low)
    near, far = sorted((abs(low), abs(high)))
    loser = a if winner == b else b
    return (
        f"{label}: {winner} {_percent(abs(estimate))} {better} than {loser} "
        f"({ci} {_percent(near)} to {_percent(far)})"
    )


def _inverse(difference: float) -> float:
    return 1 / (1 + difference) - 1 if difference > -1 else math.inf


def _percent(fraction: float) -> str:
    if math.isinf(fraction):
        return "unbounded"
    digits = 1 if abs(fraction) < 0.1 else 0
    return f"{fraction * 100:.{digits}f}%"


def _signed(fraction: float) -> str:
    return ("+" if fraction > 0 else "") + _percent(fraction)


def verdict_lines(comparison: Comparison) -> list[str]:
    """What a person reads: per pair, every metric at the highest level both targets reached,
    then the crossovers; then where each target saturates."""
    lines: list[str] = []
    if comparison.completeness == "partial":
        lines.append("partial sweep: some targets or levels were not measured")
    for pair in comparison.pairs:
        if not pair.levels:
            lines.append(f"{pair.b} vs {pair.a}: no level measured on both")
            continue
        top = pair.levels[-1]
        lines.append(
            f"{pair.b} vs {pair.a} at {level_label(comparison.mode, top.level)} (highest level):"
        )
        lines += [f"  {metric.verdict}" for metric in top.metrics]
        for crossover in pair.crossovers:
            lines.append(f"  crossover, {METRICS[crossover.metric][2]}: {crossover.note}")
    for saturation in comparison.saturation:
        lines.append(f"saturation, {saturation.target}: {saturation.note}")
    return lines
