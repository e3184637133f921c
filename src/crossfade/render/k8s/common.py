"""Names, labels, images, volumes and scheduling shared by every rendered object."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from crossfade.errors import UsageError
from crossfade.spec.kubernetes import BackendPods, KubernetesSection, VolumeClaim
from crossfade.spec.kubernetes_checks import base_name
from crossfade.spec.models import Spec
from crossfade.spec.tensorrtllm import TensorRTLLMApi

Backend = Literal["tensorrtllm", "vllm"]
Manifest = dict[str, Any]

HTTP_PORT, GRPC_PORT, METRICS_PORT = 8000, 8001, 8002
NAME_LABEL = "app.kubernetes.io/name"
COMPONENT_LABEL = "app.kubernetes.io/component"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
# The label DestinationRule subsets, failoverPriority and monitors select a backend by.
BACKEND_LABEL = "backend"
GPU_RESOURCE = "nvidia.com/gpu"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"
WEIGHTS_VOLUME, ENGINES_VOLUME, RESULTS_VOLUME = "weights", "engines", "results"

_MIB_PER_PYTHON_INSTANCE = 32
_MIN_SHM_MIB = 1024
_MULTI_GPU_SHM_MIB = 8192  # NCCL and vLLM's workers exchange through /dev/shm


@dataclass(frozen=True)
class Context:
    """The spec with its kubernetes section known to be there, and the names derived once."""

    spec: Spec
    k8s: KubernetesSection
    name: str

    @classmethod
    def of(cls, spec: Spec) -> Context:
        if spec.kubernetes is None:
            raise UsageError(
                "the spec has no kubernetes section (namespace, storage, ...); "
                "see `crossfade init` for a commented one"
            )
        return cls(spec, spec.kubernetes, base_name(spec.kubernetes, spec.model))

    @property
    def namespace(self) -> str:
        return self.k8s.namespace

    @property
    def backends(self) -> list[Backend]:
        found: list[Backend] = []
        if self.spec.tensorrtllm is not None:
            found.append("tensorrtllm")
        if self.spec.vllm is not None:
            found.append("vllm")
        return found

    def pods(self, backend: Backend) -> BackendPods:
        return getattr(self.k8s, backend) or BackendPods()

    def object_name(self, *parts: str) -> str:
        return "-".join((self.name, *parts))

    def service_host(self, backend: Backend | None = None) -> str:
        service = self.object_name(backend) if backend else self.name
        return f"{service}.{self.namespace}.svc.cluster.local"

    def triton_image(self, backend: Backend) -> str:
        section = self.spec.tensorrtllm if backend == "tensorrtllm" else self.spec.vllm
        assert section is not None
        # The spec check guarantees a bare tag comes with triton_image, a full reference without.
        return (
            f"{self.k8s.triton_image}:{section.image}" if self.k8s.triton_image else section.image
        )

    def crossfade_image(self, purpose: str) -> str:
        if self.k8s.crossfade_image is None:
            raise UsageError(f"{purpose} runs crossfade: set kubernetes.crossfade_image")
        return self.k8s.crossfade_image


def app_labels(ctx: Context) -> dict[str, str]:
    return {NAME_LABEL: ctx.name, MANAGED_BY_LABEL: "crossfade"}


def backend_labels(ctx: Context, backend: Backend) -> dict[str, str]:
    return {**app_labels(ctx), COMPONENT_LABEL: backend, BACKEND_LABEL: backend}


def selector_labels(ctx: Context, backend: Backend) -> dict[str, str]:
    """What a backend's Deployment and Service select by (a Deployment's selector is fixed)."""
    return {NAME_LABEL: ctx.name, BACKEND_LABEL: backend}


# The engine's tensor x pipeline parallelism on a TensorRT-LLM Deployment ("2x1"), which
# `crossfade lint` compares with the GPUs the pods ask for.
TP_PP_ANNOTATION = "crossfade.io/tp-pp"


def metadata(
    ctx: Context, name: str, labels: dict[str, str], annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ctx.namespace, "labels": labels}
    if annotations:
        meta["annotations"] = annotations
    return meta


def shell_command(head: Sequence[str], words: Sequence[str], raw: Sequence[str] = ()) -> str:
    """A command for `sh -c`, one argument per line: `head` quoted on the first line, then
    each of `words` quoted, then `raw` as given (for "$variables" the shell must expand)."""
    parts = [shlex.join(head), *(shlex.quote(word) for word in words), *raw]
    return " \\\n  ".join(parts)


def seconds(value: float) -> str:
    return f"{value:g}s"


def scheduling(ctx: Context, pods: BackendPods) -> dict[str, Any]:
    """nodeSelector, tolerations and pull secrets of a GPU pod, leaving out what is empty."""
    spec: dict[str, Any] = {}
    if ctx.k8s.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": secret} for secret in ctx.k8s.image_pull_secrets]
    selector = dict(sorted(pods.node_selector.items()))
    if pods.gpu_product is not None:
        selector = {GPU_PRODUCT_LABEL: pods.gpu_product, **selector}
    if selector:
        spec["nodeSelector"] = selector
    if pods.tolerations:
        spec["tolerations"] = [
            toleration.model_dump(exclude_none=True, exclude_defaults=False)
            for toleration in pods.tolerations
        ]
    return spec


def gpu_resources(pods: BackendPods, gpus: int) -> dict[str, Any]:
    """GPUs as a limit (the request follows it); memory request = limit; no CPU limit."""
    requests: dict[str, str] = {}
    limits: dict[str, Any] = {}
    if pods.cpu is not None:
        requests["cpu"] = pods.cpu
    if pods.memory is not None:
        requests["memory"] = limits["memory"] = pods.memory
    limits[GPU_RESOURCE] = gpus
    return {"requests": requests, "limits": limits} if requests else {"limits": limits}


def claim_volume(name: str, claim: VolumeClaim, read_only: bool) -> dict[str, Any]:
    source: dict[str, Any] = {"claimName": claim.claim}
    if read_only:
        source["readOnly"] = True
    return {"name": name, "persistentVolumeClaim": source}


def claim_mount(name: str, claim: VolumeClaim, read_only: bool) -> dict[str, Any]:
    mount: dict[str, Any] = {"name": name, "mountPath": claim.mount_path}
    if read_only:
        mount["readOnly"] = True
    return mount


def python_instances(ctx: Context, backend: Backend) -> int:
    """Model instances that run as python-backend stubs, each with its own shm region."""
    if backend == "vllm":
        assert ctx.spec.vllm is not None
        return ctx.spec.vllm.instance_count
    trt = ctx.spec.tensorrtllm
    assert trt is not None
    if isinstance(trt, TensorRTLLMApi):
        return trt.instance_count
    counts = trt.instances
    engine_on_python = 1 if trt.triton_backend == "python" else 0
    return counts.preprocessing + counts.postprocessing + counts.bls + engine_on_python


def shm_size(ctx: Context, backend: Backend) -> str:
    pods = ctx.pods(backend)
    if pods.shm_size is not None:
        return pods.shm_size
    mib = max(_MIN_SHM_MIB, _MIB_PER_PYTHON_INSTANCE * python_instances(ctx, backend))
    if pods.gpus > 1:
        mib = max(mib, _MULTI_GPU_SHM_MIB)
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"
