"""What both canary drivers share: which backend is which, the serving pods, the gates.

The plan names its backends as the router does (`vllm-triton`, `trtllm-ensemble`); on
Kubernetes they are the spec's two backends, told apart by name (`trt`/`tensorrt` against
`vllm`) unless `--candidate` says which one moves in.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from crossfade.errors import UsageError
from crossfade.render.k8s.canary_exports import side_of
from crossfade.render.k8s.common import (
    NAME_LABEL,
    TP_PP_ANNOTATION,
    Backend,
    Context,
    Manifest,
    app_labels,
    metadata,
    seconds,
)
from crossfade.render.k8s.promql import (
    TRITON_FIRST_RESPONSE,
    Gate,
    Samples,
    Side,
    relative_gates,
    slo_gates,
)
from crossfade.render.k8s.workloads import serving_objects

if TYPE_CHECKING:
    # A type only: render reads the plan model and never runs the canary controller.
    from crossfade.spec.canary_plan import CanaryPlan

Driver = Literal["argo", "flagger"]
Router = Literal["istio", "gateway"]
# The pods of the canaried workload, whatever revision: what its PodMonitor selects.
CANARY_LABEL = "crossfade.io/canary"
# The first-response histogram is off unless asked for (triton_metrics.TRITON_CORE).
HISTOGRAM_FLAG = "--metrics-config=histogram_latencies=true"
_NAMES: dict[Backend, tuple[str, ...]] = {"tensorrtllm": ("trt", "tensorrt"), "vllm": ("vllm",)}


@dataclass(frozen=True)
class ServingPods:
    """One backend's pods as a template for the canaried workload, and what goes with them."""

    config_map: Manifest
    template: dict[str, Any]
    annotations: dict[str, str]
    progress_deadline_s: int


@dataclass(frozen=True)
class PlannedGates:
    """The plan's gates as queries; the plan's gates no metric backs (its key -> why); and
    what the notes say about the rest."""

    gates: list[Gate]
    left_out: dict[str, str]
    notes: list[str]
    sides: dict[Backend, Side]

    def summary(self, incumbent: Backend, candidate: Backend) -> str:
        """One line: the two layouts, the gates rendered and the ones left out."""
        rendered = ", ".join(gate.name for gate in self.gates)
        out = ", ".join(self.left_out) or "none"
        return (
            f"{self.sides[incumbent].layout} (incumbent) -> {self.sides[candidate].layout} "
            f"(candidate); rendered: {rendered}; left out: {out}"
            + (" (the notes say why)" if self.left_out else "")
        )


@dataclass(frozen=True)
class CanarySetup:
    ctx: Context
    plan: CanaryPlan
    candidate: Backend
    incumbent: Backend
    router: Router
    prometheus: str
    gates: list[Gate]
    notes: list[str]
    summary: str = ""

    @property
    def window(self) -> str:
        return window_of(self.plan)

    @property
    def percents(self) -> list[int]:
        return [step for step in self.plan.steps if isinstance(step, int)]

    @property
    def shadow(self) -> bool:
        return "shadow" in self.plan.steps

    @property
    def unclear_budget_s(self) -> float:
        """How long a step may stay unclear from its start before the plan pauses."""
        timing = self.plan.step
        extensions = timing.max_extensions if self.plan.on_unclear == "extend" else 0
        return timing.max_duration_s * (1 + extensions)

    @property
    def replicas(self) -> int:
        """One count for both revisions: the larger, so neither runs short during the canary."""
        return max(self.ctx.pods(self.candidate).replicas, self.ctx.pods(self.incumbent).replicas)

    @property
    def monitor_name(self) -> str:
        return monitor_name(self.ctx)


def window_of(plan: CanaryPlan) -> str:
    """Each query's trailing window: the step's minimum duration, so once a step's pause is
    over the window holds that step's traffic only."""
    return f"{math.ceil(plan.step.min_duration_s)}s"


def monitor_name(ctx: Context) -> str:
    return ctx.object_name("canary")


def resolve_backends(
    ctx: Context, plan: CanaryPlan, candidate: str | None
) -> tuple[Backend, Backend]:
    """(candidate, incumbent) among the spec's backends."""
    if ctx.backends != ["tensorrtllm", "vllm"]:
        raise UsageError(
            "a canary moves traffic between the spec's two backends; the spec has only "
            f"{', '.join(ctx.backends) or 'none'}: add the other section (tensorrtllm or vllm)"
        )
    if candidate is None:
        chosen = _backend_named(plan.candidate, "candidate")
        other = _backend_named(plan.incumbent, "incumbent")
        if chosen == other:
            raise UsageError(
                f"the plan's incumbent '{plan.incumbent}' and candidate '{plan.candidate}' both "
                f"look like {chosen}; pass --candidate tensorrtllm|vllm"
            )
    elif candidate in _NAMES:
        chosen = "tensorrtllm" if candidate == "tensorrtllm" else "vllm"
    else:
        raise UsageError(f"--candidate {candidate}: use tensorrtllm or vllm")
    return chosen, "vllm" if chosen == "tensorrtllm" else "tensorrtllm"


