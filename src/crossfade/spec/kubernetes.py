"""The spec's `kubernetes` section: where and how `crossfade render k8s` runs each backend.

Only facts Kubernetes needs live here; how Triton serves the model stays in the backend
sections. Checks that need both (GPU counts against parallelism, paths against mounts) are in
`crossfade.spec.kubernetes_checks`, run by `Spec`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, NonNegativeInt, PositiveFloat, PositiveInt, model_validator

from crossfade.spec.base import StrictModel

# Service and Job names must be DNS-1035 labels; suffixes ("-tensorrtllm-bench") need room.
BaseName = Annotated[str, Field(pattern=r"^[a-z]([-a-z0-9]*[a-z0-9])?$", max_length=40)]
Namespace = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]
ObjectName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", max_length=253)]
Quantity = Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")]
AbsolutePath = Annotated[str, Field(pattern=r"^/\S*$")]
ImageName = Annotated[str, Field(pattern=r"^[^\s@]+$")]
Percent = Annotated[int, Field(ge=0, le=100)]


class VolumeClaim(StrictModel):
    """An existing PersistentVolumeClaim and where the containers see it."""

    claim: ObjectName = Field(description="Name of the PersistentVolumeClaim.")
    mount_path: AbsolutePath = Field(description="Where it is mounted in every container.")


class Storage(StrictModel):
    weights: VolumeClaim = Field(
        description="Tokenizer and weights: model.tokenizer, vllm.engine_args.model and "
        "tensorrtllm.llm_args.model (the checkpoint the LLM API model loads) live under its "
        "mount_path. Mounted read-only."
    )
    engines: VolumeClaim | None = Field(
        default=None,
        description="Legacy engine layout: TensorRT-LLM engines (tensorrtllm.engine_dir lives "
        "under it). Read-only when serving; the engine build Job writes to it. The LLM API "
        "layout needs none.",
    )
    results: VolumeClaim | None = Field(
        default=None,
        description="Shared (ReadWriteMany) volume where the bench Job's pods write their shards.",
    )


class Toleration(StrictModel):
    key: str | None = None
    operator: Literal["Equal", "Exists"] = "Equal"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None

    @model_validator(mode="after")
    def _shape(self) -> Toleration:
        if self.operator == "Exists" and self.value is not None:
            raise ValueError("a toleration with operator Exists takes no value")
        if self.operator == "Equal" and self.key is None:
            raise ValueError("a toleration with operator Equal needs a key")
        return self


class BackendPods(StrictModel):
    """How many pods of one backend run, on which GPUs and nodes."""

    replicas: NonNegativeInt = 1
    gpus: PositiveInt = Field(
        default=1,
        description="GPUs per pod (nvidia.com/gpu). Must equal the model's parallelism: vLLM's "
        "tensor x pipeline parallel size; for TensorRT-LLM's LLM API model, tensor x pipeline "
        "parallel size (several instances: the GPUs their gpu_device_ids name); for the legacy "
        "engine, its tp_size x pp_size.",
    )
    gpu_product: str | None = Field(
        default=None,
        description="Node label nvidia.com/gpu.product to run on, e.g. NVIDIA-H100-80GB-HBM3.",
    )
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(default_factory=list)
    cpu: Quantity | None = Field(default=None, description="CPU request, e.g. '8'.")
    memory: Quantity | None = Field(default=None, description="Memory request and limit.")
    shm_size: Quantity | None = Field(
        default=None,
        description="Size of /dev/shm (memory-backed, counts against memory), where Triton's "
        "python backend passes tensors. Default: 1Gi, or 32Mi per python-backend model instance "
        "if that is more; at least 8Gi with several GPUs (NCCL uses it too).",
    )
    startup_timeout_s: PositiveInt = Field(
        default=1200, description="How long the server may take to load models before restarts."
    )


class EngineBuild(StrictModel):
    """A Job that builds the engine with trtllm-build in the serving image, then stamps it."""

    checkpoint_dir: AbsolutePath = Field(
        description="TensorRT-LLM checkpoint (convert_checkpoint.py or quantize.py output)."
    )
    tp_size: PositiveInt = Field(default=1, description="Tensor parallelism of the checkpoint.")
    pp_size: PositiveInt = Field(default=1, description="Pipeline parallelism of the checkpoint.")
    build_args: list[str] = Field(
        default_factory=list,
        description="Extra trtllm-build flags, e.g. ['--gemm_plugin', 'auto'].",
    )

    @model_validator(mode="after")
    def _own_flags(self) -> EngineBuild:
        for arg in self.build_args:
            flag = arg.split("=", 1)[0]
            if flag in ("--checkpoint_dir", "--output_dir", "--workers"):
                raise ValueError(
                    f"build_args sets {flag}, which the Job derives "
                    "(checkpoint_dir, tensorrtllm.engine_dir, tp_size x pp_size)"
                )
        return self

    @property
    def world_size(self) -> int:
        return self.tp_size * self.pp_size


class Monitoring(StrictModel):
    kind: Literal["PodMonitor", "ServiceMonitor"] = "PodMonitor"
    interval_s: PositiveInt = 15
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Labels your Prometheus selects monitors by, e.g. {release: prometheus}.",
    )


class TrafficWeights(StrictModel):
    tensorrtllm: Percent
    vllm: Percent

    @model_validator(mode="after")
    def _sum(self) -> TrafficWeights:
        if self.tensorrtllm + self.vllm != 100:
            raise ValueError(
                f"weights are percentages and must add up to 100 "
                f"(got {self.tensorrtllm} + {self.vllm})"
            )
        return self


class Retries(StrictModel):
    attempts: NonNegativeInt = Field(default=2, description="0 turns retries off.")
    per_try_timeout_s: PositiveInt | None = Field(
        default=None, description="Default: the whole timeout_s (a stream counts as one try)."
    )


class OutlierDetection(StrictModel):
    consecutive_5xx_errors: PositiveInt = 5
    interval_s: PositiveInt = 10
    base_ejection_time_s: PositiveInt = 30
    max_ejection_percent: Percent = 100


class GatewayRef(StrictModel):
    name: ObjectName
    namespace: Namespace | None = None


class Traffic(StrictModel):
    """The weighted split between the two backends' Deployments."""

    router: Literal["istio", "gateway-api"] = Field(
        description="'istio' (VirtualService + DestinationRule) or 'gateway-api' (HTTPRoute)."
    )
    weights: TrafficWeights
    timeout_s: PositiveInt = Field(
        default=600, description="Whole-request timeout; a streamed answer must finish in it."
    )
    retries: Retries = Retries()
    outlier_detection: OutlierDetection = Field(
        default=OutlierDetection(), description="Istio: ejects failing pods (failover needs it)."
    )
    failover: bool = Field(
        default=True,
        description="Istio: TensorRT-LLM's share moves to the vLLM pods as TensorRT-LLM pods "
        "fail (outlier detection + DestinationRule failoverPriority).",
    )
    gateway: GatewayRef | None = Field(
        default=None,
        description="The Gateway the route attaches to (gateway-api: required; istio: optional, "
        "mesh traffic is always routed).",
    )
    hostnames: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _try_within_request(self) -> Traffic:
        per_try = self.retries.per_try_timeout_s
        if per_try is not None and per_try > self.timeout_s:
            raise ValueError(
                f"retries.per_try_timeout_s {per_try} exceeds timeout_s {self.timeout_s}: "
                "one try cannot outlast the whole request"
            )
        return self


