"""Serving objects: per backend a ConfigMap and a Deployment; Services; a Prometheus monitor."""

from __future__ import annotations

import math
from typing import Any

from crossfade.render.k8s.common import (
    BACKEND_LABEL,
    ENGINES_VOLUME,
    GRPC_PORT,
    HTTP_PORT,
    METRICS_PORT,
    NAME_LABEL,
    TP_PP_ANNOTATION,
    WEIGHTS_VOLUME,
    Backend,
    Context,
    Manifest,
    app_labels,
    backend_labels,
    claim_mount,
    claim_volume,
    gpu_resources,
    metadata,
    scheduling,
    seconds,
    selector_labels,
    shm_size,
)
from crossfade.render.k8s.llmapi import llmapi_backend
from crossfade.render.k8s.repository import CHECKSUM_ANNOTATION, ship_repository
from crossfade.spec.kubernetes_checks import MODEL_REPOSITORY_PATH

READY_PATH = "/v2/health/ready"
LIVE_PATH = "/v2/health/live"
STARTUP_PERIOD_S = 10
PROGRESS_MARGIN_S = 600
SHM_VOLUME = "dshm"
PORTS = (("http", HTTP_PORT), ("grpc", GRPC_PORT), ("metrics", METRICS_PORT))


def serving_objects(ctx: Context, backend: Backend) -> tuple[Manifest, Manifest]:
    """The backend's model-repository ConfigMap and the Deployment that serves it."""
    image = ctx.triton_image(backend)
    pods = ctx.pods(backend)
    repository = ship_repository(ctx, backend, image)
    container: dict[str, Any] = {
        "name": "triton",
        "image": image,
        "command": ["tritonserver"],
        "args": _server_args(ctx, backend),
    }
    env = _server_env(ctx, backend)
    if env:
        container["env"] = env
    container |= {
        "ports": [{"name": name, "containerPort": port, "protocol": "TCP"} for name, port in PORTS],
        "resources": gpu_resources(pods, pods.gpus),
        "startupProbe": _probe(
            READY_PATH, STARTUP_PERIOD_S, math.ceil(pods.startup_timeout_s / STARTUP_PERIOD_S)
        ),
        "readinessProbe": _probe(READY_PATH, 5, 3),
        "livenessProbe": _probe(LIVE_PATH, 10, 6),
        "volumeMounts": [repository.mount, *_data_mounts(ctx, backend)],
    }
    pod_spec: dict[str, Any] = {
        **scheduling(ctx, pods),
        "initContainers": [repository.init_container],
        "containers": [container],
        "volumes": [*repository.volumes, *_data_volumes(ctx, backend)],
    }
    build = ctx.k8s.engine_build
    # What `crossfade lint` checks the GPU count against when no engine folder is at hand (the
    # LLM API layout builds nothing: lint reads its parallelism from the ConfigMap's model.yaml).
    parallelism = (
        {TP_PP_ANNOTATION: f"{build.tp_size}x{build.pp_size}"}
        if backend == "tensorrtllm" and build is not None
        else None
    )
    meta = metadata(ctx, ctx.object_name(backend), backend_labels(ctx, backend), parallelism)
    deployment: Manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": pods.replicas,
            # Loading a large model may take the whole startup budget; only then is it stuck.
            "progressDeadlineSeconds": pods.startup_timeout_s + PROGRESS_MARGIN_S,
            "selector": {"matchLabels": selector_labels(ctx, backend)},
            "template": {
                "metadata": {
                    "labels": backend_labels(ctx, backend),
                    "annotations": {CHECKSUM_ANNOTATION: repository.checksum},
                },
                "spec": pod_spec,
            },
        },
    }
    return repository.config_map, deployment


def _server_args(ctx: Context, backend: Backend) -> list[str]:
    args = [
        f"--model-repository={MODEL_REPOSITORY_PATH}",
        f"--http-port={HTTP_PORT}",
        f"--grpc-port={GRPC_PORT}",
        f"--metrics-port={METRICS_PORT}",
    ]
    if backend == "vllm" and ctx.spec.vllm is not None and ctx.spec.vllm.health_check:
        # ENABLE_VLLM_HEALTH_CHECK unloads a failed model, which needs explicit control.
        args += ["--model-control-mode=explicit", "--load-model=*"]
    return args


