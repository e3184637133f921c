"""Traffic splits whose backends share no model one request works on.

A route forwards each request unchanged, and Triton's URL names the model
(`/v2/models/NAME/generate`), so a split between a pod serving `ensemble` and one serving
`vllm_model` fails every request that lands on the wrong side. A shared name is not enough
either: TensorRT-LLM's LLM API model (`tensorrt_llm`) and a vLLM model given that name take
different requests, and so do the legacy engine model of that name and either. Which models a
pod serves, and which request each takes, is read where the manifests say it (`served.py`);
pods whose models cannot be read are left alone, and a model whose request cannot be told is
judged by its name only.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

from crossfade.findings import Finding, Severity
from crossfade.lint.k8s.channel import GATEWAY_GROUP
from crossfade.lint.k8s.load import KeyPath, Manifest, dotted
from crossfade.lint.k8s.objects import (
    Cluster,
    PodTemplate,
    labels_at,
    resolve_host,
    same_namespace,
)
from crossfade.lint.k8s.served import DESCRIBED, Dialect, ServedModel, fits, served_models

ISTIO_GROUP = "networking.istio.io"
FIX = (
    "serve one model name on every side of the split (with crossfade: vllm.triton_model_name: "
    "ensemble, then render again), or put crossfade's router in front (crossfade route), "
    "which sends each backend its own dialect, or send all traffic to one backend"
)
LLMAPI_FIX = (
    "send all traffic to one backend, or put crossfade's router in front (crossfade route), "
    "which sends each backend its own dialect (the LLM API model as a triton-llmapi:// "
    "backend): no model name makes one request work on both TensorRT-LLM's LLM API model and "
    "vLLM"
)


def check_splits(cluster: Cluster) -> list[Finding]:
    findings: list[Finding] = []
    for route in cluster.of_kind("HTTPRoute"):
        if route.group != GATEWAY_GROUP:
            continue
        rules = route.get(("spec", "rules"))
        for r, rule in enumerate(rules if isinstance(rules, list) else []):
            refs = rule.get("backendRefs") if isinstance(rule, dict) else None
            at: KeyPath = ("spec", "rules", r, "backendRefs")
            pods = [_ref_pods(cluster, route, ref) for ref in _weighted(refs, default=1)]
            findings += _judge(cluster, route, at, pods)
    for service in cluster.of_kind("VirtualService"):
        if service.group != ISTIO_GROUP:
            continue
        entries = service.get(("spec", "http"))
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            routes = entry.get("route") if isinstance(entry, dict) else None
            at = ("spec", "http", index, "route")
            default = 100 if isinstance(routes, list) and len(routes) == 1 else 0
            pods = [
                _destination_pods(cluster, service, route.get("destination"))
                for route in _weighted(routes, default)
            ]
            findings += _judge(cluster, service, at, pods)
    return findings


def _weighted(entries: Any, default: int) -> list[dict[str, Any]]:
    """The entries that get traffic: a weight above 0 (or the default when none is given)."""
    found = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        weight = entry.get("weight", default)
        if isinstance(weight, int) and not isinstance(weight, bool) and weight > 0:
            found.append(entry)
    return found


def _judge(
    cluster: Cluster, route: Manifest, at: KeyPath, targets: list[list[PodTemplate] | None]
) -> list[Finding]:
    if not targets or any(not pods for pods in targets):
        return []  # a target outside the manifests: unknown (other checks name it)
    pods = list({id(pod.manifest): pod for group in targets for pod in group or []}.values())
    served = [served_models(cluster, pod) for pod in pods]
    if len(pods) < 2 or any(models is None for models in served):
        return []
    sides = [models for models in served if models is not None]
    common = set.intersection(*(set(models) for models in sides))
    usable = [
        name
        for name in common
        if all(fits(a[name].dialect, b[name].dialect) for a, b in combinations(sides, 2))
    ]
    if usable:
        return []
    name = min(common, default=None)

    def side(models: dict[str, ServedModel]) -> str:
        if name is None:
            return f"serves {', '.join(sorted(models))}"
        return _asks(models[name].dialect)

    described = "; ".join(
        f"{pod.manifest.title} {side(models)}" for pod, models in zip(pods, sides, strict=True)
    )
    what = (
        f"no model in common ({described}); the URL names the model (/v2/models/NAME/generate)"
        if name is None
        else f"'{name}' as models that take different requests ({described})"
    )
    message = (
        f"{route.title}: {dotted(at)} sends requests to pods that serve {what}, so a request "
        "written for one side fails on the other"
    )
    llmapi = any(m.dialect == "llmapi" for models in sides for m in models.values())
    return [
        Finding(
            Severity.ERROR,
            "k8s-split-models",
            route.file,
            route.line(at),
            message,
            LLMAPI_FIX if llmapi else FIX,
        )
    ]


def _asks(dialect: Dialect | None) -> str:
    return f"takes {DESCRIBED[dialect]}" if dialect is not None else "takes an unknown request"


def _ref_pods(cluster: Cluster, route: Manifest, ref: dict[str, Any]) -> list[PodTemplate] | None:
    if (ref.get("group", ""), ref.get("kind", "Service")) != ("", "Service"):
        return None
    namespace = ref.get("namespace") or route.namespace
    return _service_pods(cluster, str(ref.get("name", "")), namespace, {})


def _destination_pods(
    cluster: Cluster, service: Manifest, destination: Any
) -> list[PodTemplate] | None:
    if not isinstance(destination, dict) or not isinstance(destination.get("host"), str):
        return None
    resolved = resolve_host(destination["host"], service.namespace)
    if resolved is None:
        return None
    name, namespace = resolved
    subset = destination.get("subset")
    labels: dict[str, str] = {}
    if subset is not None:
        found = _subset_labels(cluster, name, namespace, str(subset))
        if found is None:
            return None
        labels = found
    return _service_pods(cluster, name, namespace, labels)


def _subset_labels(
    cluster: Cluster, name: str, namespace: str | None, subset: str
) -> dict[str, str] | None:
    for rule in cluster.of_kind("DestinationRule"):
        host = rule.get(("spec", "host"))
        resolved = resolve_host(host, rule.namespace) if isinstance(host, str) else None
        if resolved is None or resolved[0] != name or not same_namespace(resolved[1], namespace):
            continue
        subsets = rule.get(("spec", "subsets"))
        for item in subsets if isinstance(subsets, list) else []:
            if isinstance(item, dict) and item.get("name") == subset:
                return labels_at(item, ("labels",))
    return None


def _service_pods(
    cluster: Cluster, name: str, namespace: str | None, labels: dict[str, str]
) -> list[PodTemplate] | None:
    service = cluster.service(name, namespace)
    if service is None:
        return None
    selector = labels_at(service.data, ("spec", "selector"))
    if not selector:
        return None
    return cluster.pods_selected({**selector, **labels}, namespace)
