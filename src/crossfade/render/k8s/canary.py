"""`crossfade render canary`: the canary plan as Argo Rollouts or Flagger objects.

The plan's steps become traffic weights and its gates Prometheus queries on the metrics Triton
and its backends export (`promql`); `canary_argo` and `canary_flagger` say why each controller
gets the shape it gets. Both run the two backends as revisions of one workload, so the files
come in two parts: the top level moves traffic to the candidate, `incumbent/` starts the
workload on the incumbent when it does not exist yet (`kubectl apply -f DIR` skips folders).
What a gate cannot express is written into the files and returned as notes.
"""

from __future__ import annotations

import dataclasses
import textwrap
from typing import TYPE_CHECKING

from crossfade.errors import UsageError
from crossfade.render.k8s.canary_argo import argo_objects, rollout
from crossfade.render.k8s.canary_base import (
    CanarySetup,
    Driver,
    Router,
    monitor_name,
    plan_gates,
    pod_monitor,
    resolve_backends,
    serving_pods,
)
from crossfade.render.k8s.canary_flagger import deployment, flagger_objects, threshold
from crossfade.render.k8s.common import Context, Manifest
from crossfade.render.k8s.traffic import shared_request_problem
from crossfade.render.k8s.yamlout import dump_documents
from crossfade.render.tree import RenderedTree
from crossfade.spec.models import Spec

if TYPE_CHECKING:
    from crossfade.spec.canary_plan import CanaryPlan

DEFAULT_PROMETHEUS = "http://prometheus-operated.monitoring.svc.cluster.local:9090"
INCUMBENT_FOLDER = "incumbent"
WORKLOAD_KIND: dict[Driver, str] = {"argo": "Rollout", "flagger": "Deployment"}
ANALYSIS_KIND: dict[Driver, str] = {"argo": "AnalysisTemplate", "flagger": "MetricTemplate"}
_MIN_SCRAPES = 4  # rate() over fewer scrapes than this swings with every scrape


def build_setup(
    spec: Spec,
    plan: CanaryPlan,
    router: Router | None = None,
    candidate: str | None = None,
    prometheus: str = DEFAULT_PROMETHEUS,
) -> CanarySetup:
    ctx = Context.of(spec)
    chosen, incumbent = resolve_backends(ctx, plan, candidate)
    # Both revisions sit behind one address, as a traffic split's sides do.
    problem = shared_request_problem(ctx, one_backend=None)
    if problem is not None:
        raise UsageError(f"a canary sends each request to either backend, but {problem}")
    traffic = ctx.k8s.traffic
    if router is None:
        router = "gateway" if traffic is not None and traffic.router == "gateway-api" else "istio"
    if router == "gateway" and (traffic is None or traffic.gateway is None):
        raise UsageError(
            "--router gateway attaches an HTTPRoute to a Gateway: set kubernetes.traffic.gateway "
            "in the spec (or use --router istio)"
        )
    monitored = ctx.k8s.monitoring is not None
    # The Prometheus Operator names a PodMonitor's job <namespace>/<name>.
    job = f"{ctx.namespace}/{monitor_name(ctx)}" if monitored else None
    planned = plan_gates(ctx, plan, chosen, incumbent, job)
    setup = CanarySetup(
        ctx,
        plan,
        chosen,
        incumbent,
        router,
        prometheus,
        planned.gates,
        planned.notes,
        planned.summary(incumbent, chosen),
    )
    return dataclasses.replace(setup, notes=planned.notes + _notes(setup))


def _notes(setup: CanarySetup) -> list[str]:
    ctx, notes = setup.ctx, []
    settings = ctx.k8s.monitoring
    if settings is None:
        notes.append(
            "kubernetes.monitoring is null, so no PodMonitor: the queries read series labelled "
            "namespace and backend (the pods' label); your own scrape must keep both"
        )
    elif setup.plan.step.min_duration_s < _MIN_SCRAPES * settings.interval_s:
        notes.append(
            f"the query window ({setup.window}) holds fewer than {_MIN_SCRAPES} scrapes (every "
            f"{settings.interval_s}s): raise step.min_duration_s or monitoring.interval_s"
        )
    counts = {b: ctx.pods(b).replicas for b in (setup.incumbent, setup.candidate)}
    if len(set(counts.values())) > 1:
        notes.append(
            f"both revisions run {setup.replicas} replica(s), the larger of "
            + " and ".join(f"{b}'s {n}" for b, n in counts.items())
        )
    return notes