def _backend_named(name: str, role: str) -> Backend:
    lowered = name.lower()
    found: list[Backend] = [b for b, hints in _NAMES.items() if any(h in lowered for h in hints)]
    if len(found) != 1:
        raise UsageError(
            f"the plan's {role} '{name}' does not say which backend it is (tensorrtllm or vllm); "
            "pass --candidate tensorrtllm|vllm"
        )
    return found[0]


def plan_gates(
    ctx: Context, plan: CanaryPlan, candidate: Backend, incumbent: Backend, job: str | None
) -> PlannedGates:
    """The plan's gates as queries on what each side's layout exports, with a note for each
    one no metric can express and for what a rendered gate does not see."""
    sides = {backend: _side(ctx, backend, job) for backend in (candidate, incumbent)}
    window = window_of(plan)
    gates = plan.gates
    samples = Samples(max(plan.step.min_samples, gates.min_samples), gates.min_samples)
    limits = {"ttft": gates.ttft_p95_ratio_max, "error": gates.error_rate_delta_max}
    if gates.itl_p95_ratio_max is not None:
        limits["itl"] = gates.itl_p95_ratio_max
    found, left_out = relative_gates(limits, sides[candidate], sides[incumbent], window, samples)
    if gates.tpot_p95_ratio_max is not None:
        left_out["tpot_p95_ratio_max"] = (
            "TPOT is one value per request and neither backend exports it "
            "(vllm:time_per_output_token_seconds, the ITL gate's series, is observed per token)"
        )
    if gates.length_mismatch_delta_max is not None:
        left_out["length_mismatch_delta_max"] = (
            "no exported metric holds the output length a request asked for (only crossfade's "
            "router sees both)"
        )
    if gates.slo is not None:
        absolute, more = slo_gates(
            gates.slo.ttft_p99_ms, gates.slo.itl_p99_ms, sides[candidate], window, samples
        )
        found, left_out = found + absolute, left_out | more
    notes = [f"gate {key} left out: {why}" for key, why in left_out.items()]
    if gates.rollback_when_ejected:
        notes.append(
            "rollback_when_ejected has no counterpart: no router ejects the candidate here; "
            "failing candidate requests trip error-rate-delta instead"
        )
    notes += _ttft_notes(found, sides[candidate], sides[incumbent])
    notes += [caveat for side in (candidate, incumbent) for caveat in sides[side].caveats]
    return PlannedGates(found, left_out, notes, sides)


def _ttft_notes(gates: list[Gate], candidate: Side, incumbent: Side) -> list[str]:
    if not any(gate.name == "ttft-p95-ratio" for gate in gates):
        return []
    assert candidate.ttft is not None
    assert incumbent.ttft is not None
    note = (
        f"the TTFT ratio sets the candidate's {candidate.ttft.family} ({candidate.layout}) "
        f"against the incumbent's {incumbent.ttft.family} ({incumbent.layout})"
    )
    if TRITON_FIRST_RESPONSE in (candidate.ttft, incumbent.ttft):
        note += (
            f"; {TRITON_FIRST_RESPONSE.family} is Triton's time to the first response of the "
            "entry model (its pods get --metrics-config=histogram_latencies=true), and its p95 "
            "is interpolated in buckets Triton keeps coarse unless config.pbtxt sets "
            "model_metrics buckets"
        )
    return [note]


def _side(ctx: Context, backend: Backend, job: str | None) -> Side:
    labels = {"namespace": ctx.namespace}
    if job is not None:
        labels["job"] = job
    labels["backend"] = backend
    return side_of(ctx, backend, labels)


def serving_pods(ctx: Context, backend: Backend) -> ServingPods:
    """The backend's Deployment template from `crossfade render k8s`, labelled for the canary
    and, for TensorRT-LLM, with the first-response histogram the TTFT gate reads."""
    config_map, deployment = serving_objects(ctx, backend)
    template = copy.deepcopy(deployment["spec"]["template"])
    template["metadata"]["labels"][CANARY_LABEL] = ctx.name
    if backend == "tensorrtllm":
        for container in template["spec"]["containers"]:
            container["args"] = [*container["args"], HISTOGRAM_FLAG]
    annotations = {
        key: value
        for key, value in deployment["metadata"].get("annotations", {}).items()
        if key == TP_PP_ANNOTATION
    }
    deadline = int(deployment["spec"]["progressDeadlineSeconds"])
    return ServingPods(config_map, template, annotations, deadline)


def workload_selector(ctx: Context) -> dict[str, Any]:
    """Matches either backend's pods: a workload's selector cannot change between revisions."""
    return {"matchLabels": {NAME_LABEL: ctx.name}}


def pod_monitor(setup: CanarySetup) -> Manifest | None:
    """Scrapes every pod of the canaried workload (Flagger's `-primary` copy too) under its own
    job, so the queries never count a series twice when another monitor scrapes the pods."""
    settings = setup.ctx.k8s.monitoring
    if settings is None:
        return None
    ctx = setup.ctx
    labels = {**app_labels(ctx), **dict(sorted(settings.labels.items()))}
    endpoint = {"port": "metrics", "path": "/metrics", "interval": seconds(settings.interval_s)}
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": metadata(ctx, setup.monitor_name, labels),
        "spec": {
            "selector": {"matchLabels": {CANARY_LABEL: ctx.name}},
            "podTargetLabels": ["backend"],
            "podMetricsEndpoints": [endpoint],
        },
    }
