"""Argo Rollouts: one Rollout whose revisions are the two backends, and its AnalysisTemplates.

Argo shifts traffic between ReplicaSets of one Rollout, one pod template per revision; it
cannot split between two Deployments, and it rewrites the selectors of its `stableService`
and `canaryService`, so those cannot be the backends' own Services either. A backend migration
is therefore a revision change: the Rollout first runs the incumbent's pod template
(`incumbent/rollout.yaml`, which becomes the stable revision at once, as a first revision
does), then the candidate's (`rollout.yaml`), and the canary steps move traffic from one to the
other through two Services Argo owns and the VirtualService or HTTPRoute it edits.

Per plan step: `setWeight`, a pause of `min_duration_s` so the window holds the step's own
traffic, then an analysis that measures every `interval_s`. A measurement past a limit fails
the run (`failureLimit: 0`) and Argo aborts to the incumbent at once; the first measurement
within every limit ends it (`consecutiveSuccessLimit: 1`, Argo 1.8+); a step still without
enough samples after the plan's unclear budget is Inconclusive (`inconclusiveLimit`), which
pauses the Rollout, as `on_unclear: pause` does. A shadow step is a mirror route (100% of
requests) to a canary scaled to the candidate's replicas. At 100% the incumbent gets no traffic
to compare with, so the last step checks the absolute SLOs only.
"""

from __future__ import annotations

import math
from typing import Any

from crossfade.render.k8s.canary_base import (
    CanarySetup,
    serving_pods,
    workload_selector,
)
from crossfade.render.k8s.common import (
    HTTP_PORT,
    NAME_LABEL,
    Backend,
    Manifest,
    app_labels,
    metadata,
    seconds,
)
from crossfade.render.k8s.promql import Gate
from crossfade.render.k8s.traffic import ISTIO_API, RETRY_ON, ROUTE_NAME, route_manifest
from crossfade.render.k8s.workloads import PORTS

ROLLOUTS_API = "argoproj.io/v1alpha1"
GATEWAY_PLUGIN = "argoproj-labs/gatewayAPI"
MIRROR_ROUTE = "shadow"


def argo_objects(setup: CanarySetup) -> dict[str, list[Manifest]]:
    """Kind -> objects, for the candidate's Rollout and everything it refers to."""
    objects: dict[str, list[Manifest]] = {
        "Rollout": [rollout(setup, setup.candidate)],
        "AnalysisTemplate": analysis_templates(setup),
        "Service": services(setup),
    }
    if setup.router == "istio":
        objects["VirtualService"] = [virtual_service(setup)]
    else:
        objects["HTTPRoute"] = [http_route(setup)]
    return objects


def stable_service(setup: CanarySetup) -> str:
    return setup.ctx.object_name("stable")


def canary_service(setup: CanarySetup) -> str:
    return setup.ctx.object_name("canary")


def gates_template(setup: CanarySetup) -> str:
    return setup.ctx.object_name("canary-gates")


def slo_template(setup: CanarySetup) -> str:
    return setup.ctx.object_name("canary-slo")


def rollout(setup: CanarySetup, backend: Backend) -> Manifest:
    """The Rollout running `backend`'s pods; the same strategy whichever revision it holds."""
    ctx = setup.ctx
    pods = serving_pods(ctx, backend)
    return {
        "apiVersion": ROLLOUTS_API,
        "kind": "Rollout",
        "metadata": metadata(ctx, ctx.name, app_labels(ctx), pods.annotations or None),
        "spec": {
            "replicas": setup.replicas,
            "progressDeadlineSeconds": pods.progress_deadline_s,
            "selector": workload_selector(ctx),
            "template": pods.template,
            "strategy": {"canary": _strategy(setup)},
        },
    }


def _strategy(setup: CanarySetup) -> dict[str, Any]:
    ctx = setup.ctx
    routing: dict[str, Any]
    if setup.router == "istio":
        routing = {"istio": {"virtualService": {"name": ctx.name, "routes": [ROUTE_NAME]}}}
    else:
        routing = {"plugins": {GATEWAY_PLUGIN: {"httpRoute": ctx.name, "namespace": ctx.namespace}}}
    if setup.shadow:
        routing["managedRoutes"] = [{"name": MIRROR_ROUTE}]
    # No dynamicStableScale: the incumbent stays at full size until promotion, so an abort
    # moves traffic back to warm pods instead of waiting for a model to load.
    return {
        "canaryService": canary_service(setup),
        "stableService": stable_service(setup),
        "trafficRouting": routing,
        "steps": _steps(setup),
    }


def _steps(setup: CanarySetup) -> list[dict[str, Any]]:
    plan = setup.plan
    pause = {"pause": {"duration": setup.window}}
    gates = {"analysis": {"templates": [{"templateName": gates_template(setup)}]}}
    steps: list[dict[str, Any]] = []
    for step in plan.steps:
        if not isinstance(step, int):  # shadow
            steps += [
                {"setCanaryScale": {"replicas": setup.replicas}},
                {
                    "setMirrorRoute": {
                        "name": MIRROR_ROUTE,
                        "percentage": 100,
                        "match": [{"path": {"prefix": "/"}}],
                    }
                },
                pause,
                gates,
                {"setMirrorRoute": {"name": MIRROR_ROUTE}},  # without match: removed
                {"setCanaryScale": {"matchTrafficWeight": True}},
            ]
        elif step < 100:
            steps += [{"setWeight": step}, pause, gates]
        else:
            steps += [{"setWeight": step}, pause]
            if any(not gate.relative for gate in setup.gates):
                steps.append({"analysis": {"templates": [{"templateName": slo_template(setup)}]}})
    return steps


