"""A projection as advise's evidence: between the rules and a measurement.

A projection (projection.json, `crossfade project`) is AIConfigurator's estimate from kernels
measured on the team's GPUs: better than a rule of thumb about other people's hardware, worse
than a measurement of the team's own deployment. So it may confirm or overrule a speed rule of
thumb, it never lifts an operational constraint, and a measurement of real backends that counts
overrules it. It counts at the projected concurrency nearest the stated one (within the factor
measured evidence is held to) and only for the quantization the facts state, when they state
one. Pure: the file is read by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from crossfade.advise.evidence import BACKEND_NAMES, Verdict, nearest_level
from crossfade.advise.flow import NODES, RECOMMENDATION_NAMES, Recommendation
from crossfade.advise.rules import Decision, Reason, why_no_evidence_moves
from crossfade.project.crossover import CROSSOVER_METRICS, level_leads
from crossfade.project.model import (
    BACKEND_LABELS,
    BackendProjection,
    ProjectedMetric,
    Projection,
)
from crossfade.spec.models import Deployment

DecidedBy = Literal["rules", "projection", "measurement"]
METRIC_NAMES: dict[ProjectedMetric, str] = {
    "output_token_throughput_per_gpu": "output tokens/s per GPU",
    "ttft_ms": "TTFT (ms)",
    "tpot_ms": "TPOT (ms)",
}


@dataclass(frozen=True)
class ProjectedLead:
    metric: ProjectedMetric
    tensorrtllm: float
    vllm: float
    leader: Literal["vllm", "tensorrtllm"] | None  # None: within 2% of each other
    lead: float  # the leader's relative advantage


@dataclass(frozen=True)
class ProjectionEvidence:
    source: str  # projection.json as given
    what: str  # model, GPUs, parallelism, lengths, library and database versions
    concurrency: int | None  # the projected concurrency advise reads; None: none to read
    leads: list[ProjectedLead]
    crossovers: list[str]  # the projection's own crossover notes, "metric: note", one per metric
    notes: list[str]  # why it does not count, or what to keep in mind
    counts: bool
    verdict: Verdict

    @property
    def where(self) -> str:
        at = f" at concurrency {self.concurrency}" if self.concurrency is not None else ""
        return f"{self.source}: projected{at}"


def projection_evidence(
    source: str, projection: Projection, facts: Deployment
) -> ProjectionEvidence:
    inputs = projection.inputs
    trt, vllm = projection.backend("tensorrtllm"), projection.backend("vllm")
    notes: list[str] = []
    if trt is None or vllm is None:
        notes.append("it projects one backend only: nothing to compare")
        return _evidence(source, projection, None, [], notes)
    both = {
        lead.concurrency: lead
        for lead in level_leads("output_token_throughput_per_gpu", trt, vllm)
        if not lead.failed
    }
    if not both:
        notes.append("no concurrency where both backends were projected")
        return _evidence(source, projection, None, [], notes)
    stated = facts.expected_concurrency
    if stated is None:
        chosen, near = max(both), False
        notes.append("expected_concurrency is not stated: showing the highest concurrency")
    else:
        chosen, near = nearest_level(both, stated)
        if not near:
            notes.append(
                f"the nearest concurrency projected ({chosen}) is far from the stated "
                f"concurrency ({stated}); project near it for evidence that counts"
            )
    same_weights = facts.quantization is None or facts.quantization == inputs.quantization
    if not same_weights:
        notes.append(
            f"projected for {inputs.quantization} weights, the facts state "
            f"{facts.quantization}: project that quantization (--quantization)"
        )
    leads = []
    for metric in CROSSOVER_METRICS:
        lead = next(x for x in level_leads(metric, trt, vllm) if x.concurrency == chosen)
        figures = (_figure(trt, chosen, metric), _figure(vllm, chosen, metric))
        leads.append(ProjectedLead(metric, *figures, lead.leader, lead.lead))
    return _evidence(source, projection, chosen, leads, notes, counts=near and same_weights)


def _figure(backend: BackendProjection, level: int, metric: ProjectedMetric) -> float:
    point = backend.point(level)
    value = point.value(metric) if point is not None else None
    assert value is not None  # read only where both backends have figures
    return value


def _evidence(
    source: str,
    projection: Projection,
    concurrency: int | None,
    leads: list[ProjectedLead],
    notes: list[str],
    counts: bool = False,
) -> ProjectionEvidence:
    winners = {lead.leader for lead in leads if lead.leader is not None}
    verdict: Verdict = "mixed" if len(winners) > 1 else (winners.pop() if winners else "none")
    return ProjectionEvidence(
        source=source,
        what=describe(projection),
        concurrency=concurrency,
        leads=leads,
        crossovers=[f"{METRIC_NAMES[c.metric]}: {c.note}" for c in projection.crossovers],
        notes=notes,
        counts=counts,
        verdict=verdict,
    )


def describe(projection: Projection) -> str:
    inputs, library = projection.inputs, projection.library
    sides = ", ".join(
        f"{BACKEND_LABELS[b.backend]} {b.database_version} on {b.gpus} GPU"
        f"{'s' if b.gpus > 1 else ''} (tp {b.tensor_parallel}, pp {b.pipeline_parallel})"
        for b in projection.backends
    )
    return (
        f"{inputs.model} ({inputs.quantization} weights) on {inputs.system}: {sides}; "
        f"{inputs.input_len} tokens in, {inputs.output_len} out; AIConfigurator "
        f"{library.version}, {library.database_mode} databases"
    )


def ahead_text(evidence: ProjectionEvidence, backend: str) -> str:
    return "; ".join(
        f"{METRIC_NAMES[lead.metric]}: TensorRT-LLM {lead.tensorrtllm:.4g} vs vLLM "
        f"{lead.vllm:.4g} ({BACKEND_NAMES[lead.leader]} {lead.lead:.0%} ahead)"
        for lead in evidence.leads
        if lead.leader == backend
    )


def weigh_projection(
    decision: Decision, evidence: ProjectionEvidence
) -> tuple[Recommendation, Reason, DecidedBy]:
    """What a projection that counts does to the rules' answer (no measurement counts)."""
    source = f"projection:{evidence.where}"
    rule = decision.recommendation
    leaf = NODES[decision.path[-1]]
    verdict = evidence.verdict
    if verdict == "mixed":
        text = "the projection is mixed (the backends lead on different metrics); "
        return rule, Reason(source, text + "the rules' answer stands."), "rules"
    why = why_no_evidence_moves(decision)
    if why is not None:
        text = f"projected: {_projected_state(evidence)}, but {why}; the answer stays "
        return rule, Reason(source, text + f"{RECOMMENDATION_NAMES[rule]}."), "rules"
    if verdict == "none":
        text = "projected within 2% of each other on every metric"
        if rule == "either":
            return rule, Reason(source, text + ": the projection agrees, either."), "projection"
        return rule, Reason(source, text + "; the rules' answer stands."), "rules"
    winner = BACKEND_NAMES[verdict]
    ahead = ahead_text(evidence, verdict)
    if verdict == rule:
        text = f"the projection agrees with rule:{leaf.id}: {ahead}."
        return rule, Reason(source, text), "projection"
    text = (
        f"the projection contradicts the rule of thumb: rule:{leaf.id} says '{leaf.text}', "
        f"but {winner} is projected ahead ({ahead}); the recommendation follows the "
        f"projection until a measurement on the team's GPUs: {winner}."
    )
    return verdict, Reason(source, text), "projection"