def _server_env(ctx: Context, backend: Backend) -> list[dict[str, str]]:
    # The LLM API model needs nothing here: its LLM() spawns its workers itself (llmapi.py).
    engine = backend == "tensorrtllm" and llmapi_backend(ctx) is None
    if engine and ctx.pods(backend).gpus > 1:
        # The legacy C++ backend's orchestrator mode: one tritonserver process spawns the
        # other ranks itself (no mpirun per rank).
        return [{"name": "TRTLLM_ORCHESTRATOR", "value": "1"}]
    return []


def _probe(path: str, period_s: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period_s,
        "failureThreshold": failures,
    }


def _data_mounts(ctx: Context, backend: Backend) -> list[dict[str, Any]]:
    storage = ctx.k8s.storage
    mounts = [claim_mount(WEIGHTS_VOLUME, storage.weights, read_only=True)]
    if backend == "tensorrtllm" and storage.engines is not None:
        mounts.append(claim_mount(ENGINES_VOLUME, storage.engines, read_only=True))
    mounts.append({"name": SHM_VOLUME, "mountPath": "/dev/shm"})
    return mounts


def _data_volumes(ctx: Context, backend: Backend) -> list[dict[str, Any]]:
    storage = ctx.k8s.storage
    volumes = [claim_volume(WEIGHTS_VOLUME, storage.weights, read_only=True)]
    if backend == "tensorrtllm" and storage.engines is not None:
        volumes.append(claim_volume(ENGINES_VOLUME, storage.engines, read_only=True))
    shm = {"medium": "Memory", "sizeLimit": shm_size(ctx, backend)}
    volumes.append({"name": SHM_VOLUME, "emptyDir": shm})
    return volumes


def _service(ctx: Context, name: str, labels: dict[str, str], selector: dict[str, str]) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(ctx, name, labels),
        "spec": {
            "selector": selector,
            # Istio picks the protocol from the port name prefix (http, grpc).
            "ports": [
                {"name": port_name, "port": port, "targetPort": port_name, "protocol": "TCP"}
                for port_name, port in PORTS
            ],
        },
    }


def backend_service(ctx: Context, backend: Backend) -> Manifest:
    """One backend's pods: what the bench targets and an HTTPRoute's backendRefs name."""
    labels = backend_labels(ctx, backend)
    return _service(ctx, ctx.object_name(backend), labels, selector_labels(ctx, backend))


def shared_service(ctx: Context) -> Manifest:
    """Every backend's pods behind one host, which Istio's VirtualService splits by weight.

    Without the mesh this Service would split by pod count, so it is rendered only for Istio.
    """
    return _service(ctx, ctx.name, app_labels(ctx), {NAME_LABEL: ctx.name})


def monitor(ctx: Context) -> Manifest | None:
    settings = ctx.k8s.monitoring
    if settings is None:
        return None
    labels = {**app_labels(ctx), **dict(sorted(settings.labels.items()))}
    endpoint = {"port": "metrics", "path": "/metrics", "interval": seconds(settings.interval_s)}
    if settings.kind == "PodMonitor":
        spec: dict[str, Any] = {
            "selector": {"matchLabels": {NAME_LABEL: ctx.name}},
            "podTargetLabels": [BACKEND_LABEL],
            "podMetricsEndpoints": [endpoint],
        }
    else:
        # Only the per-backend Services carry the backend label; the shared one would make
        # every pod scraped twice.
        spec = {
            "selector": {
                "matchLabels": {NAME_LABEL: ctx.name},
                "matchExpressions": [{"key": BACKEND_LABEL, "operator": "Exists"}],
            },
            "targetLabels": [BACKEND_LABEL],
            "endpoints": [endpoint],
        }
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": settings.kind,
        "metadata": metadata(ctx, ctx.name, labels),
        "spec": spec,
    }
