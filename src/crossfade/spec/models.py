"""The spec (`crossfade.yaml`): one model, and how each Triton backend serves it.

Optional fields left as ``None`` are deliberately left out of the rendered repository, so the
backend's own default applies; the field docs say what that default is.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    Field,
    PositiveInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails

from crossfade.spec import vllm_engine_args
from crossfade.spec.base import StrictModel, key_error
from crossfade.spec.fields import ModelName, VllmImage
from crossfade.spec.kubernetes import KubernetesSection
from crossfade.spec.kubernetes_checks import kubernetes_problems
from crossfade.spec.tensorrtllm import TensorRTLLMSection


class ModelSection(StrictModel):
    name: ModelName = Field(description="Short name of the model, used in names crossfade makes.")
    served_name: str | None = Field(
        default=None, description="Name clients ask for (OpenAI `model`); defaults to `name`."
    )
    tokenizer: str = Field(description="Folder holding the Hugging Face tokenizer files.")

    @property
    def client_name(self) -> str:
        return self.served_name or self.name


class VllmBackend(StrictModel):
    """The vLLM backend: model.json (AsyncEngineArgs) and config.pbtxt."""

    image: VllmImage
    triton_model_name: ModelName = "vllm_model"
    triton_backend: Literal["vllm", "python"] = Field(
        default="vllm",
        description="'vllm' (Triton's vLLM backend) or 'python' (crossfade's model.py with the "
        "same interface, for servers without the vLLM backend, such as the lab's).",
    )
    engine_args: dict[str, Any] = Field(
        description="model.json: passed verbatim to vLLM's AsyncEngineArgs."
    )
    report_custom_metrics: bool = Field(
        default=True, description="Export vllm:* metrics on Triton's metrics port."
    )
    health_check: bool = Field(
        default=False, description="ENABLE_VLLM_HEALTH_CHECK (beta; needs explicit model control)."
    )
    instance_kind: Literal["KIND_MODEL", "KIND_GPU", "KIND_CPU"] = "KIND_MODEL"
    instance_count: PositiveInt = 1
    lora_adapters: dict[str, str] = Field(
        default_factory=dict,
        description="multi_lora.json: adapter name -> folder; sets enable_lora in model.json.",
    )

    @field_validator("engine_args")
    @classmethod
    def _engine_args(cls, value: dict[str, Any]) -> dict[str, Any]:
        if "model" not in value:
            raise ValueError("engine_args needs 'model' (the weights folder or model id)")
        for key, arg in value.items():
            problem = vllm_engine_args.check(key, arg)
            if problem is not None:
                message, hint = problem
                raise key_error(key, message, hint=hint)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> VllmBackend:
        if self.report_custom_metrics and self.engine_args.get("disable_log_stats") is True:
            raise ValueError(
                "report_custom_metrics needs vLLM's stats: remove disable_log_stats "
                "from engine_args or set it to false"
            )
        if self.instance_kind == "KIND_GPU" and self.parallel_size > 1:
            raise ValueError(
                "instance_kind KIND_GPU with tensor/pipeline parallelism > 1 fails to load; "
                "use KIND_MODEL"
            )
        if self.engine_args.get("enable_lora") and not self.lora_adapters:
            raise ValueError("engine_args enables LoRA but lora_adapters is empty")
        return self

    @property
    def parallel_size(self) -> int:
        tp = int(self.engine_args.get("tensor_parallel_size", 1))
        pp = int(self.engine_args.get("pipeline_parallel_size", 1))
        return tp * pp

    def model_json(self) -> dict[str, Any]:
        """model.json exactly as the backend will read it."""
        args = dict(self.engine_args)
        if self.lora_adapters:
            args["enable_lora"] = True
        return args


ModelSupport = Literal["both", "vllm_only", "tensorrtllm_only"]
# The quantization a checkpoint carries. vLLM loads each of these; TensorRT-LLM's PyTorch backend
# reads FP8 and NVFP4 (ModelOpt's or Hugging Face's config), not AutoAWQ's or GPTQ's format.
Quantization = Literal["none", "fp8", "nvfp4", "awq", "gptq"]
VLLM_ONLY_FORMATS = ("awq", "gptq")
SHARED_FORMATS = ("none", "fp8", "nvfp4")
# What the engine-era advice asked and today's does not: a spec that still states it gets the
# reason and the fix, never a bare "unknown key".
RETIRED_FACTS = {
    "engine_pipeline": (
        "TensorRT-LLM loads a Hugging Face checkpoint with no engine to build",
        "remove it; a team that serves engines today states tensorrtllm_runs_engines: true",
    ),
    "model_updates": (
        "both backends serve a new checkpoint on restart, with no engine to rebuild",
        "remove it",
    ),
    "gpu_fleet": (
        "no engine ties TensorRT-LLM to one GPU type any more",
        "remove it",
    ),
}
RETIRED_QUANTIZATION = {
    "int4_awq_build": ("AWQ applied while an engine was built", "'awq' for an AWQ checkpoint"),
    "int8": ("INT8 applied while an engine was built", "'fp8', 'nvfp4', 'awq' or 'gptq'"),
}


class Deployment(StrictModel):
    """Facts about how the model is run, which `crossfade advise` decides from.

    Every fact is optional: advise names the missing ones that would change its answer.
    """

    tensorrtllm_runs_engines: bool | None = Field(
        default=None,
        description="Whether TensorRT-LLM engines (the legacy inflight_batcher_llm ensemble) "
        "serve traffic today. A spec whose tensorrtllm: section has the engine layout says so "
        "itself.",
    )
    model_support: ModelSupport | None = Field(
        default=None,
        description="Which backends support the model's architecture, by their supported-models "
        "lists: 'both', 'vllm_only' or 'tensorrtllm_only'.",
    )
    quantization: Quantization | None = Field(
        default=None,
        description="The quantization the checkpoint carries: 'none', 'fp8', 'nvfp4' (ModelOpt "
        "or Hugging Face FP8/NVFP4), 'awq' or 'gptq'.",
    )
    ttft_p99_target_ms: float | None = Field(
        default=None, gt=0, description="Time-to-first-token target at p99, in milliseconds."
    )
    itl_p99_target_ms: float | None = Field(
        default=None, gt=0, description="Inter-token latency target at p99, in milliseconds."
    )
    expected_concurrency: PositiveInt | None = Field(
        default=None, description="Requests in flight at once at the expected peak."
    )

    @model_validator(mode="before")
    @classmethod
    def _retired(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for key, (why, fix) in RETIRED_FACTS.items():
            if key in data:
                raise key_error(key, f"'{key}' is no longer a deployment fact: {why}", hint=fix)
        value = data.get("quantization")
        if isinstance(value, str) and value in RETIRED_QUANTIZATION:
            was, instead = RETIRED_QUANTIZATION[value]
            raise key_error(
                "quantization",
                f"'{value}' was {was}, which went with engines: state the quantization the "
                "checkpoint carries",
                hint=f"{instead}, or 'none'",
            )
        return data


class Spec(StrictModel):
    """A crossfade spec: the model and, for each backend that serves it, how."""

    version: Literal[1] = 1
    model: ModelSection
    gpu: str | None = Field(default=None, description="Target GPU, e.g. 'H100' or 'L40S'.")
    tensorrtllm: TensorRTLLMSection | None = None
    vllm: VllmBackend | None = None
    deployment: Deployment | None = Field(
        default=None,
        description="Facts about the deployment that `crossfade advise` decides from.",
    )
    kubernetes: KubernetesSection | None = Field(
        default=None,
        description="Where and how `crossfade render k8s` runs each backend on Kubernetes.",
    )

    @field_validator("kubernetes")
    @classmethod
    def _kubernetes_fits(
        cls, value: KubernetesSection | None, info: ValidationInfo
    ) -> KubernetesSection | None:
        # Fields that failed their own validation are missing from info.data: check nothing
        # against them, their own error is already reported.
        if value is None or "model" not in info.data:
            return value
        if "tensorrtllm" not in info.data or "vllm" not in info.data:
            return value
        problems = kubernetes_problems(
            value, info.data["model"], info.data["tensorrtllm"], info.data["vllm"]
        )
        if problems:
            # Raised as a ValidationError so each problem keeps its own path (and line).
            raise ValidationError.from_exception_data(
                "kubernetes",
                [
                    InitErrorDetails(
                        type=key_error(field.rsplit(".", 1)[-1], message),
                        loc=tuple(field.split(".")[:-1]),
                        input=value,
                    )
                    for field, message in problems
                ],
            )
        return value

    @model_validator(mode="after")
    def _has_backend(self) -> Spec:
        if self.tensorrtllm is None and self.vllm is None:
            raise ValueError("a spec needs at least one backend: 'tensorrtllm' or 'vllm'")
        return self
