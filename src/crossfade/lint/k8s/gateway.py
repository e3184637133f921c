"""Gateway API routes and InferencePools against the Services and pods they point at.

Two of these checks stand in for CEL rules JSON Schema skips: a Service backendRef needs a
port, and a rule whose weights are all zero sends nothing anywhere (the gateway answers 500).
"""

from __future__ import annotations

from typing import Any

from crossfade.findings import Finding, Severity
from crossfade.lint.k8s.channel import GATEWAY_GROUP
from crossfade.lint.k8s.crossrefs import check_service_ref, describe_pods
from crossfade.lint.k8s.load import KeyPath, Manifest, dotted
from crossfade.lint.k8s.objects import Cluster, labels_at, same_namespace
from crossfade.spec.suggest import did_you_mean

POOL_GROUP = "inference.networking.k8s.io"
_ROUTE_KINDS = ("HTTPRoute", "GRPCRoute")


def check_gateway(cluster: Cluster) -> list[Finding]:
    findings: list[Finding] = []
    for route in cluster.of_kind(*_ROUTE_KINDS):
        if route.group == GATEWAY_GROUP:
            findings += _check_route(cluster, route)
    for pool in cluster.of_kind("InferencePool"):
        findings += _check_pool(cluster, pool)
    return findings


def _check_route(cluster: Cluster, route: Manifest) -> list[Finding]:
    findings: list[Finding] = []
    rules = route.get(("spec", "rules"))
    for r, rule in enumerate(rules if isinstance(rules, list) else []):
        if not isinstance(rule, dict):
            continue
        refs = rule.get("backendRefs")
        refs = refs if isinstance(refs, list) else []
        for b, ref in enumerate(refs):
            findings += _check_ref(cluster, route, ref, ("spec", "rules", r, "backendRefs", b))
        findings += _check_weights(route, refs, ("spec", "rules", r, "backendRefs"))
        filters = rule.get("filters")
        for f, item in enumerate(filters if isinstance(filters, list) else []):
            if isinstance(item, dict) and isinstance(item.get("requestMirror"), dict):
                mirror = item["requestMirror"].get("backendRef")
                path = ("spec", "rules", r, "filters", f, "requestMirror", "backendRef")
                findings += _check_ref(cluster, route, mirror, path)
    return findings


def _check_ref(cluster: Cluster, route: Manifest, ref: Any, at: KeyPath) -> list[Finding]:
    if not isinstance(ref, dict) or not isinstance(ref.get("name"), str):
        return []
    group, kind = ref.get("group", ""), ref.get("kind", "Service")
    namespace = ref.get("namespace") or route.namespace
    if (group, kind) == ("", "Service"):
        if "port" not in ref:
            return [
                Finding(
                    Severity.ERROR,
                    "k8s-service-port",
                    route.file,
                    route.line(at),
                    f"{route.title}: {dotted(at)} refers to Service '{ref['name']}' without a "
                    "port; the API server rejects it ('Must have port for Service reference')",
                    "add port: with the Service port to send to",
                )
            ]
        return check_service_ref(
            cluster, route, ref["name"], namespace, ref["port"], (*at, "name"), (*at, "port")
        )
    if (group, kind) == (POOL_GROUP, "InferencePool"):
        pools = [p for p in cluster.of_kind("InferencePool") if p.group == POOL_GROUP]
        if not any(p.name == ref["name"] and same_namespace(p.namespace, namespace) for p in pools):
            return [
                Finding(
                    Severity.ERROR,
                    "k8s-unknown-backend",
                    route.file,
                    route.line((*at, "name")),
                    f"{route.title}: {dotted(at)} names InferencePool '{ref['name']}', which is "
                    "not among the linted manifests",
                    did_you_mean(ref["name"], [p.name for p in pools])
                    or "fix the name, or lint the InferencePool together with the route",
                )
            ]
    return []


def _check_weights(route: Manifest, refs: list[Any], at: KeyPath) -> list[Finding]:
    # Gateway API weights are proportional (default 1), so only a split that sends
    # nothing, or one that leans on the default by accident, is wrong.
    weights = [r.get("weight") if isinstance(r, dict) else None for r in refs]
    if not weights:
        return []
    if sum(w if isinstance(w, int) else 1 for w in weights) == 0:
        return [
            Finding(
                Severity.ERROR,
                "k8s-route-weight",
                route.file,
                route.line(at),
                f"{route.title}: every backendRef in {dotted(at)} has weight 0; "
                "the rule answers every request with 500",
                "give at least one backend a weight above 0",
            )
        ]
    given = [w for w in weights if w is not None]
    if given and len(given) < len(weights):
        missing = weights.index(None)
        return [
            Finding(
                Severity.WARNING,
                "k8s-route-weight",
                route.file,
                route.line((*at, missing)),
                f"{route.title}: {dotted((*at, missing))} has no weight, so it counts as 1 "
                f"next to weights {given}",
                "give every backendRef of a split an explicit weight",
            )
        ]
    return []


def _check_pool(cluster: Cluster, pool: Manifest) -> list[Finding]:
    selector_at: KeyPath = ("spec", "selector", "matchLabels")
    selector = labels_at(pool.data, selector_at)
    if not selector:  # v1alpha2 pools give the labels directly under selector
        selector_at = ("spec", "selector")
        selector = labels_at(pool.data, selector_at)
    if not selector:
        return []
    pods = cluster.pods_selected(selector, pool.namespace)
    if not pods:
        return [
            Finding(
                Severity.ERROR,
                "k8s-selector-matches-nothing",
                pool.file,
                pool.line(selector_at),
                f"{pool.title}: selector "
                f"{', '.join(f'{k}={v}' for k, v in sorted(selector.items()))} matches no pod "
                "template among the manifests; the pool has no endpoints",
                f"use labels the pods carry: {describe_pods(cluster.pods())}"
                if cluster.pods()
                else "lint the Deployment together with the pool",
            )
        ]
    findings = []
    ports = pool.get(("spec", "targetPorts"))
    for index, port in enumerate(ports if isinstance(ports, list) else []):
        number = port.get("number") if isinstance(port, dict) else None
        if number is None or any(pod.serves(number) for pod in pods):
            continue
        if not any(c.ports() for pod in pods for c in pod.containers()):
            continue
        findings.append(
            Finding(
                Severity.WARNING,
                "k8s-target-port",
                pool.file,
                pool.line(("spec", "targetPorts", index, "number")),
                f"{pool.title}: target port {number} is not a port the selected pods declare "
                f"({describe_pods(pods)})",
                "use a containerPort the model server listens on",
            )
        )
    return findings
