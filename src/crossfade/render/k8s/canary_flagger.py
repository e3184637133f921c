"""Flagger: a Canary over one Deployment whose pod template moves from one backend to the
other, and a MetricTemplate per gate.

Flagger copies its target Deployment to `<name>-primary` when it first sees it and then runs
an analysis each time the target's pod template changes, promoting by copying the template
over the primary. Pointing it at one backend's own Deployment would make that backend the
primary at once, with nothing to compare. So the target is one Deployment, `<name>`, holding
the incumbent's pod template first (`incumbent/deployment.yaml`: Flagger makes it the primary)
and the candidate's next (`deployment.yaml`: the analysis compares the two). Flagger also
renames the selector label of the primary's pods (`app.kubernetes.io/name: <name>-primary`),
so the queries tell the two sides apart by their `backend` label, which it keeps.

Flagger has no inconclusive result: a query with too few samples ("no values") counts as a
failed check, like a gate past its limit. Either halts the weight where it is; `threshold`
failed checks, counted over the whole analysis, roll back. The threshold lets a step stay
unclear for the plan's unclear budget, so a failing gate also gets that many intervals before
the rollback, and an unclear step ends in a rollback, not a pause. The analysis interval is the
step's `min_duration_s`; a shadow step is Flagger's mirror step (weight 0, every request
copied) before the first weight; promotion replaces the 100% step, where the incumbent would
get no traffic to compare with.
"""

from __future__ import annotations

import math
from typing import Any

from crossfade.errors import UsageError
from crossfade.render.k8s.canary_base import CanarySetup, serving_pods, workload_selector
from crossfade.render.k8s.common import HTTP_PORT, Backend, Manifest, app_labels, metadata, seconds
from crossfade.render.k8s.promql import Gate
from crossfade.render.k8s.traffic import RETRY_ON

FLAGGER_API = "flagger.app/v1beta1"
PROVIDERS = {"istio": "istio", "gateway": "gatewayapi:v1"}


def flagger_objects(setup: CanarySetup) -> dict[str, list[Manifest]]:
    """Kind -> objects, for the candidate's Deployment and the Canary that watches it."""
    return {
        "Deployment": [deployment(setup, setup.candidate)],
        "Canary": [canary(setup)],
        "MetricTemplate": [metric_template(setup, gate) for gate in setup.gates],
    }


def deployment(setup: CanarySetup, backend: Backend) -> Manifest:
    ctx = setup.ctx
    pods = serving_pods(ctx, backend)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(ctx, ctx.name, app_labels(ctx), pods.annotations or None),
        "spec": {
            "replicas": setup.replicas,
            "progressDeadlineSeconds": pods.progress_deadline_s,
            "selector": workload_selector(ctx),
            "template": pods.template,
        },
    }


def threshold(setup: CanarySetup) -> int:
    """Failed checks before the rollback: one analysis interval each."""
    return max(1, math.ceil(setup.unclear_budget_s / setup.plan.step.min_duration_s))


def canary(setup: CanarySetup) -> Manifest:
    ctx = setup.ctx
    weights = [percent for percent in setup.percents if percent < 100]
    if not weights:
        raise UsageError(
            f"the plan's steps {setup.plan.steps} have no percentage below 100; Flagger shifts "
            "traffic in steps before it promotes: add one (e.g. 10)"
        )
    analysis: dict[str, Any] = {
        "interval": setup.window,  # one step per interval: its minimum duration
        "threshold": threshold(setup),
        "stepWeights": weights,
    }
    if setup.shadow:
        analysis |= {"mirror": True, "mirrorWeight": 100}
    analysis["metrics"] = [
        {
            "name": gate.name,
            "templateRef": {"name": template_name(setup, gate), "namespace": ctx.namespace},
            "thresholdRange": {"max": _number(gate.limit)},
            "interval": setup.window,
        }
        for gate in setup.gates
    ]
    return {
        "apiVersion": FLAGGER_API,
        "kind": "Canary",
        "metadata": metadata(ctx, ctx.name, app_labels(ctx)),
        "spec": {
            "provider": PROVIDERS[setup.router],
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": ctx.name},
            "progressDeadlineSeconds": serving_pods(ctx, setup.candidate).progress_deadline_s,
            "service": _service(setup),
            "analysis": analysis,
        },
    }


def _number(value: float) -> float | int:
    """2000 rather than 2000.0: the limit as the plan writes it."""
    return int(value) if value.is_integer() else value


def _service(setup: CanarySetup) -> dict[str, Any]:
    """The Services, and the VirtualService or HTTPRoute, Flagger generates and owns."""
    ctx = setup.ctx
    service: dict[str, Any] = {
        "name": ctx.name,
        "port": HTTP_PORT,
        "portName": "http",
        "targetPort": HTTP_PORT,
        "portDiscovery": True,  # the gRPC and metrics ports too
    }
    traffic = ctx.k8s.traffic
    if traffic is None:
        return service
    if traffic.hostnames:
        service["hosts"] = list(traffic.hostnames)
    gateway = traffic.gateway
    if setup.router == "gateway":
        assert gateway is not None  # checked with the router
        ref = {"name": gateway.name, "namespace": gateway.namespace or ctx.namespace}
        service["gatewayRefs"] = [ref]
    elif gateway is not None:
        service["gateways"] = [f"{gateway.namespace or ctx.namespace}/{gateway.name}", "mesh"]
    service["timeout"] = seconds(traffic.timeout_s)
    if setup.router == "istio":
        retries = traffic.retries
        service["retries"] = {"attempts": retries.attempts}
        if retries.attempts:
            service["retries"]["retryOn"] = RETRY_ON
            if retries.per_try_timeout_s is not None:
                service["retries"]["perTryTimeout"] = seconds(retries.per_try_timeout_s)
    return service


def template_name(setup: CanarySetup, gate: Gate) -> str:
    return setup.ctx.object_name(gate.name)


def metric_template(setup: CanarySetup, gate: Gate) -> Manifest:
    ctx = setup.ctx
    return {
        "apiVersion": FLAGGER_API,
        "kind": "MetricTemplate",
        "metadata": metadata(ctx, template_name(setup, gate), app_labels(ctx)),
        "spec": {
            "provider": {"type": "prometheus", "address": setup.prometheus},
            "query": gate.query,
        },
    }
