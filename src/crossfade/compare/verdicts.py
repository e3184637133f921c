"""From two estimates to a `MetricComparison` and the sentence a person reads (pure)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from crossfade.bench.sweep_index import LoadMode
from crossfade.compare.defaults import DEFAULT_REPEATS, MIN_REPEATS
from crossfade.compare.estimates import METRICS, MIN_P99_VALUES, MIN_REQUESTS, Estimate
from crossfade.compare.failures import failure_text, pool_failures
from crossfade.compare.intervals import (
    MOST_REPEATS_SUGGESTED,
    Difference,
    relative_difference,
    repeats_needed,
)
from crossfade.compare.model import (
    Comparison,
    LevelFailure,
    MetricComparison,
    MetricName,
    Outcome,
)

# An outcome in a few words, where a table or a list names it without the figures.
OUTCOME_WORDS: dict[Outcome, str] = {
    "ahead": "ahead",
    "equivalent": "equivalent",
    "unclear": "no significant difference",
    "too_little_data": "too little data",
}


def level_label(mode: LoadMode, level: float) -> str:
    return levels_label(mode, [level])


def levels_label(mode: LoadMode, levels: Sequence[float]) -> str:
    """ "concurrency 1, 2, 4" or "1, 2.5 req/s"."""
    joined = ", ".join(f"{level:g}" for level in levels)
    return f"concurrency {joined}" if mode == "concurrency" else f"{joined} req/s"


def compare_metric(
    metric: MetricName,
    a: str,
    b: str,
    a_estimate: Estimate,
    b_estimate: Estimate,
    confidence: float,
    margin: float,
) -> MetricComparison | None:
    """Target `b` against target `a` on `metric`; None when the relative difference is undefined
    (a value is 0, or no repeat has both)."""
    try:
        difference = relative_difference(a_estimate.runs, b_estimate.runs, confidence)
    except ValueError:
        return None
    better, unit, _ = METRICS[metric]
    shortage = too_little_data(
        metric, difference.repeats, min(a_estimate.fewest, b_estimate.fewest)
    )
    found: Outcome = "too_little_data" if shortage else outcome(difference, margin)
    winner = None
    if found == "ahead":
        b_ahead = difference.estimate < 0 if better == "lower" else difference.estimate > 0
        winner = b if b_ahead else a
    advice = shortage
    if found == "unclear":
        advice = _more_repeats(difference, margin)
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
        outcome=found,
        winner=winner,
        repeats=difference.repeats,
        advice=advice,
        verdict=verdict(metric, a, b, difference, winner, found, margin, advice),
    )


def outcome(difference: Difference, margin: float) -> Outcome:
    """The practical-equivalence rule: the interval wholly beyond ±margin has a winner, wholly
    inside it is equivalent, and across an edge of it is unclear."""
    if difference.low > margin or difference.high < -margin:
        return "ahead"
    if difference.low >= -margin and difference.high <= margin:
        return "equivalent"
    return "unclear"


def too_little_data(metric: MetricName, repeats: int, fewest_requests: int) -> str | None:
    """Why a difference from `repeats` pairs of runs, each of at least `fewest_requests`
    measured requests, is not judged, and the fix; None when it is enough."""
    needed = MIN_P99_VALUES if metric in ("ttft_p99", "e2e_p99") else MIN_REQUESTS
    if fewest_requests < needed:
        return (
            f"{fewest_requests} requests in a run; {METRICS[metric][2]} needs {needed} or more "
            f"(--requests {needed})"
        )
    if repeats < MIN_REPEATS:
        return f"{repeats} repeat: how runs differ is unknown; --repeat {DEFAULT_REPEATS} or more"
    return None


def _more_repeats(difference: Difference, margin: float) -> str | None:
    """How many repeats would make the interval narrow enough to settle the margin rule (half
    the margin on each side), at the spread these repeats showed."""
    if margin <= 0:
        return None
    needed = repeats_needed(difference.spread, margin / 2, difference.confidence)
    if needed is None:
        return (
            f"runs this far apart would need more than {MOST_REPEATS_SUGGESTED} repeats: "
            "measure more requests per run (--requests)"
        )
    if needed <= difference.repeats:
        return None  # the difference itself sits near the margin's edge
    return (
        f"about {needed} repeats would settle it at ±{_percent(margin)} (--repeat {needed}), "
        "or more requests per run"
    )


def verdict(
    metric: MetricName,
    a: str,
    b: str,
    difference: Difference,
    winner: str | None,
    found: Outcome,
    margin: float,
    advice: str | None = None,
) -> str:
    """ "TTFT p99: b 18% lower than a (99% CI 11% to 25%)", stated from the winner's side and
    relative to the loser; or "ITL p50: equivalent within ±5% (-0.2%, 99% CI -1.6% to +1.3%)",
    "no significant difference beyond ±5% (...)" or "too little data (...)", with the signs of
    (b - a) / a."""
    better, _, label = METRICS[metric]
    ci = f"{difference.confidence * 100:g}% CI"
    figures = (
        f"{signed(difference.estimate)}, {ci} {signed(difference.low)} to {signed(difference.high)}"
    )
    if found == "too_little_data":
        return f"{label}: too little data to judge ({advice})"
    if winner is None:
        within = f"±{_percent(margin)}" if margin > 0 else ""
        said = {
            "equivalent": f"equivalent within {within}",
            "unclear": "no significant difference" + (f" beyond {within}" if within else ""),
        }[found]
        more = f"; {advice}" if advice else ""
        return f"{label}: {said} ({figures}){more}"
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


def signed(fraction: float) -> str:
    return ("+" if fraction > 0 else "") + _percent(fraction)


def verdict_lines(comparison: Comparison) -> list[str]:
    """What a person reads: the targets that failed (a target that failed everywhere in one
    line, and nothing else about it); per pair, whether they did unequal work (their output
    lengths), every metric at the highest level both targets answered, then the crossovers;
    then where each target saturates."""
    lines: list[str] = []
    if comparison.completeness == "partial":
        lines.append("partial sweep: some targets or levels were not measured")
    gone = {t.name for t in comparison.targets if comparison.failed_everywhere(t.name)}
    mode = comparison.mode
    for target in comparison.targets:
        failures = [f for f in comparison.failures if f.target == target.name]
        if target.name in gone:
            pooled = _pooled(mode, failures)
            lines.append(f"{target.name}: failed at every level measured ({pooled}); no verdict")
            continue
        lines += [
            f"{f.target} at {level_label(mode, f.level)}: failed ({failure_text(f)}); no verdict"
            for f in failures
        ]
    for pair in comparison.pairs:
        if gone & {pair.a, pair.b}:
            continue
        answered = [level for level in pair.levels if not level.failed]
        if not answered:
            where = "answered" if pair.levels else "measured"
            lines.append(f"{pair.b} vs {pair.a}: no level {where} on both")
            continue
        top = answered[-1]
        highest = "highest level" if top is pair.levels[-1] else "highest level both answered"
        lines.append(f"{pair.b} vs {pair.a} at {level_label(mode, top.level)} ({highest}):")
        if pair.output_lengths is not None:  # before the verdicts it qualifies
            lines.append(f"  {pair.output_lengths.note}")
        lines += [f"  {metric.verdict}" for metric in top.metrics]
        if pair.levels[-1].failed and pair.crossovers:
            # The same for every metric: say it once.
            lines.append(f"  no crossover: {pair.crossovers[0].note}")
            continue
        for crossover in pair.crossovers:
            lines.append(f"  crossover, {METRICS[crossover.metric][2]}: {crossover.note}")
    for saturation in comparison.saturation:
        if saturation.target not in gone:
            lines.append(f"saturation, {saturation.target}: {saturation.note}")
    return lines


def _pooled(mode: LoadMode, failures: list[LevelFailure]) -> str:
    """The failures of one target at every level as one: levels, counts, first errors."""
    levels = levels_label(mode, [f.level for f in failures])
    return f"{levels}: {failure_text(pool_failures(failures))}"
