"""Confidence intervals over repeats: the one place an interval of a compared figure is made
(docs/metrics.md, "Comparison statistics"). Pure.

A run's bootstrap (`stats`) sees only the variation of requests inside that run. What a run
shares with every request in it (the machine's load then, a warm cache, a neighbour) moves the
whole run, so runs of one target differ by more than their bootstraps say. The interval is
therefore built from the repeats, on the log scale:

- each repeat k gives one value per side (a pair of runs of one sweep repetition, in which the
  targets ran back to back) and so one log ratio d_k = log(b_k / a_k);
- the variance of one repeat's d_k is estimated by the spread of the d_k (R - 1 degrees of
  freedom), and never taken below what the runs' own bootstraps give (their mean variance of
  d_k), since a run-to-run spread cannot be smaller than the noise inside the runs;
- the difference is the mean of the d_k (the geometric mean of the ratios), and its interval
  that mean ± t(R - 1) * sqrt(variance / R), the t quantile carrying the uncertainty of a
  variance estimated from R values: with 2 repeats it is 12.7 (at 0.95) or 63.7 (at 0.99)
  standard errors wide on each side, honestly. Not log(b / a) of the pooled values: a pooled
  p99 is mostly the worst run's, so one run's burst moves it by more than the spread of the
  d_k says, and the interval would miss (A/A at 5 repeats: 3.9% significant at 0.99).

With one repeat nothing says how runs differ: the interval is the bootstrap's alone (normal
quantile) and `repeats` says so; verdicts then rank nothing (`verdicts`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# The most repeats a suggestion names: beyond this, more repeats is not the answer.
MOST_REPEATS_SUGGESTED = 30


@dataclass(frozen=True)
class RunValue:
    """One run's point value of a figure, and the bootstrap variance of its log within the
    run (NaN: the bootstrap gave none)."""

    repeat: int
    value: float
    log_variance: float


@dataclass(frozen=True)
class Difference:
    """(b - a) / a with its interval at `confidence`, from `repeats` pairs of runs;
    `spread` is the standard deviation of one repeat's log ratio (what more repeats divide)."""

    estimate: float
    low: float
    high: float
    confidence: float
    repeats: int
    spread: float

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0


def relative_difference(
    a_runs: Sequence[RunValue], b_runs: Sequence[RunValue], confidence: float
) -> Difference:
    """(b - a) / a over the runs paired by repeat (the geometric mean of the repeats' ratios),
    with its interval. Raises ValueError when no repeat has a positive value on both sides."""
    _check(confidence)
    b_by_repeat = {run.repeat: run for run in b_runs if _positive(run.value)}
    pairs = [(a, b_by_repeat[a.repeat]) for a in a_runs if a.repeat in b_by_repeat]
    pairs = [(a, b) for a, b in pairs if _positive(a.value)]
    if not pairs:
        raise ValueError("no repeat has a value on both sides")
    ratios = [math.log(b.value / a.value) for a, b in pairs]
    within = [a.log_variance + b.log_variance for a, b in pairs]
    centre, low, high, spread = log_interval(ratios, within, confidence)
    return Difference(
        math.expm1(centre),
        math.expm1(low),
        math.expm1(high),
        confidence,
        len(pairs),
        spread,
    )


def value_interval(runs: Sequence[RunValue], confidence: float) -> tuple[float, float] | None:
    """The interval of one target's value over its runs (the report's bands), around the
    geometric mean of the runs; None when the runs give none."""
    _check(confidence)
    usable = [run for run in runs if _positive(run.value)]
    if not usable:
        return None
    logs = [math.log(run.value) for run in usable]
    _, low, high, _ = log_interval(logs, [run.log_variance for run in usable], confidence)
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    return math.exp(low), math.exp(high)


def log_interval(
    per_repeat: Sequence[float], within: Sequence[float], confidence: float
) -> tuple[float, float, float, float]:
    """The mean of `per_repeat`, its interval (mean ± quantile * standard error), and the
    per-repeat standard deviation used. See the module docstring; NaN bounds when there is no
    variance at all."""
    repeats = len(per_repeat)
    centre = sum(per_repeat) / repeats
    known = [v for v in within if math.isfinite(v)]
    within_variance = sum(known) / len(known) if known else math.nan
    if repeats >= 2:
        mean = sum(per_repeat) / repeats
        between = sum((x - mean) ** 2 for x in per_repeat) / (repeats - 1)
        variance = between if math.isnan(within_variance) else max(between, within_variance)
        quantile = t_quantile((1 + confidence) / 2, repeats - 1)
    else:
        variance = within_variance
        quantile = normal_quantile((1 + confidence) / 2)
    spread = math.sqrt(variance) if math.isfinite(variance) else math.nan
    half = quantile * spread / math.sqrt(repeats)
    return centre, centre - half, centre + half, spread


def repeats_needed(spread: float, half_width: float, confidence: float) -> int | None:
    """The fewest repeats (at least 2) whose interval, for a repeat-to-repeat standard deviation
    `spread` of the log ratio, is at most `half_width` on each side; None beyond
    MOST_REPEATS_SUGGESTED or without a spread."""
    if not (math.isfinite(spread) and half_width > 0):
        return None
    for repeats in range(2, MOST_REPEATS_SUGGESTED + 1):
        quantile = t_quantile((1 + confidence) / 2, repeats - 1)
        if quantile * spread / math.sqrt(repeats) <= math.log1p(half_width):
            return repeats
    return None


def t_quantile(p: float, dof: int) -> float:
    """The p quantile (p > 0.5) of Student's t with `dof` degrees of freedom, by bisection
    on its distribution function."""
    low, high = 0.0, 1.0
    while _t_cdf(high, dof) < p:
        low, high = high, high * 2
    for _ in range(200):
        middle = (low + high) / 2
        if _t_cdf(middle, dof) < p:
            low = middle
        else:
            high = middle
        if high - low < 1e-12 * high:
            break
    return (low + high) / 2


def normal_quantile(p: float) -> float:
    """The p quantile (p > 0.5) of the standard normal, by bisection on erf."""
    low, high = 0.0, 40.0
    for _ in range(200):
        middle = (low + high) / 2
        if 0.5 * (1 + math.erf(middle / math.sqrt(2))) < p:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _t_cdf(x: float, dof: int) -> float:
    """P(T <= x) for x >= 0 and whole `dof` >= 1: the closed forms of P(|T| < x) as finite
    sums in cos(theta), theta = atan(x / sqrt(dof)) (one for odd, one for even dof)."""
    theta = math.atan(x / math.sqrt(dof))
    cos2 = math.cos(theta) ** 2
    term, total = 1.0, 1.0
    if dof % 2 == 0:
        for k in range(2, dof, 2):  # 1 + cos²/2 + 1·3/(2·4) cos⁴ + ...
            term *= cos2 * (k - 1) / k
            total += term
        inside = math.sin(theta) * total
    else:
        if dof > 1:
            for k in range(3, dof, 2):  # 1 + 2/3 cos² + 2·4/(3·5) cos⁴ + ...
                term *= cos2 * (k - 1) / k
                total += term
            inside = 2 / math.pi * (theta + math.sin(theta) * math.cos(theta) * total)
        else:
            inside = 2 / math.pi * theta
    return 0.5 + inside / 2


def _positive(value: float) -> bool:
    return math.isfinite(value) and value > 0


def _check(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence {confidence} is outside (0, 1)")
