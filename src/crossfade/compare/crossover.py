"""Where along the load axis things change (pure): the crossover of a pair on one metric, and the
load at which a target saturates. Rules and thresholds in docs/metrics.md."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise

from crossfade.bench.sweep_index import LoadMode
from crossfade.compare.defaults import DEFAULT_REPEATS, MIN_REPEATS
from crossfade.compare.estimates import METRICS, Estimate
from crossfade.compare.intervals import relative_difference
from crossfade.compare.model import (
    Crossover,
    LevelComparison,
    MetricName,
    RelativeChange,
    Saturation,
)
from crossfade.compare.verdicts import level_label, signed

# Saturation: from one level to the next, output-token throughput rose by less than this...
SATURATION_THROUGHPUT_GAIN = 0.10
# ...while TTFT p50 or E2E p50 rose by more than this.
SATURATION_LATENCY_RISE = 0.25
SATURATION_LATENCIES: tuple[MetricName, ...] = ("ttft_p50", "e2e_p50")

# One target's estimates at each level it was measured at; None where it failed.
LevelEstimates = Mapping[float, Mapping[MetricName, Estimate] | None]


def crossover(metric: MetricName, levels: Sequence[LevelComparison], mode: LoadMode) -> Crossover:
    """The lowest level L such that one target wins `metric` with confidence at L and at every
    measured level above it. None when no target wins at the highest level; a level where a
    target failed has no winner, so no crossover is drawn through it."""
    ordered = sorted(levels, key=lambda level: level.level)
    winners = [(level.level, _winner(level, metric), level.failed) for level in ordered]
    states = {level.level: _outcome(level, metric) for level in ordered}
    if not winners or winners[-1][1] is None:
        if winners and winners[-1][2]:
            failed = " and ".join(winners[-1][2])
            note = f"{failed} failed at the highest level ({level_label(mode, winners[-1][0])})"
        else:
            top = f" ({level_label(mode, winners[-1][0])})" if winners else ""
            note = f"no target is ahead beyond the margin at the highest level{top}"
        return Crossover(metric=metric, winner=None, from_level=None, note=note)
    winner = winners[-1][1]
    first = len(winners) - 1
    while first > 0 and winners[first - 1][1] == winner:
        first -= 1
    start = winners[first][0]
    if first == 0:
        note = f"{winner} ahead at every level measured, from {level_label(mode, start)}"
    else:
        below = "; ".join(
            f"{level:g}: {_state(winner_there, failed, states[level])}"
            for level, winner_there, failed in winners[:first]
        )
        note = f"{winner} ahead from {level_label(mode, start)} on (below: {below})"
    return Crossover(metric=metric, winner=winner, from_level=start, note=note)


def _state(winner: str | None, failed: Sequence[str], outcome: str) -> str:
    if failed:
        return f"{' and '.join(failed)} failed"
    return outcome.replace("_", " ") if winner is None else f"{winner} ahead"


def _winner(level: LevelComparison, metric: MetricName) -> str | None:
    """The target ahead with confidence beyond the margin; None also when the metric was not
    comparable."""
    return next((m.winner for m in level.metrics if m.metric == metric), None)


def _outcome(level: LevelComparison, metric: MetricName) -> str:
    return next((m.outcome for m in level.metrics if m.metric == metric), "not comparable")


def saturation(
    target: str, levels: LevelEstimates, mode: LoadMode, confidence: float
) -> Saturation:
    """The lowest level after which more load bought less than SATURATION_THROUGHPUT_GAIN more
    output-token throughput while TTFT p50 or E2E p50 rose by more than SATURATION_LATENCY_RISE
    (point values of consecutive measured levels, neither failed), and the intervals settle it
    as the margin rule settles a winner: the throughput's change lies wholly below the gain and
    a climbing latency's wholly above the rise. No verdict when a change that qualifies has no
    interval, rests on one repeat, or is not settled."""
    ordered = sorted(levels.items())
    failed = [level for level, estimates in ordered if estimates is None]
    judged = 0
    for (level, before), (next_level, after) in pairwise(ordered):
        if before is None or after is None:
            continue
        judged += 1
        gain = _change(before, after, "output_token_throughput")
        climbing = [
            metric
            for metric in SATURATION_LATENCIES
            if (rise := _change(before, after, metric)) is not None
            and rise > SATURATION_LATENCY_RISE
        ]
        if gain is None or gain >= SATURATION_THROUGHPUT_GAIN or not climbing:
            continue
        changes = _intervals(before, after, ["output_token_throughput", *climbing], confidence)
        where = f"from {level_label(mode, level)} to {next_level:g}"
        if changes is None:
            note = f"no saturation verdict: the change {where} has no confidence interval"
            return Saturation(target=target, level=None, note=note)
        if min(repeats for _, repeats in changes) < MIN_REPEATS:
            note = (
                f"no saturation verdict: the change {where} rests on one repeat "
                f"(--repeat {DEFAULT_REPEATS} or more)"
            )
            return Saturation(target=target, level=None, note=note)
        settled = [change for change, _ in changes]
        gain_change, rises = settled[0], settled[1:]
        if not (
            gain_change.ci_high < SATURATION_THROUGHPUT_GAIN
            and any(rise.ci_low > SATURATION_LATENCY_RISE for rise in rises)
        ):
            note = (
                f"no saturation verdict: the change {where} is not settled by its intervals: "
                + _changes_text(settled, confidence)
            )
            return Saturation(target=target, level=None, note=note, changes=settled)
        return Saturation(
            target=target,
            level=level,
            note=f"saturates at {level_label(mode, level)}: at {next_level:g}, "
            + _changes_text(settled, confidence),
            next_level=next_level,
            changes=settled,
        )
    if len(ordered) < 2:
        return Saturation(target=target, level=None, note="fewer than two levels measured")
    if failed:
        at = ", ".join(f"{level:g}" for level in failed)
        what = (
            "between the levels it answered" if judged else "(no two consecutive levels answered)"
        )
        return Saturation(
            target=target, level=None, note=f"no saturation seen {what}; failed at {at}"
        )
    return Saturation(
        target=target, level=None, note=f"not saturated up to {level_label(mode, ordered[-1][0])}"
    )


def _change(
    before: Mapping[MetricName, Estimate], after: Mapping[MetricName, Estimate], metric: MetricName
) -> float | None:
    """Relative change of the point value; None when either has none or it was 0 before."""
    if metric not in before or metric not in after or before[metric].value <= 0:
        return None
    return after[metric].value / before[metric].value - 1


def _intervals(
    before: Mapping[MetricName, Estimate],
    after: Mapping[MetricName, Estimate],
    metrics: Sequence[MetricName],
    confidence: float,
) -> list[tuple[RelativeChange, int]] | None:
    """Each change with its interval (runs paired by repeat, as between targets) and the
    repeats it rests on; None when one has no interval."""
    changes = []
    for metric in metrics:
        a, b = before[metric], after[metric]
        try:
            d = relative_difference(a.runs, b.runs, confidence)
        except ValueError:
            return None
        change = RelativeChange(metric=metric, change=d.estimate, ci_low=d.low, ci_high=d.high)
        changes.append((change, d.repeats))
    return changes


def _changes_text(changes: Sequence[RelativeChange], confidence: float) -> str:
    """ "output tokens/s +3.0% (99% CI -1.2% to +7.5%) while TTFT p50 +233% (...)"."""
    parts = [
        f"{METRICS[c.metric][2]} {signed(c.change)} "
        f"({confidence * 100:g}% CI {signed(c.ci_low)} to {signed(c.ci_high)})"
        for c in changes
    ]
    return f"{parts[0]} while {', '.join(parts[1:])}"
