"""Traffic splits whose backends serve no model in common: no request works on all of them.

A route forwards each request unchanged, and Triton's URL names the model
(`/v2/models/NAME/generate`), so a split between a pod serving `ensemble` and one serving
`vllm_model` fails every request that lands on the wrong side. Which models a pod serves is
read where the manifests say it: the model folders of the ConfigMap a pod mounts with items
(`NAME/config.pbtxt`, as `crossfade render k8s` ships a repository) and Triton's
`--load-model` arguments. Pods whose models cannot be read are left alone.
"""

from __future__ import annotations

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

ISTIO_GROUP = "networking.istio.io"
FIX = (
    "serve one model name on every side of the split (with crossfade: vllm.triton_model_name: "
    "ensemble, then render again), or put crossfade's router in front (crossfade route), "
    "which sends each backend its own dialect, or send all traffic to one backend"
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
    served = [_served_models(pod) for pod in pods]
    if len(pods) < 2 or any(models is None for models in served):
        return []
    common = set.intersection(*(models for models in served if models is not None))
    if common:
        return []
    sides = "; ".join(
        f"{pod.manifest.title} serves {', '.join(sorted(models or ()))}"
        for pod, models in zip(pods, served, strict=True)
    )
    return [
        Finding(
            Severity.ERROR,
            "k8s-split-models",
            route.file,
            route.line(at),
            f"{route.title}: {dotted(at)} sends requests to pods that serve no model in common "
            f"({sides}); the URL names the model (/v2/models/NAME/generate), so a request "
            "written for one side fails on the other",
            FIX,
        )
    ]


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


def _served_models(pod: PodTemplate) -> set[str] | None:
    """Model names the pod's Triton serves, or None when the manifests do not say."""
    loaded: set[str] = set()
    for container in pod.containers():
        args = [str(a) for key in ("command", "args") for a in container.data.get(key) or []]
        for index, arg in enumerate(args):
            if arg.startswith("--load-model="):
                loaded.add(arg.split("=", 1)[1])
            elif arg == "--load-model" and index + 1 < len(args):
                loaded.add(args[index + 1])
    if loaded:
        return loaded
    volumes = pod.manifest.get((*pod.path, "spec", "volumes"))
    folders: set[str] = set()
    for volume in volumes if isinstance(volumes, list) else []:
        config_map = volume.get("configMap") if isinstance(volume, dict) else None
        items = config_map.get("items") if isinstance(config_map, dict) else None
        for item in items if isinstance(items, list) else []:
            path = str(item.get("path", "")) if isinstance(item, dict) else ""
            parts = path.split("/")
            if len(parts) == 2 and parts[1] == "config.pbtxt" and parts[0]:
                folders.add(parts[0])
    return folders or None