def _projected_state(evidence: ProjectionEvidence) -> str:
    if evidence.verdict in ("vllm", "tensorrtllm"):
        name = BACKEND_NAMES[evidence.verdict]
        return f"{name} ahead ({ahead_text(evidence, evidence.verdict)})"
    return "the backends within 2% of each other" if evidence.verdict == "none" else "mixed"


def projection_reason(evidence: ProjectionEvidence, measured: bool) -> Reason:
    """The projection as one line of the reasons, whatever it decided."""
    text = f"Projected by AIConfigurator, not measured: {evidence.what}."
    text += "".join(f" Note: {note}." for note in evidence.notes)
    if measured and evidence.counts:
        text += " A measurement of real backends counts here and overrules the projection."
    return Reason(f"projection:{evidence.where}", text)


def projection_changes(evidence: ProjectionEvidence, facts: Deployment) -> list[str]:
    load = facts.expected_concurrency
    at = f"about {load} concurrent requests" if load else "the expected concurrency"
    return [
        f"A measurement of real TensorRT-LLM and vLLM at {at} on the team's GPUs (crossfade "
        "compare) overrules this projection; the report's measured/projected ratios say how "
        "far the projection held."
    ]


def decided_line(
    decided_by: DecidedBy, overridden: bool, projection: ProjectionEvidence | None
) -> str:
    """Which evidence gave the answer, in one line under the recommendation."""
    effect = "overrules" if overridden else "confirms"
    if decided_by == "measurement":
        return f"Decided by: a measurement of real TensorRT-LLM and vLLM ({effect} the rules)."
    if decided_by == "projection":
        assert projection is not None
        return (
            f"Decided by: the projection ({projection.where}; AIConfigurator, projected, not "
            f"measured), which {effect} the rule of thumb: no measurement of real backends "
            "counts here."
        )
    if projection is not None:
        return (
            "Decided by: the rules (neither a measurement of real backends nor the "
            "projection decides here)."
        )
    return "Decided by: the rules (no measurement of real backends counts here)."


def projection_lines(evidence: ProjectionEvidence) -> list[str]:
    state = "counts as evidence" if evidence.counts else "does not count"
    lines = [f"{evidence.where} ({state}{''.join(f'; {n}' for n in evidence.notes)})"]
    lines.append(evidence.what)
    lines += [f"crossover, {note}" for note in evidence.crossovers]
    return lines


PROJECTION_COLUMNS = ("metric", "TensorRT-LLM (projected)", "vLLM (projected)", "ahead")


def projection_table(evidence: ProjectionEvidence) -> list[tuple[str, ...]]:
    """The projected figures at the concurrency advise reads, with a header row."""
    if not evidence.leads:
        return []
    rows = [
        (
            METRIC_NAMES[lead.metric],
            f"{lead.tensorrtllm:.4g}",
            f"{lead.vllm:.4g}",
            f"{BACKEND_NAMES[lead.leader]} by {lead.lead:.0%}"
            if lead.leader
            else "even (within 2%)",
        )
        for lead in evidence.leads
    ]
    return [PROJECTION_COLUMNS, *rows]