def driver_notes(setup: CanarySetup, driver: Driver) -> list[str]:
    plan = setup.plan
    if driver == "argo":
        absolute = [gate.name for gate in setup.gates if not gate.relative]
        if 100 not in plan.steps:
            return []
        # crossfade's router mirrors to the incumbent at 100%; Argo mirrors to the canary only.
        idle = "the incumbent gets no copies to compare with"
        if absolute:
            return [f"the 100% step checks {', '.join(absolute)} only: {idle}"]
        return [f"the 100% step has no analysis: {idle}, and the plan sets no slo"]
    notes = [
        f"Flagger counts a check without enough samples as failed: {threshold(setup)} failed "
        "checks over the whole analysis roll back, so an unclear step rolls back instead of "
        f"pausing (plan on_unclear: {plan.on_unclear})",
        f"Flagger generates the Services {setup.ctx.name}, -canary and -primary and the "
        + ("VirtualService" if setup.router == "istio" else "HTTPRoute")
        + f" {setup.ctx.name}: delete those `crossfade render k8s` wrote under the same names",
    ]
    if 100 in plan.steps:
        notes.append("the 100% step is Flagger's promotion, with no analysis of its own")
    return notes


def render_canary(
    setup: CanarySetup, driver: Driver, sources: tuple[str, str]
) -> tuple[RenderedTree, list[str]]:
    """The files for `driver`, and every note they carry."""
    ctx = setup.ctx
    by_kind: dict[str, list[Manifest]] = {
        "ConfigMap": [serving_pods(ctx, b).config_map for b in (setup.incumbent, setup.candidate)]
    }
    by_kind |= argo_objects(setup) if driver == "argo" else flagger_objects(setup)
    monitor = pod_monitor(setup)
    if monitor is not None:
        by_kind["PodMonitor"] = [monitor]
    notes = setup.notes + driver_notes(setup, driver)
    spec_file, plan_file = sources
    header = [
        f"Rendered by `crossfade render canary` ({driver}) from {spec_file} and {plan_file}: "
        "edit them, render again.",
        f"Canary: {setup.incumbent} (incumbent) -> {setup.candidate} (candidate), "
        f"steps {', '.join(str(step) for step in setup.plan.steps)}.",
    ]
    summary = _note_lines([setup.summary], "Gates: ")
    workload = WORKLOAD_KIND[driver]
    files = {kind: f"{kind.lower()}.yaml" for kind in by_kind}
    tree = RenderedTree()
    for kind, manifests in by_kind.items():
        extra: list[str] = []
        if kind == workload:
            extra = _start_lines(setup, driver, files)
        if kind in (workload, ANALYSIS_KIND[driver], "Canary"):
            extra += summary + _note_lines(notes)
        tree.add(files[kind], dump_documents(manifests, [*header, *extra]))
    first = (
        rollout(setup, setup.incumbent) if driver == "argo" else deployment(setup, setup.incumbent)
    )
    lines = [
        *header,
        f"The {workload} on the incumbent, {setup.incumbent}: apply it with the other files",
        f"(not ../{files[workload]}) when the {workload} does not exist yet.",
    ]
    tree.add(f"{INCUMBENT_FOLDER}/{files[workload]}", dump_documents([first], lines))
    return tree, notes


def _start_lines(setup: CanarySetup, driver: Driver, files: dict[str, str]) -> list[str]:
    workload = WORKLOAD_KIND[driver]
    others = [name for kind, name in files.items() if kind != workload]
    start = " ".join(f"-f {name}" for name in [*others, f"{INCUMBENT_FOLDER}/{files[workload]}"])
    ready = (
        f"kubectl argo rollouts status {setup.ctx.name} -n {setup.ctx.namespace}"
        if driver == "argo"
        else f"kubectl -n {setup.ctx.namespace} get canary {setup.ctx.name} (Initialized)"
    )
    moves = f"{setup.incumbent} to {setup.candidate}"
    return [
        f"Applying this file moves traffic from {moves}. The {workload} must run",
        f"{setup.incumbent} first; if it does not exist yet, in this folder:",
        f"  kubectl -n {setup.ctx.namespace} apply {start}",
        f"  then wait for it: {ready}",
        f"Replaces the {setup.incumbent} and {setup.candidate} Deployments and the traffic split "
        "of `crossfade render k8s`.",
        f"Queries go to Prometheus at {setup.prometheus} (--prometheus).",
    ]


def _note_lines(notes: list[str], lead: str = "Note: ") -> list[str]:
    lines: list[str] = []
    for note in notes:
        lines += textwrap.wrap(f"{lead}{note}", width=96, subsequent_indent="  ")
    return lines
