"""Combine the rules' decision with measured evidence, and lay out the next steps.

Measurement overrides only a speed rule of thumb (a leaf marked `rule_of_thumb`), and only when
real TensorRT-LLM and vLLM were compared at about the stated concurrency with a significant
difference. Operational constraints (which backend supports the model or reads its checkpoint,
engines that have to go) are not speed claims, so a faster backend does not lift them.

The spec speaks for the team too: a tensorrtllm: section with the engine layout (a real engine,
not the lab's emulator) is a team that serves engines today.
"""

from __future__ import annotations

from dataclasses import dataclass

from crossfade.advise.evidence import (
    BACKEND_NAMES,
    EMULATED_LABEL,
    Evidence,
    PairEvidence,
    gather_evidence,
)
from crossfade.advise.flow import NODES, RECOMMENDATION_NAMES, Recommendation
from crossfade.advise.matrix import ROWS, MatrixRow
from crossfade.advise.projection import (
    DecidedBy,
    ProjectionEvidence,
    projection_changes,
    projection_evidence,
    projection_reason,
    weigh_projection,
)
from crossfade.advise.rules import Decision, Reason, decide, why_no_evidence_moves
from crossfade.advise.steps import next_steps
from crossfade.compare.model import Comparison
from crossfade.project.model import Projection
from crossfade.spec.models import Deployment, Spec
from crossfade.spec.tensorrtllm import TensorRTLLMEngine


@dataclass(frozen=True)
class Advice:
    recommendation: Recommendation
    rule_recommendation: Recommendation  # what the rules alone say
    overridden: bool  # measured or projected evidence contradicted the rule of thumb, and won
    decided: bool  # False: provisional until the unknowns are stated
    path: list[str]
    leaf: str | None  # the leaf the rules' answer rests on (see rules.Decision)
    reasons: list[Reason]
    unknowns: list[str]
    changes: list[str]
    evidence: Evidence
    next_steps: list[str]
    matrix: list[MatrixRow]  # the seed article's matrix rows today's TensorRT-LLM changed
    projection: ProjectionEvidence | None = None  # a projection, when one was given
    decided_by: DecidedBy = "rules"  # which evidence gave the answer


def facts_of(spec: Spec) -> tuple[Deployment, Reason | None]:
    """The spec's deployment facts, with what its tensorrtllm: section says about engines: an
    engine layout is a team that serves engines today, whatever the facts say."""
    facts = spec.deployment or Deployment()
    trt = spec.tensorrtllm
    if not isinstance(trt, TensorRTLLMEngine) or trt.emulator is not None:
        return facts, None
    reason = Reason(
        "spec:tensorrtllm",
        f"The tensorrtllm: section has the engine layout (engine_dir {trt.engine_dir}): the "
        "team serves TensorRT-LLM engines, the legacy ensemble, today.",
    )
    return facts.model_copy(update={"tensorrtllm_runs_engines": True}), reason


def build_advice(
    spec: Spec,
    spec_path: str,
    comparisons: list[tuple[str, Comparison]],
    projection: tuple[str, Projection] | None = None,
) -> Advice:
    """`projection`: (where it was read, the projection), evidence between rules and a
    measurement (see projection.py)."""
    facts, from_spec = facts_of(spec)
    decision = decide(facts)
    evidence = gather_evidence(comparisons, facts)
    projected = projection_evidence(*projection, facts) if projection is not None else None
    measured = any(pair.counts for pair in evidence.pairs)
    reasons = [from_spec] if from_spec is not None else []
    reasons += decision.reasons + [_pair_reason(pair) for pair in evidence.pairs]
    if projected is not None:
        reasons.append(projection_reason(projected, measured))
    recommendation, verdict_reason = _weigh(decision, evidence)
    decided_by: DecidedBy = "rules"
    if verdict_reason is not None:
        reasons.append(verdict_reason)
        if evidence.verdict in ("vllm", "tensorrtllm") and decision.decided:
            decided_by = "measurement" if decision.rule_of_thumb else "rules"
    elif projected is not None and projected.counts and not measured:
        recommendation, projected_reason, decided_by = weigh_projection(decision, projected)
        reasons.append(projected_reason)
    changes = decision.changes
    if recommendation != decision.recommendation:
        changes = _changes_after_override(decision, recommendation)
    if decided_by == "projection" and projected is not None:
        changes = changes + projection_changes(projected, facts)
    else:
        changes = changes + _evidence_changes(decision, evidence, facts)
    return Advice(
        recommendation=recommendation,
        rule_recommendation=decision.recommendation,
        overridden=recommendation != decision.recommendation,
        decided=decision.decided,
        path=decision.path,
        leaf=decision.leaf,
        reasons=reasons,
        unknowns=decision.unknowns,
        changes=changes,
        evidence=evidence,
        next_steps=next_steps(
            spec,
            spec_path,
            decision.path,
            recommendation,
            decision.unknowns,
            [source for source, _ in comparisons],
        ),
        matrix=list(ROWS),
        projection=projected,
        decided_by=decided_by,
    )


