"""The linted manifests seen as a cluster would see them: pod templates, Services, names.

Everything here is read defensively: schema validation reports malformed values, so the
cross-reference checks skip what they cannot read instead of failing on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from crossfade.lint.k8s.load import KeyPath, Manifest

# kind -> where its pod template sits
_TEMPLATE_AT: dict[str, KeyPath] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "Rollout": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
PROBES = ("readinessProbe", "livenessProbe", "startupProbe")


@dataclass(frozen=True)
class Container:
    manifest: Manifest
    path: KeyPath
    data: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.data.get("name", ""))

    @property
    def image(self) -> str:
        return str(self.data.get("image", ""))

    def ports(self) -> list[dict[str, Any]]:
        ports = self.data.get("ports")
        return [p for p in ports if isinstance(p, dict)] if isinstance(ports, list) else []

    def serves(self, port: object) -> bool:
        """Whether `port` (a number or a port name) is one this container declares."""
        if isinstance(port, str) and not port.isdigit():
            return any(p.get("name") == port for p in self.ports())
        if isinstance(port, str | int) and not isinstance(port, bool):
            return any(p.get("containerPort") == int(port) for p in self.ports())
        return False


@dataclass(frozen=True)
class PodTemplate:
    """The pods a workload runs (or a bare Pod), with the path of its template."""

    manifest: Manifest
    path: KeyPath

    @property
    def data(self) -> dict[str, Any]:
        value = self.manifest.get(self.path)
        return value if isinstance(value, dict) else {}

    @property
    def labels(self) -> dict[str, str]:
        return labels_at(self.data, ("metadata", "labels"))

    @property
    def annotations(self) -> dict[str, str]:
        return labels_at(self.data, ("metadata", "annotations"))

    def containers(self) -> list[Container]:
        spec_path = (*self.path, "spec", "containers")
        containers = self.manifest.get(spec_path)
        if not isinstance(containers, list):
            return []
        return [
            Container(self.manifest, (*spec_path, i), c)
            for i, c in enumerate(containers)
            if isinstance(c, dict)
        ]

    def serves(self, port: object) -> bool:
        return any(c.serves(port) for c in self.containers())


def labels_at(data: dict[str, Any], path: KeyPath) -> dict[str, str]:
    value: Any = data
    for step in path:
        value = value.get(step) if isinstance(value, dict) else None
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def pod_templates(manifests: list[Manifest]) -> Iterator[PodTemplate]:
    for manifest in manifests:
        if manifest.kind == "Pod":
            yield PodTemplate(manifest, ())
        elif manifest.kind in _TEMPLATE_AT and isinstance(
            manifest.get(_TEMPLATE_AT[manifest.kind]), dict
        ):
            yield PodTemplate(manifest, _TEMPLATE_AT[manifest.kind])


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def same_namespace(a: str | None, b: str | None) -> bool:
    """Unset namespaces go wherever kubectl applies them, so they match any."""
    return a is None or b is None or a == b


@dataclass(frozen=True)
class Cluster:
    """The set of manifests linted together: the only cluster the checks can see."""

    manifests: list[Manifest]

    def of_kind(self, *kinds: str) -> list[Manifest]:
        return [m for m in self.manifests if m.kind in kinds]

    def pods(self) -> list[PodTemplate]:
        return list(pod_templates(self.manifests))

    def pods_selected(self, selector: dict[str, str], namespace: str | None) -> list[PodTemplate]:
        return [
            pod
            for pod in self.pods()
            if same_namespace(pod.manifest.namespace, namespace) and selects(selector, pod.labels)
        ]

    def services(self) -> list[Manifest]:
        """Core Services (not, say, Knative's, which share the kind name)."""
        return [m for m in self.of_kind("Service") if m.api_version == "v1"]

    def service(self, name: str, namespace: str | None) -> Manifest | None:
        for service in self.services():
            if service.name == name and same_namespace(service.namespace, namespace):
                return service
        return None

    def service_names(self) -> list[str]:
        return [s.name for s in self.services()]


def service_ports(service: Manifest) -> list[dict[str, Any]]:
    ports = service.get(("spec", "ports"))
    return [p for p in ports if isinstance(p, dict)] if isinstance(ports, list) else []


def resolve_host(host: str, namespace: str | None) -> tuple[str, str | None] | None:
    """An Istio host as (Service name, namespace); None for hosts outside the cluster.

    Short names are relative to the rule's namespace; `name.ns.svc` and
    `name.ns.svc.cluster.local` name the namespace themselves. (`name.ns` is left alone: it
    cannot be told apart from an outside name such as `example.com`.)
    """
    if "*" in host:
        return None
    parts = host.split(".")
    if len(parts) == 1:
        return host, namespace
    if len(parts) > 2 and parts[2:] in (["svc"], ["svc", "cluster", "local"]):
        return parts[0], parts[1]
    return None
