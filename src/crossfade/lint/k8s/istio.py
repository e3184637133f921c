"""Istio VirtualService and DestinationRule against each other and the pods they route to.

A subset no pod carries, or a route to a subset no DestinationRule defines, passes every
schema; Istio answers such requests with 503 (`no healthy upstream`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crossfade.findings import Finding, Severity
from crossfade.lint.k8s.crossrefs import check_service_ref, describe_pods
from crossfade.lint.k8s.load import KeyPath, Manifest, dotted
from crossfade.lint.k8s.objects import Cluster, labels_at, resolve_host, same_namespace
from crossfade.spec.suggest import did_you_mean

ISTIO_GROUP = "networking.istio.io"
_ROUTE_LISTS = ("http", "tcp", "tls")


@dataclass(frozen=True)
class _Subsets:
    """The subsets one DestinationRule defines for its host."""

    host: tuple[str, str | None] | str
    names: frozenset[str]


def check_istio(cluster: Cluster) -> list[Finding]:
    rules = [m for m in cluster.of_kind("DestinationRule") if m.group == ISTIO_GROUP]
    services = [m for m in cluster.of_kind("VirtualService") if m.group == ISTIO_GROUP]
    findings: list[Finding] = []
    for rule in rules:
        findings += _check_destination_rule(cluster, rule)
    defined = [_subsets_of(rule) for rule in rules]
    for virtual_service in services:
        findings += _check_virtual_service(cluster, virtual_service, defined)
    return findings


def _host_key(host: str, namespace: str | None) -> tuple[str, str | None] | str:
    return resolve_host(host, namespace) or host


def _same_host(a: tuple[str, str | None] | str, b: tuple[str, str | None] | str) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return a[0] == b[0] and same_namespace(a[1], b[1])
    return a == b


def _subsets_of(rule: Manifest) -> _Subsets:
    subsets = rule.get(("spec", "subsets"))
    names = frozenset(
        str(s["name"]) for s in subsets or [] if isinstance(s, dict) and s.get("name")
    )
    return _Subsets(_host_key(str(rule.get(("spec", "host")) or ""), rule.namespace), names)


def _check_destination_rule(cluster: Cluster, rule: Manifest) -> list[Finding]:
    host = rule.get(("spec", "host"))
    if not isinstance(host, str):
        return []
    resolved = resolve_host(host, rule.namespace)
    if resolved is None:
        return []  # a host outside the cluster (ServiceEntry, external name)
    name, namespace = resolved
    findings = check_service_ref(cluster, rule, name, namespace, None, ("spec", "host"), ())
    service = cluster.service(name, namespace)
    selector = labels_at(service.data, ("spec", "selector")) if service is not None else {}
    subsets = rule.get(("spec", "subsets"))
    for index, subset in enumerate(subsets if isinstance(subsets, list) else []):
        labels = labels_at(subset, ("labels",)) if isinstance(subset, dict) else {}
        if not labels:
            continue
        if any(selector.get(k, v) != v for k, v in labels.items()):
            pods = []  # the subset contradicts the Service's own selector
        else:
            pods = cluster.pods_selected({**selector, **labels}, namespace)
        if pods:
            continue
        candidates = cluster.pods_selected(selector, namespace) if selector else cluster.pods()
        path: KeyPath = ("spec", "subsets", index, "labels")
        findings.append(
            Finding(
                Severity.ERROR,
                "k8s-subset-matches-nothing",
                rule.file,
                rule.line(path),
                f"{rule.title}: subset '{subset.get('name')}' selects "
                f"{', '.join(f'{k}={v}' for k, v in sorted(labels.items()))}, which no pod of "
                f"'{host}' carries; routes to it get 503 (no healthy upstream)",
                f"use labels the pods carry: {describe_pods(candidates)}"
                if candidates
                else "lint the Deployments together with the DestinationRule",
            )
        )
    return findings


def _check_virtual_service(
    cluster: Cluster, virtual_service: Manifest, defined: list[_Subsets]
) -> list[Finding]:
    findings: list[Finding] = []
    spec = virtual_service.get(("spec",))
    if not isinstance(spec, dict):
        return []
    for kind in _ROUTE_LISTS:
        entries = spec.get(kind)
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            if not isinstance(entry, dict):
                continue
            base: KeyPath = ("spec", kind, index)
            routes = entry.get("route")
            routes = routes if isinstance(routes, list) else []
            for r, route in enumerate(routes):
                if isinstance(route, dict):
                    findings += _check_destination(
                        cluster,
                        virtual_service,
                        route.get("destination"),
                        (*base, "route", r, "destination"),
                        defined,
                    )
            findings += _check_weights(virtual_service, routes, (*base, "route"))
            findings += _check_destination(
                cluster, virtual_service, entry.get("mirror"), (*base, "mirror"), defined
            )
            mirrors = entry.get("mirrors")
            for m, mirror in enumerate(mirrors if isinstance(mirrors, list) else []):
                if isinstance(mirror, dict):
                    path = (*base, "mirrors", m, "destination")
                    findings += _check_destination(
                        cluster, virtual_service, mirror.get("destination"), path, defined
                    )
    return findings


def _check_destination(
    cluster: Cluster, vs: Manifest, destination: Any, at: KeyPath, defined: list[_Subsets]
) -> list[Finding]:
    if not isinstance(destination, dict) or not isinstance(destination.get("host"), str):
        return []
    host = destination["host"]
    findings: list[Finding] = []
    resolved = resolve_host(host, vs.namespace)
    if resolved is not None:
        port = (
            destination.get("port", {}).get("number")
            if isinstance(destination.get("port"), dict)
            else None
        )
        findings += check_service_ref(
            cluster, vs, resolved[0], resolved[1], port, (*at, "host"), (*at, "port", "number")
        )
    subset = destination.get("subset")
    if subset is None:
        return findings
    key = _host_key(host, vs.namespace)
    known = {name for d in defined if _same_host(d.host, key) for name in d.names}
    if subset not in known:
        findings.append(
            Finding(
                Severity.ERROR,
                "k8s-unknown-subset",
                vs.file,
                vs.line((*at, "subset")),
                f"{vs.title}: {dotted(at)} routes to subset '{subset}' of '{host}', which no "
                "DestinationRule among the manifests defines; Istio returns 503",
                did_you_mean(str(subset), known)
                or f"define subset '{subset}' in a DestinationRule with host '{host}'",
            )
        )
    return findings


def _check_weights(vs: Manifest, routes: list[Any], at: KeyPath) -> list[Finding]:
    if len(routes) < 2:
        return []
    weights = [r.get("weight") if isinstance(r, dict) else None for r in routes]
    missing = [i for i, w in enumerate(weights) if w is None]
    if missing:
        return [
            Finding(
                Severity.ERROR,
                "k8s-route-weight",
                vs.file,
                vs.line((*at, i)),
                f"{vs.title}: {dotted((*at, i))} has no weight; with {len(routes)} "
                "destinations each needs one",
                "give every destination a weight (integers summing to 100)",
            )
            for i in missing
        ]
    numbers = [w for w in weights if isinstance(w, int) and not isinstance(w, bool)]
    if len(numbers) != len(weights):
        return []  # not integers: the schema check says so
    if any(w < 0 for w in numbers) or sum(numbers) == 0:
        return [
            Finding(
                Severity.ERROR,
                "k8s-route-weight",
                vs.file,
                vs.line(at),
                f"{vs.title}: {dotted(at)} weights are {numbers}; none may be negative and "
                "some must be above 0",
                "use integers 0..100 that sum to 100",
            )
        ]
    if sum(numbers) != 100:
        return [
            Finding(
                Severity.WARNING,
                "k8s-weights-sum",
                vs.file,
                vs.line(at),
                f"{vs.title}: {dotted(at)} weights sum to {sum(numbers)}, not 100; current "
                "Istio takes them as shares, but older Istio rejects the route and Argo "
                "Rollouts expects 100",
                "make the weights sum to 100",
            )
        ]
    return []