def analysis_templates(setup: CanarySetup) -> list[Manifest]:
    templates = [_template(setup, gates_template(setup), setup.gates)]
    absolute = [gate for gate in setup.gates if not gate.relative]
    if absolute and 100 in setup.plan.steps:
        templates.append(_template(setup, slo_template(setup), absolute))
    return templates


def measurements(setup: CanarySetup) -> int:
    """Measurements from the end of the pause to the end of the unclear budget."""
    timing = setup.plan.step
    return math.floor((setup.unclear_budget_s - timing.min_duration_s) / timing.interval_s) + 1


def _template(setup: CanarySetup, name: str, gates: list[Gate]) -> Manifest:
    ctx = setup.ctx
    return {
        "apiVersion": ROLLOUTS_API,
        "kind": "AnalysisTemplate",
        "metadata": metadata(ctx, name, app_labels(ctx)),
        "spec": {"metrics": [_metric(setup, gate) for gate in gates]},
    }


def _metric(setup: CanarySetup, gate: Gate) -> dict[str, Any]:
    count = measurements(setup)
    # An empty result (too few samples) or NaN meets neither condition: Inconclusive.
    seen = "len(result) > 0 && !isNaN(result[0])"
    settle = setup.plan.step.settle_s
    return {
        "name": gate.name,
        **({"initialDelay": seconds(settle)} if settle else {}),
        "interval": seconds(setup.plan.step.interval_s),
        "count": count,
        "failureLimit": 0,
        "consecutiveSuccessLimit": 1,
        "inconclusiveLimit": count - 1,
        "successCondition": f"{seen} && result[0] <= {gate.limit:g}",
        "failureCondition": f"{seen} && result[0] > {gate.limit:g}",
        "provider": {"prometheus": {"address": setup.prometheus, "query": gate.query}},
    }


def services(setup: CanarySetup) -> list[Manifest]:
    """The two Services Argo points at the stable and the canary ReplicaSets (it adds the
    pod-template hash to their selectors), and for Istio the shared host clients call."""
    ctx = setup.ctx
    names = [stable_service(setup), canary_service(setup)]
    if setup.router == "istio":
        names.insert(0, ctx.name)
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata(ctx, name, app_labels(ctx)),
            "spec": {
                "selector": {NAME_LABEL: ctx.name},
                "ports": [
                    {"name": port_name, "port": port, "targetPort": port_name, "protocol": "TCP"}
                    for port_name, port in PORTS
                ],
            },
        }
        for name in names
    ]


def virtual_service(setup: CanarySetup) -> Manifest:
    """Replaces the VirtualService of `crossfade render k8s` (same name and host)."""
    ctx = setup.ctx
    traffic = ctx.k8s.traffic
    route: dict[str, Any] = {
        "name": ROUTE_NAME,
        "route": [
            {"destination": {"host": host, "port": {"number": HTTP_PORT}}, "weight": weight}
            for host, weight in ((stable_service(setup), 100), (canary_service(setup), 0))
        ],
    }
    spec: dict[str, Any] = {"hosts": [ctx.service_host()]}
    if traffic is not None:
        spec["hosts"] += traffic.hostnames
        if traffic.gateway is not None:
            namespace = traffic.gateway.namespace or ctx.namespace
            spec["gateways"] = [f"{namespace}/{traffic.gateway.name}", "mesh"]
        route["timeout"] = seconds(traffic.timeout_s)
        retries = traffic.retries
        route["retries"] = {"attempts": retries.attempts}  # Istio retries twice unless told
        if retries.attempts:
            route["retries"]["retryOn"] = RETRY_ON
            if retries.per_try_timeout_s is not None:
                route["retries"]["perTryTimeout"] = seconds(retries.per_try_timeout_s)
    spec["http"] = [route]
    return {
        "apiVersion": ISTIO_API,
        "kind": "VirtualService",
        "metadata": metadata(ctx, ctx.name, app_labels(ctx)),
        "spec": spec,
    }


def http_route(setup: CanarySetup) -> Manifest:
    """Replaces the HTTPRoute of `crossfade render k8s`; the plugin edits its weights."""
    ctx = setup.ctx
    traffic = ctx.k8s.traffic
    assert traffic is not None  # checked with the router
    rule = {
        "name": ROUTE_NAME,
        "backendRefs": [
            {"name": name, "port": HTTP_PORT, "weight": weight}
            for name, weight in ((stable_service(setup), 100), (canary_service(setup), 0))
        ],
        "timeouts": {"request": seconds(traffic.timeout_s)},
    }
    return route_manifest(ctx, traffic, rule)
