"""Combine the rules' decision with measured evidence, and lay out the next steps.

Measurement overrides only a speed rule of thumb (a leaf marked `rule_of_thumb`), and only when
real TensorRT-LLM and vLLM were compared at about the stated concurrency with a significant
difference. Operational constraints (no engine pipeline, model churn, a mixed fleet, a
pre-quantized checkpoint) are not speed claims, so a faster engine does not lift them.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from crossfade.advise.evidence import (
    BACKEND_NAMES,
    EMULATED_LABEL,
    Evidence,
    PairEvidence,
    gather_evidence,
)
from crossfade.advise.flow import NODES, RECOMMENDATION_NAMES, Recommendation
from crossfade.advise.rules import Decision, Reason, decide
from crossfade.compare.model import Comparison
from crossfade.spec.models import Deployment, Spec
from crossfade.spec.tensorrtllm import TensorRTLLMEngine


@dataclass(frozen=True)
class Advice:
    recommendation: Recommendation
    rule_recommendation: Recommendation  # what the rules alone say
    overridden: bool  # measured evidence contradicted the rule of thumb, and won
    decided: bool  # False: provisional until the unknowns are stated
    path: list[str]
    reasons: list[Reason]
    unknowns: list[str]
    changes: list[str]
    evidence: Evidence
    next_steps: list[str]


def build_advice(spec: Spec, spec_path: str, comparisons: list[tuple[str, Comparison]]) -> Advice:
    facts = spec.deployment or Deployment()
    decision = decide(facts)
    evidence = gather_evidence(comparisons, facts)
    reasons = list(decision.reasons) + [_pair_reason(pair) for pair in evidence.pairs]
    recommendation, verdict_reason = _weigh(decision, evidence)
    if verdict_reason is not None:
        reasons.append(verdict_reason)
    changes = decision.changes
    if recommendation != decision.recommendation:
        changes = _changes_after_override(decision, recommendation)
    changes = changes + _evidence_changes(decision, evidence, facts)
    return Advice(
        recommendation=recommendation,
        rule_recommendation=decision.recommendation,
        overridden=recommendation != decision.recommendation,
        decided=decision.decided,
        path=decision.path,
        reasons=reasons,
        unknowns=decision.unknowns,
        changes=changes,
        evidence=evidence,
        next_steps=next_steps(
            spec, spec_path, recommendation, decision.unknowns, [s for s, _ in comparisons]
        ),
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
            text += "the engine pipeline pays for itself"
        return rule, Reason(source, text + ".")
    winner = BACKEND_NAMES[verdict]
    ahead = _ahead(counted, verdict)
    if not (decision.decided and decision.rule_of_thumb):
        why = (
            f"rule:{leaf.id} is an operational constraint, not a speed rule of thumb"
            if decision.decided
            else f"the rules wait on {', '.join(decision.unknowns)}"
        )
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
            f"{EMULATED_LABEL}: these figures measure crossfade's engine emulator, so they are "
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


def command(*argv: str) -> str:
    """A crossfade command as it is typed, every argument shell-quoted, in backticks: each one
    shown in the next steps runs as printed."""
    return "`" + shlex.join(["crossfade", *argv]) + "`"


def next_steps(
    spec: Spec,
    spec_path: str,
    recommendation: Recommendation,
    unknowns: list[str],
    results: list[str] | None = None,
) -> list[str]:
    """The migration path: start on vLLM, build the engine, run both, canary, keep vLLM.
    `spec_path` is the spec file and `results` the comparison folders advise was given; every
    command names them."""
    serve = (
        f"{command('render', 'triton', spec_path, '-o', 'model_repos')}, then "
        f"{command('lint', 'model_repos')}"
    )
    if spec.vllm is None:
        serve = f"add a vllm: section to {spec_path}, then {serve}"
    steps = [f"Start on vLLM: {serve}."]
    if unknowns:
        steps.append(
            f"State {', '.join(unknowns)} under deployment: in {spec_path} and run "
            f"{command('advise', spec_path, *(results or []))} again."
        )
    measure = _measure(spec, spec_path)
    if recommendation != "tensorrtllm":
        if recommendation == "either":
            steps.append(
                f"Measure both at your concurrency: {measure}; a significant difference decides."
            )
        steps.append(
            "The rest of the migration path (build the engine, run both, canary, keep vLLM as "
            "the fallback) applies if one of the things that would change the answer changes."
        )
        return steps
    trt = spec.tensorrtllm
    if not isinstance(trt, TensorRTLLMEngine):
        build = f"add a tensorrtllm: section (engine_dir, image) to {spec_path}, then build it"
    else:
        gpu = ["--gpu", spec.gpu] if spec.gpu else []
        where = (
            f"on {spec.gpu}"
            if spec.gpu
            else f"on the serving GPU (state it as gpu: in {spec_path})"
        )
        build = (
            f"{where} in {trt.image}, then stamp and check it: "
            f"{command('engine', 'stamp', trt.engine_dir, *gpu, '--image', trt.image)}; "
            f"{command('engine', 'check', trt.engine_dir, *gpu, '--image', trt.image)}"
        )
    steps += [
        f"Build the engine (one per GPU type and TensorRT-LLM version) {build}.",
        f"Run both side by side on the same workload: {measure}, to check the gain at your "
        "concurrency.",
        f"Canary: send a small share of traffic to TensorRT-LLM ({command('canary', '--help')}), "
        "and shift more only while it holds the latency and error targets.",
        "Keep vLLM deployed as the fallback: one step back if an engine or a rebuild misbehaves.",
    ]
    return steps


def _measure(spec: Spec, spec_path: str) -> str:
    """How to compare the two servers around the stated concurrency, and advise on the result."""
    stated = spec.deployment.expected_concurrency if spec.deployment else None
    levels = sorted({max(1, stated // 2), stated, stated * 2}) if stated else [1, 2, 4, 8, 16, 32]
    load = f"--concurrency {','.join(map(str, levels))} -o sweep"
    return (
        f"compare your TensorRT-LLM and vLLM servers (their URLs, then `{load}`; see "
        f"{command('compare', '--help')}), then {command('advise', spec_path, 'sweep')}"
    )