class BenchJob(StrictModel):
    """Defaults of the distributed benchmark Job (an Indexed Job of `pods` pods)."""

    pods: PositiveInt = 1
    concurrency: PositiveInt | None = Field(default=None, description="Total, over all pods.")
    rate: PositiveFloat | None = Field(default=None, description="Total requests per second.")
    requests: PositiveInt | None = Field(default=None, description="Total, over all pods.")
    duration_s: PositiveFloat | None = None
    input_len: str = "128"
    output_len: str = "128"
    tensorrtllm_model: Literal["tensorrt_llm_bls", "ensemble"] = Field(
        default="tensorrt_llm_bls",
        description="Entry model the TensorRT-LLM bench targets (BLS streams whole words).",
    )
    start_delay_s: PositiveInt = Field(
        default=60, description="Common start: this long after the first pod comes up."
    )
    request_timeout_s: PositiveFloat = Field(
        default=600.0, description="Per-request deadline (crossfade bench --timeout)."
    )
    shard_wait_s: PositiveInt | None = Field(
        default=None,
        description="How long pod 0 waits for the other shards once its own is done, then "
        "merges those with a result and fails; default: request_timeout_s + 60.",
    )
    active_deadline_s: PositiveInt | None = Field(
        default=None,
        description="The Job's deadline; default: the longest the run can take by its load "
        "settings and request_timeout_s, plus start_delay_s, shard_wait_s and 15 minutes for "
        "pods to start and merge.",
    )
    cpu: Quantity | None = None
    memory: Quantity | None = None
    extra_args: list[str] = Field(
        default_factory=list, description="More `crossfade bench` flags, e.g. ['--slo', '...']."
    )

    @model_validator(mode="after")
    def _load(self) -> BenchJob:
        if (self.concurrency is None) == (self.rate is None):
            raise ValueError("give exactly one of concurrency (closed loop) or rate (open loop)")
        if self.requests is None and self.duration_s is None:
            raise ValueError("give requests, duration_s or both, so the run ends")
        # Each pod runs its share of the totals; a pod without a slot or a request would idle.
        for field, total in (("concurrency", self.concurrency), ("requests", self.requests)):
            if total is not None and total < self.pods:
                raise ValueError(f"{field} {total} is less than pods {self.pods}: use fewer pods")
        if any(arg == "--timeout" or arg.startswith("--timeout=") for arg in self.extra_args):
            raise ValueError(
                "extra_args: give the request deadline as request_timeout_s, not --timeout "
                "(the Job's deadline is derived from it)"
            )
        return self


class KubernetesSection(StrictModel):
    """Everything `crossfade render k8s` needs that the backend sections do not say."""

    namespace: Namespace
    name: BaseName | None = Field(
        default=None, description="Base of every object's name; default: model.name."
    )
    triton_image: ImageName | None = Field(
        default=None,
        description="Triton image without its tag, e.g. registry.example/nvidia/tritonserver; "
        "the tag is tensorrtllm.image / vllm.image. Leave out when those are full image "
        "references.",
    )
    crossfade_image: ImageName | None = Field(
        default=None,
        description="An image with crossfade installed: runs the bench pods and the engine stamp.",
    )
    image_pull_secrets: list[ObjectName] = Field(default_factory=list)
    storage: Storage
    tensorrtllm: BackendPods | None = Field(default=None, description="Default: one pod, 1 GPU.")
    vllm: BackendPods | None = Field(default=None, description="Default: one pod, 1 GPU.")
    engine_build: EngineBuild | None = None
    monitoring: Monitoring | None = Field(
        default=Monitoring(), description="Prometheus Operator monitor; null renders none."
    )
    traffic: Traffic | None = None
    bench: BenchJob | None = None
