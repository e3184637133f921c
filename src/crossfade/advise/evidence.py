"""Measured evidence for advise: which backend is ahead, by how much and with what confidence,
read from the `comparison.json` files `crossfade compare` writes.

A target's backend comes from its URL scheme (trtllm-serve:// is TensorRT-LLM; other openai://
servers are taken as vLLM). Only pairs
of one TensorRT-LLM and one vLLM target are evidence, at the level nearest the stated
concurrency where both answered: a level where either failed (`Comparison.failures`) is never
evidence. An emulated engine is never evidence about TensorRT-LLM: its figures are shown,
labelled, and carry no weight. Loading is the only I/O here; the rest is pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, TypeVar

from crossfade.bench.sweep_index import LoadMode, SweepTarget
from crossfade.bench.targets import engine_of
from crossfade.compare.model import (
    Comparison,
    LevelComparison,
    MetricComparison,
    Outcome,
    PairComparison,
)
from crossfade.compare.verdicts import levels_label
from crossfade.spec.models import Deployment

Backend = Literal["vllm", "tensorrtllm"]
Verdict = Literal["vllm", "tensorrtllm", "mixed", "none"]
KEY_METRICS = ("output_token_throughput", "ttft_p99", "itl_p99")
EMULATED_LABEL = "emulated \u2014 not TensorRT-LLM evidence"
BACKEND_NAMES: dict[Backend, str] = {"vllm": "vLLM", "tensorrtllm": "TensorRT-LLM"}
# Evidence speaks for the load it was measured at: a level more than this factor away from the
# stated concurrency is shown but does not count.
LEVEL_TOLERANCE = 2.0
Level = TypeVar("Level", int, float)


def backend_of(url: str) -> Backend | None:
    return engine_of(url)


@dataclass(frozen=True)
class MetricEvidence:
    metric: str
    unit: str
    better: str  # "higher" or "lower"
    tensorrtllm: float
    vllm: float
    change: float  # TensorRT-LLM relative to vLLM: (trt - vllm) / vllm
    ci_low: float
    ci_high: float
    winner: Backend | None  # ahead beyond the comparison's margin; None: see `outcome`
    outcome: Outcome = "unclear"  # compare's margin rule: ahead, equivalent, unclear, ...


@dataclass(frozen=True)
class TargetCheck:
    """Whether one target met a stated latency target at the chosen level."""

    target: str
    metric: str  # "ttft_p99" or "itl_p99"
    observed_ms: float
    target_ms: float

    @property
    def met(self) -> bool:
        return self.observed_ms < self.target_ms


@dataclass(frozen=True)
class PairEvidence:
    source: str  # the results folder
    tensorrtllm_target: str
    vllm_target: str
    mode: LoadMode
    level: float
    confidence: float
    emulated: bool
    metrics: list[MetricEvidence]
    checks: list[TargetCheck]
    notes: list[str]  # why it does not count, or what to keep in mind
    counts: bool  # real TensorRT-LLM, a concurrency sweep, at about the stated concurrency
    verdict: Verdict

    @property
    def where(self) -> str:
        unit = "concurrency" if self.mode == "concurrency" else "req/s"
        pair = f"{self.tensorrtllm_target} vs {self.vllm_target}"
        return f"{self.source}: {pair} at {unit} {self.level:g}"


@dataclass(frozen=True)
class Evidence:
    pairs: list[PairEvidence]
    skipped: list[str]  # pairs that are not one TensorRT-LLM and one vLLM target, and why
    verdict: Verdict | None  # over the pairs that count; None: none counts


def nearest_level(levels: Iterable[Level], stated: int) -> tuple[Level, bool]:
    """The level nearest the stated concurrency (the higher of two as near), and whether it is
    near enough to count (within LEVEL_TOLERANCE)."""
    chosen = min(levels, key=lambda level: (abs(level - stated), -level))
    return chosen, stated / LEVEL_TOLERANCE <= chosen <= stated * LEVEL_TOLERANCE


def gather_evidence(comparisons: list[tuple[str, Comparison]], facts: Deployment) -> Evidence:
    pairs: list[PairEvidence] = []
    skipped: list[str] = []
    for source, comparison in comparisons:
        targets = {target.name: target for target in comparison.targets}
        for pair in comparison.pairs:
            a, b = targets.get(pair.a), targets.get(pair.b)
            backends = (backend_of(a.url) if a else None, backend_of(b.url) if b else None)
            if a is None or b is None or set(backends) != {"tensorrtllm", "vllm"}:
                skipped.append(f"{source}: {pair.a} vs {pair.b}: not one TensorRT-LLM and one vLLM")
            elif not pair.levels:
                skipped.append(f"{source}: {pair.a} vs {pair.b}: no level measured")
            elif all(level.failed for level in pair.levels):
                failed = "; ".join(_failed_levels(comparison.mode, pair.levels))
                skipped.append(
                    f"{source}: {pair.a} vs {pair.b}: no level where both answered ({failed})"
                )
            else:
                trt, vllm = (a, b) if backends[0] == "tensorrtllm" else (b, a)
                pairs.append(_pair(source, comparison, pair, trt, vllm, facts))
    counted = {p.verdict for p in pairs if p.counts}
    verdict: Verdict | None = None
    if counted:
        winners = counted - {"none"}
        if "mixed" in winners or len(winners) > 1:
            verdict = "mixed"
        else:
            verdict = winners.pop() if winners else "none"
    return Evidence(pairs, skipped, verdict)


def _pair(
    source: str,
    comparison: Comparison,
    pair: PairComparison,
    trt: SweepTarget,
    vllm: SweepTarget,
    facts: Deployment,
) -> PairEvidence:
    stated = facts.expected_concurrency
    notes = [
        f"{text}: no evidence from there" for text in _failed_levels(comparison.mode, pair.levels)
    ]
    levels = [level.level for level in pair.levels if not level.failed]
    if comparison.mode == "concurrency" and stated is not None:
        chosen, near = nearest_level(levels, stated)
        if not near:
            notes.append(
                f"the nearest level measured ({chosen:g}) is far from the stated "
                f"concurrency ({stated}); measure near it for evidence that counts"
            )
    else:
        chosen, near = max(levels), False
        notes.append(
            "levels are request rates; advise matches concurrency"
            if comparison.mode == "rate"
            else "expected_concurrency is not stated: showing the highest level measured"
        )
    emulated = trt.emulated or vllm.emulated
    if emulated:
        notes.insert(0, EMULATED_LABEL)
    names = tuple(f"{t.name} (emulated)" if t.emulated else t.name for t in (trt, vllm))
    level = next(level for level in pair.levels if level.level == chosen)
    metrics = [
        _metric(m, trt_is_a=pair.a == trt.name, names=(trt.name, vllm.name))
        for m in level.metrics
        if m.metric in KEY_METRICS
    ]
    return PairEvidence(
        source=source,
        tensorrtllm_target=names[0],
        vllm_target=names[1],
        mode=comparison.mode,
        level=chosen,
        confidence=comparison.confidence,
        emulated=emulated,
        metrics=metrics,
        checks=_checks(comparison, (trt.name, vllm.name), names, chosen, facts),
        notes=notes,
        counts=near and not emulated,
        verdict=_verdict(metrics),
    )


def _failed_levels(mode: LoadMode, levels: list[LevelComparison]) -> list[str]:
    """ "vllm failed at concurrency 16, 32" per target that failed somewhere."""
    by_target: dict[str, list[float]] = {}
    for level in levels:
        for name in level.failed:
            by_target.setdefault(name, []).append(level.level)
    return [f"{name} failed at {levels_label(mode, at)}" for name, at in by_target.items()]


def _metric(m: MetricComparison, *, trt_is_a: bool, names: tuple[str, str]) -> MetricEvidence:
    if trt_is_a:
        # difference is (vllm - trt) / trt; turn it around (monotone, so the CI bounds swap).
        change, low, high = (_inverse(m.difference), _inverse(m.ci_high), _inverse(m.ci_low))
        trt_value, vllm_value = m.a_value, m.b_value
    else:
        change, low, high = m.difference, m.ci_low, m.ci_high
        trt_value, vllm_value = m.b_value, m.a_value
    winner: Backend | None = None
    if m.significant and m.winner is not None:
        winner = "tensorrtllm" if m.winner == names[0] else "vllm"
    return MetricEvidence(
        m.metric, m.unit, m.better, trt_value, vllm_value, change, low, high, winner, m.outcome
    )


def _inverse(difference: float) -> float:
    return 1.0 / (1.0 + difference) - 1.0 if difference > -1.0 else float("inf")


def _verdict(metrics: list[MetricEvidence]) -> Verdict:
    winners = {m.winner for m in metrics if m.winner is not None}
    if len(winners) > 1:
        return "mixed"
    return winners.pop() if winners else "none"


def _checks(
    comparison: Comparison,
    names: tuple[str, str],
    labels: tuple[str, ...],
    level: float,
    facts: Deployment,
) -> list[TargetCheck]:
    wanted = [("ttft_p99", "ttft_ms", facts.ttft_p99_target_ms)]
    wanted.append(("itl_p99", "itl_ms", facts.itl_p99_target_ms))
    checks: list[TargetCheck] = []
    for name, label in zip(names, labels, strict=True):
        summary = next(
            (s for s in comparison.summaries if s.target == name and s.level == level), None
        )
        for metric, field, target_ms in wanted:
            observed = getattr(summary, field).get("p99") if summary else None
            if target_ms is not None and observed is not None:
                checks.append(TargetCheck(label, metric, observed, target_ms))
    return checks
