"""Cross-references between workloads and Services that no schema checks.

A Service whose selector matches no pod, a named port no container declares, a probe on a
port nothing listens on: each is valid YAML and valid against every schema, and each shows
up only when the pods never become ready or the Service has no endpoints.
"""

from __future__ import annotations

from crossfade.findings import Finding, Severity
from crossfade.lint.k8s.load import KeyPath, Manifest, dotted
from crossfade.lint.k8s.objects import (
    PROBES,
    Cluster,
    PodTemplate,
    labels_at,
    same_namespace,
    selects,
    service_ports,
)
from crossfade.spec.suggest import did_you_mean

_PROBE_HANDLERS = ("httpGet", "tcpSocket", "grpc")


def check_workloads(cluster: Cluster) -> list[Finding]:
    findings: list[Finding] = []
    for pod in cluster.pods():
        findings += _check_own_selector(pod)
        findings += _check_probes(pod)
    for service in cluster.services():
        findings += _check_service(cluster, service)
    return findings


def describe_pods(pods: list[PodTemplate]) -> str:
    """`Deployment llm-vllm (app=llm, backend=vllm)`, for hints that list what is there."""
    shown = [
        f"{pod.manifest.title} ({', '.join(f'{k}={v}' for k, v in sorted(pod.labels.items()))})"
        for pod in pods[:4]
    ]
    return "; ".join(shown) + ("; ..." if len(pods) > 4 else "")


def _check_own_selector(pod: PodTemplate) -> list[Finding]:
    manifest = pod.manifest
    if manifest.kind in ("Pod", "Job", "CronJob"):
        return []
    selector = labels_at(manifest.data, ("spec", "selector", "matchLabels"))
    if not selector or selects(selector, pod.labels):
        return []
    return [
        Finding(
            Severity.ERROR,
            "k8s-workload-selector",
            manifest.file,
            manifest.line(("spec", "selector", "matchLabels")),
            f"{manifest.title}: spec.selector.matchLabels does not match the pod template's "
            "labels; the API server rejects it ('selector does not match template labels')",
            "make every matchLabels entry a label of spec.template.metadata.labels",
        )
    ]


def _check_probes(pod: PodTemplate) -> list[Finding]:
    findings = []
    for container in pod.containers():
        if not container.ports():
            continue  # nothing declared, so nothing to compare with
        for probe in PROBES:
            for handler in _PROBE_HANDLERS:
                path = (*container.path, probe, handler, "port")
                port = pod.manifest.get(path)
                if port is None or container.serves(port):
                    continue
                declared = ", ".join(
                    f"{p.get('name')}={p.get('containerPort')}"
                    if p.get("name")
                    else str(p.get("containerPort"))
                    for p in container.ports()
                )
                findings.append(
                    Finding(
                        Severity.ERROR,
                        "k8s-probe-port",
                        pod.manifest.file,
                        pod.manifest.line(path),
                        f"{pod.manifest.title}: the {probe} of container '{container.name}' "
                        f"checks port {port}, which the container does not serve "
                        f"(it declares {declared}); the probe fails and the pod is "
                        + ("never ready" if probe == "readinessProbe" else "restarted"),
                        "point the probe at a served port (Triton: http=8000 for "
                        "/v2/health/ready) or declare the port",
                    )
                )
    return findings


def _check_service(cluster: Cluster, service: Manifest) -> list[Finding]:
    selector = labels_at(service.data, ("spec", "selector"))
    if not selector:
        return []  # endpoints managed by hand, or an ExternalName
    pods = cluster.pods_selected(selector, service.namespace)
    if not pods:
        candidates = [
            p for p in cluster.pods() if same_namespace(p.manifest.namespace, service.namespace)
        ]
        return [
            Finding(
                Severity.ERROR,
                "k8s-selector-matches-nothing",
                service.file,
                service.line(("spec", "selector")),
                f"{service.title}: selector "
                f"{', '.join(f'{k}={v}' for k, v in sorted(selector.items()))} matches no pod "
                "template among the manifests; the Service has no endpoints",
                (
                    f"use labels the pods carry: {describe_pods(candidates)}"
                    if candidates
                    else "lint the Deployment together with its Service"
                ),
            )
        ]
    findings = []
    for index, port in enumerate(service_ports(service)):
        target = port.get("targetPort", port.get("port"))
        if target is None or any(pod.serves(target) for pod in pods):
            continue
        named = isinstance(target, str) and not target.isdigit()
        declares = any(c.ports() for pod in pods for c in pod.containers())
        if not named and not declares:
            continue
        findings.append(
            Finding(
                Severity.ERROR if named else Severity.WARNING,
                "k8s-target-port",
                service.file,
                service.line(
                    ("spec", "ports", index, "targetPort" if "targetPort" in port else "port")
                ),
                f"{service.title}: targetPort {target} is not a port of the pods it selects "
                f"({describe_pods(pods)})"
                + ("; a port name that no container declares gets no endpoints" if named else ""),
                "use a containerPort number or name the containers declare",
            )
        )
    return findings


def check_service_ref(
    cluster: Cluster,
    referrer: Manifest,
    name: str,
    namespace: str | None,
    port: object,
    at: KeyPath,
    port_at: KeyPath,
) -> list[Finding]:
    """A route's reference to a Service: the Service is linted here and has that port."""
    service = cluster.service(name, namespace)
    if service is None:
        return [
            Finding(
                Severity.ERROR,
                "k8s-unknown-service",
                referrer.file,
                referrer.line(at),
                f"{referrer.title}: {dotted(at)} names Service '{name}', which is not among "
                "the linted manifests",
                did_you_mean(name, cluster.service_names())
                or "fix the name, or lint the Service's manifest together with this one",
            )
        ]
    numbers = [p.get("port") for p in service_ports(service)]
    if port is None or port in numbers:
        return []
    return [
        Finding(
            Severity.ERROR,
            "k8s-service-port",
            referrer.file,
            referrer.line(port_at),
            f"{referrer.title}: {dotted(port_at)} is {port}, but Service '{name}' exposes "
            f"port(s) {', '.join(str(n) for n in numbers) or 'none'}",
            "use one of the Service's ports",
        )
    ]
