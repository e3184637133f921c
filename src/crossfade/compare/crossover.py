"""Where along the load axis things change (pure): the crossover of a pair on one metric, and the
load at which a target saturates. Rules and thresholds in docs/metrics.md."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from crossfade.bench.sweep_index import LoadMode
from crossfade.compare.model import Crossover, LevelComparison, MetricName, Saturation
from crossfade.compare.model import TargetLevelSummary as Summary
from crossfade.compare.verdicts import level_label

# Saturation: from one level to the next, output-token throughput rose by less than this...
SATURATION_THROUGHPUT_GAIN = 0.10
# ...while TTFT p50 or E2E p50 rose by more than this.
SATURATION_LATENCY_RISE = 0.25


def crossover(metric: MetricName, levels: Sequence[LevelComparison], mode: LoadMode) -> Crossover:
    """The lowest level L such that one target wins `metric` with confidence at L and at every
    measured level above it. None when no target wins at the highest level."""
    ordered = sorted(levels, key=lambda level: level.level)
    winners = [(level.level, _winner(level, metric)) for level in ordered]
    if not winners or winners[-1][1] is None:
        top = f" ({level_label(mode, winners[-1][0])})" if winners else ""
        return Crossover(
            metric=metric,
            winner=None,
            from_level=None,
            note=f"no target is ahead with confidence at the highest level{top}",
        )
    winner = winners[-1][1]
    first = len(winners) - 1
    while first > 0 and winners[first - 1][1] == winner:
        first -= 1
    start = winners[first][0]
    if first == 0:
        note = f"{winner} ahead at every level measured, from {level_label(mode, start)}"
    else:
        below = "; ".join(
            f"{level:g}: {'no significant difference' if w is None else w + ' ahead'}"
            for level, w in winners[:first]
        )
        note = f"{winner} ahead from {level_label(mode, start)} on (below: {below})"
    return Crossover(metric=metric, winner=winner, from_level=start, note=note)


def _winner(level: LevelComparison, metric: MetricName) -> str | None:
    """The target ahead with confidence; None also when the metric was not comparable."""
    return next((m.winner for m in level.metrics if m.metric == metric), None)


def saturation(target: str, summaries: Sequence[Summary], mode: LoadMode) -> Saturation:
    """The lowest level after which more load bought less than SATURATION_THROUGHPUT_GAIN more
    output-token throughput while TTFT p50 or E2E p50 rose by more than SATURATION_LATENCY_RISE
    (point values of consecutive measured levels)."""
    ordered = sorted(summaries, key=lambda summary: summary.level)
    for before, after in pairwise(ordered):
        if before.output_token_throughput <= 0:
            continue
        gain = after.output_token_throughput / before.output_token_throughput - 1
        rises = {
            name: _rise(getattr(before, field), getattr(after, field))
            for name, field in (("TTFT p50", "ttft_ms"), ("E2E p50", "e2e_ms"))
        }
        climbing = {name: rise for name, rise in rises.items() if rise > SATURATION_LATENCY_RISE}
        if gain < SATURATION_THROUGHPUT_GAIN and climbing:
            latency = ", ".join(f"{name} {rise * 100:+.0f}%" for name, rise in climbing.items())
            return Saturation(
                target=target,
                level=before.level,
                note=(
                    f"saturates at {level_label(mode, before.level)}: at {after.level:g}, "
                    f"output tokens/s {gain * 100:+.0f}% while {latency}"
                ),
            )
    if len(ordered) < 2:
        return Saturation(target=target, level=None, note="fewer than two levels measured")
    return Saturation(
        target=target,
        level=None,
        note=f"not saturated up to {level_label(mode, ordered[-1].level)}",
    )


def _rise(before: dict[str, float], after: dict[str, float]) -> float:
    """Relative rise of p50 from `before` to `after`; 0 when either has none or it was 0."""
    if "p50" not in before or "p50" not in after or before["p50"] <= 0:
        return 0.0
    return after["p50"] / before["p50"] - 1
