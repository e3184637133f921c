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
from crossfade.spec.fields import ModelName, check_image
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

    image: str = Field(description="Triton container tag, e.g. '25.12-vllm-python-py3'.")
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

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        return check_image(value, "vllm")

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


ModelUpdates = Literal["daily", "weekly", "monthly", "quarterly", "rarely"]
# Pre-quantized Hugging Face checkpoints (vLLM loads them as they are) versus formats that
# TensorRT-LLM's quantization step produces while the engine is built.
PREQUANTIZED_FORMATS = ("awq", "gptq")
BUILD_TIME_FORMATS = ("fp8", "int8", "int4_awq_build")
Quantization = Literal["none", "awq", "gptq", "fp8", "int8", "int4_awq_build"]


class Deployment(StrictModel):
    """Facts about how the model is run, which `crossfade advise` decides from.

    Every fact is optional: advise names the missing ones that would change its answer.
    """

    model_updates: ModelUpdates | None = Field(
        default=None,
        description="How often a new model version ships: daily, weekly, monthly, quarterly "
        "or rarely. Each change needs a new TensorRT-LLM engine.",
    )
    gpu_fleet: Literal["uniform", "mixed"] | None = Field(
        default=None,
        description="'uniform' (one GPU type) or 'mixed'. An engine is built per GPU type.",
    )
    quantization: Quantization | None = Field(
        default=None,
        description="'none'; a pre-quantized checkpoint ('awq', 'gptq'); or quantized at "
        "engine build time ('fp8', 'int8', 'int4_awq_build').",
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
    engine_pipeline: bool | None = Field(
        default=None,
        description="Whether the team can build and stamp TensorRT-LLM engines in CI, "
        "per GPU type and TensorRT-LLM version.",
    )


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