def _weigh(decision: Decision, evidence: Evidence) -> tuple[Recommendation, Reason | None]:
    counted = [pair for pair in evidence.pairs if pair.counts]
    if not counted or evidence.verdict is None:
        return decision.recommendation, None
    source = "measurement:" + "; ".join(pair.where for pair in counted)
    rule = decision.recommendation
    leaf = NODES[decision.path[-1]]
    verdict = evidence.verdict
    if verdict == "mixed":
        text = "measured evidence is mixed (the backends lead on different metrics or runs); "
        return rule, Reason(source, text + "the rules' answer stands.")
    if verdict == "none":
        text = f"no significant difference measured on {', '.join(_metric_names(counted))}"
        if decision.rule_of_thumb and rule == "tensorrtllm":
            text += "; the rule of thumb expects TensorRT-LLM ahead here, so weigh whether "
            text += "a second backend pays for itself"
        return rule, Reason(source, text + ".")
    winner = BACKEND_NAMES[verdict]
    ahead = _ahead(counted, verdict)
    why = why_no_evidence_moves(decision)
    if why is not None:
        text = f"measured: {winner} ahead ({ahead}), but {why}; the answer stays "
        return rule, Reason(source, text + f"{RECOMMENDATION_NAMES[rule]}.")
    if verdict == rule:
        return rule, Reason(source, f"measured evidence agrees with rule:{leaf.id}: {ahead}.")
    text = (
        f"measured evidence contradicts the rule of thumb: rule:{leaf.id} says "
        f"'{leaf.text}', but {winner} is ahead ({ahead}); the recommendation follows the "
        f"evidence: {winner}."
    )
    return verdict, Reason(source, text)


def _ahead(pairs: list[PairEvidence], backend: str) -> str:
    parts = [
        f"{m.metric}: TensorRT-LLM {m.change:+.1%} vs vLLM at {pair.level:g} "
        f"({pair.confidence:.0%} CI {m.ci_low:+.1%} to {m.ci_high:+.1%})"
        for pair in pairs
        for m in pair.metrics
        if m.winner == backend
    ]
    return "; ".join(parts)


def _metric_names(pairs: list[PairEvidence]) -> list[str]:
    return sorted({m.metric for pair in pairs for m in pair.metrics})


def _pair_reason(pair: PairEvidence) -> Reason:
    if pair.emulated:
        text = (
            f"{EMULATED_LABEL}: these figures measure a crossfade emulator, so they are "
            "shown but carry no weight."
        )
    else:
        leads = [f"{m.metric} ({BACKEND_NAMES[m.winner]})" for m in pair.metrics if m.winner]
        text = f"ahead with confidence: {', '.join(leads)}." if leads else ""
        text = text or "no significant difference on the key metrics."
        text += "".join(f" Note: {note}." for note in pair.notes)
    for check in pair.checks:
        state = "meets" if check.met else "misses"
        text += (
            f" {check.target} {state} the {check.metric} target of {check.target_ms:g} ms "
            f"({check.observed_ms:.4g} ms)."
        )
    return Reason(f"measurement:{pair.where}", text.strip())


def _changes_after_override(decision: Decision, measured: Recommendation) -> list[str]:
    """Measured evidence answered instead of a rule of thumb. Another answer changes that only
    if it ends at an operational constraint, or if it changes what was measured (the load, the
    weights): any other speed rule of thumb would be overridden by the same evidence."""
    changes = []
    for alternative in decision.alternatives:
        if set(alternative.outcomes) == {measured}:
            continue
        if NODES[alternative.node].conditions_measurement:
            changes.append(
                f"{alternative.text[:-1]}; the measurement may not carry over to that case."
            )
        elif any(not NODES[leaf].rule_of_thumb for leaf in alternative.leaves):
            changes.append(alternative.text)
    return changes


def _evidence_changes(decision: Decision, evidence: Evidence, facts: Deployment) -> list[str]:
    if not (decision.decided and decision.rule_of_thumb):
        return []
    if evidence.verdict is None:
        load = facts.expected_concurrency
        at = f"about {load} concurrent requests" if load else "the expected concurrency"
        return [
            f"Measured evidence: real TensorRT-LLM and vLLM compared at {at} (crossfade "
            "compare) would confirm this rule of thumb or override it."
        ]
    if evidence.verdict in ("vllm", "tensorrtllm"):
        return [
            "Measured evidence decides here: a re-measurement (new versions, a new workload) "
            "with a different significant winner would change the answer."
        ]
    return ["A measurement with one clear, significant winner would settle the answer."]
