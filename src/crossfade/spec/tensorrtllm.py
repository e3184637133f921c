"""The spec's `tensorrtllm:` section, in one of two layouts.

- `llmapi` (the default): TensorRT-LLM's LLM API model, one python-backend model named
  `tensorrt_llm` whose `1/model.yaml` holds the keyword arguments of `tensorrt_llm.LLM` (PyTorch
  backend) and a `triton_config`; it loads a Hugging Face checkpoint directly. Its model.py and
  helpers.py come from the serving container.
- `engine` (legacy): the in-flight batching ensemble around a TensorRT engine. TensorRT-LLM
  removed the engine backend, `trtllm-build` and this ensemble after 1.3.0rc20; the layout stays
  for deployments that still run engines. A spec that gives `engine_dir` and no `layout` is one
  written before layouts existed, and keeps this layout.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Discriminator,
    Field,
    NonNegativeInt,
    PositiveInt,
    Tag,
    field_validator,
    model_validator,
)

from crossfade.spec import llmapi_args, trtllm_parameters
from crossfade.spec.base import StrictModel, key_error
from crossfade.spec.fields import (
    Fraction,
    ModelName,
    ParameterValue,
    TritonDataType,
    TrtllmImage,
)
from crossfade.spec.suggest import did_you_mean

# Where the serving container keeps the LLM API model's model.py and helpers.py.
CONTAINER_MODEL_FILES = "/app/all_models/llmapi/tensorrt_llm/1"
LLMAPI_MODEL_NAME = "tensorrt_llm"


class InstanceCounts(StrictModel):
    preprocessing: PositiveInt = 1
    postprocessing: PositiveInt = 1
    bls: PositiveInt = Field(
        default=1, description="Upstream advises about the engine's max batch."
    )


class EngineEmulator(StrictModel):
    """Timing model of the lab's TensorRT-LLM engine emulator (never real TensorRT-LLM).

    In-flight batching: each iteration admits waiting requests up to `max_batch_size`, prefills
    the new ones and gives every running request one token. An iteration lasts
    ``decode_step_ms + decode_step_ms_per_request * (running - 1)
    + prefill_ms_per_token * (prompt tokens admitted in it)``. See docs/lab.md.
    """

    prefill_ms_per_token: float = Field(default=0.02, ge=0.0)
    decode_step_ms: float = Field(default=1.0, gt=0.0)
    decode_step_ms_per_request: float = Field(default=0.12, ge=0.0)
    max_batch_size: PositiveInt = 32
    kv_cache_tokens: PositiveInt = Field(
        default=65536, description="Size of the emulated KV cache."
    )
    tokens_per_block: PositiveInt = 32
    seed: int = 0


class TensorRTLLMEngine(StrictModel):
    """The legacy layout: the in-flight batching ensemble (preprocessing, tensorrt_llm,
    postprocessing, BLS) around a TensorRT engine built with `trtllm-build`. TensorRT-LLM removed
    the engine backend after 1.3.0rc20; this layout serves deployments that still run engines."""

    layout: Literal["engine"] = Field(
        default="engine",
        description="'engine': the legacy engine ensemble (taken when engine_dir is given).",
    )
    image: TrtllmImage
    engine_dir: str = Field(description="Engine folder as the server sees it (gpt_model_path).")
    tokenizer_dir: str | None = Field(default=None, description="Defaults to model.tokenizer.")
    triton_backend: Literal["tensorrtllm", "python"] = Field(
        default="tensorrtllm",
        description="'tensorrtllm' (C++ backend) or 'python' (a python-backend model.py).",
    )
    triton_max_batch_size: PositiveInt = 64
    decoupled: bool = Field(default=True, description="Needed for streaming (generate_stream).")
    batching_strategy: Literal["inflight_fused_batching", "inflight_batching", "V1"] = (
        "inflight_fused_batching"
    )
    batch_scheduler_policy: Literal["max_utilization", "guaranteed_no_evict"] | None = None
    kv_cache_free_gpu_mem_fraction: Fraction | None = Field(
        default=None, description="Backend default 0.9 of the memory free after weights."
    )
    max_tokens_in_paged_kv_cache: PositiveInt | None = None
    enable_chunked_context: bool | None = Field(
        default=None, description="Backend default false; needs use_paged_context_fmha."
    )
    enable_kv_cache_reuse: bool | None = Field(
        default=None, description="Backend default true since early 2025, false before."
    )
    exclude_input_in_output: bool = Field(
        default=True, description="Do not echo the prompt in non-streaming answers."
    )
    max_queue_delay_microseconds: int = Field(default=0, ge=0)
    max_queue_size: int = Field(default=0, ge=0)
    instances: InstanceCounts = InstanceCounts()
    accumulate_tokens: bool = Field(
        default=True,
        description="BLS re-decodes all tokens per streamed step, so spaces and UTF-8 survive.",
    )
    gpu_device_ids: list[Annotated[int, Field(ge=0)]] | None = None
    add_special_tokens: bool | None = None
    skip_special_tokens: bool | None = None
    logits_datatype: TritonDataType = "TYPE_FP32"
    encoder_input_features_data_type: TritonDataType = "TYPE_FP16"
    prompt_embedding_table_data_type: TritonDataType = "TYPE_FP16"
    parameters: dict[str, ParameterValue] = Field(
        default_factory=dict,
        description="Other `tensorrt_llm` parameters, by their config.pbtxt key.",
    )
    emulator: EngineEmulator | None = Field(
        default=None,
        description="Lab only: replace the engine with crossfade's labelled emulator.",
    )

    @model_validator(mode="after")
    def _emulator_on_python(self) -> TensorRTLLMEngine:
        if self.emulator is not None and self.triton_backend != "python":
            raise ValueError(
                "the engine emulator runs on the python backend: set triton_backend: python"
            )
        return self

    @property
    def layout_inferred(self) -> bool:
        """The spec gave engine_dir and no `layout:` (a spec written before layouts existed)."""
        return "layout" not in self.model_fields_set

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, value: dict[str, ParameterValue]) -> dict[str, ParameterValue]:
        for key in value:
            if key in trtllm_parameters.MODELLED:
                raise key_error(
                    key,
                    f"'{key}' has its own field in the spec",
                    hint="set it with that field instead of under parameters",
                )
            if key not in trtllm_parameters.KNOWN:
                raise key_error(
                    key,
                    f"'{key}' is not a parameter of the tensorrt_llm model",
                    hint=did_you_mean(key, trtllm_parameters.KNOWN),
                )
        return value


class TensorRTLLMApi(StrictModel):
    """TensorRT-LLM's LLM API model: one python-backend model that loads a Hugging Face
    checkpoint with `tensorrt_llm.LLM` (PyTorch backend). `llm_args` is model.yaml; the
    `triton_config` beside it comes from `decoupled` and `cancellation_check_period_ms`."""

    layout: Literal["llmapi"] = Field(
        default="llmapi", description="'llmapi': the LLM API model (the default)."
    )
    image: TrtllmImage
    triton_model_name: ModelName = Field(
        default=LLMAPI_MODEL_NAME, description="Upstream names the model 'tensorrt_llm'."
    )
    llm_args: dict[str, Any] = Field(
        description="model.yaml: the keyword arguments of tensorrt_llm.LLM (model, "
        "tensor_parallel_size, kv_cache_config, max_batch_size, max_num_tokens, ...)."
    )
    decoupled: bool = Field(
        default=True,
        description="triton_config.decoupled: streaming (generate_stream) needs it; upstream's "
        "model.yaml ships false.",
    )
    cancellation_check_period_ms: PositiveInt | None = Field(
        default=None, description="triton_config.cancellation_check_period_ms (model default 100)."
    )
    instance_count: PositiveInt = Field(
        default=1, description="Model instances; more than one needs gpu_device_ids per instance."
    )
    gpu_device_ids: list[list[NonNegativeInt]] | None = Field(
        default=None,
        description="GPUs of each instance, e.g. [[0, 1], [2, 3]] (the model's gpu_device_ids "
        "parameter, '0,1;2,3').",
    )
    model_files: str = Field(
        default=CONTAINER_MODEL_FILES,
        description="Folder of model.py and helpers.py in the serving container.",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_engine_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in data:
                if key in TensorRTLLMEngine.model_fields and key not in cls.model_fields:
                    raise key_error(
                        key,
                        f"'{key}' belongs to the legacy engine layout",
                        hint="the LLM API model loads the checkpoint named by llm_args.model; "
                        "to keep serving an engine, set layout: engine",
                    )
        return data

    @field_validator("llm_args")
    @classmethod
    def _llm_args(cls, value: dict[str, Any]) -> dict[str, Any]:
        if "model" not in value:
            raise ValueError("llm_args needs 'model' (the checkpoint folder or model id)")
        if llmapi_args.TRITON_CONFIG in value:
            raise key_error(
                llmapi_args.TRITON_CONFIG,
                "crossfade writes triton_config itself",
                hint="set tensorrtllm.decoupled and cancellation_check_period_ms instead",
            )
        for key, arg in value.items():
            problem = llmapi_args.check(key, arg)
            if problem is not None:
                message, hint = problem
                raise key_error(key, message, hint=hint)
        return value

    @model_validator(mode="after")
    def _instances(self) -> TensorRTLLMApi:
        ids = self.gpu_device_ids
        if self.instance_count > 1 and (ids is None or len(ids) != self.instance_count):
            raise ValueError(
                f"instance_count {self.instance_count} needs gpu_device_ids with one GPU list "
                "per instance, e.g. [[0, 1], [2, 3]]"
            )
        if ids is not None and any(len(group) != self.parallel_size for group in ids):
            raise ValueError(
                f"each instance's gpu_device_ids must list tensor_parallel_size x "
                f"pipeline_parallel_size = {self.parallel_size} GPU(s)"
            )
        return self

    @property
    def parallel_size(self) -> int:
        tp = int(self.llm_args.get("tensor_parallel_size", 1))
        pp = int(self.llm_args.get("pipeline_parallel_size", 1))
        return tp * pp

    def triton_config(self) -> dict[str, Any]:
        """model.yaml's triton_config: the model reads `decoupled` and `max_batch_size` (both
        required: it indexes them) and optionally the cancellation period."""
        config: dict[str, Any] = {"max_batch_size": 0, "decoupled": self.decoupled}
        if self.cancellation_check_period_ms is not None:
            config["cancellation_check_period_ms"] = self.cancellation_check_period_ms
        return config

    def model_yaml(self) -> dict[str, Any]:
        """model.yaml exactly as the model will read it."""
        return {**self.llm_args, llmapi_args.TRITON_CONFIG: self.triton_config()}


def _layout(data: Any) -> str | None:
    """The layout a section is written in; a spec written before layouts gave engine_dir (and
    no llm_args: given both, the LLM API model says what engine_dir is doing there)."""
    if isinstance(data, dict):
        legacy = "engine_dir" in data and "llm_args" not in data
        layout = data.get("layout", "engine" if legacy else "llmapi")
    else:
        layout = getattr(data, "layout", None)
    # Tags look like pydantic's own union member names, which the located loader leaves out
    # of a field's path.
    return f"layout[{layout}]" if layout in ("llmapi", "engine") else None


TensorRTLLMSection = Annotated[
    Annotated[TensorRTLLMApi, Tag("layout[llmapi]")]
    | Annotated[TensorRTLLMEngine, Tag("layout[engine]")],
    Discriminator(
        _layout,
        custom_error_type="bad_layout",
        custom_error_message="layout must be 'llmapi' (the LLM API model, the default) or "
        "'engine' (the legacy engine ensemble)",
    ),
]
TensorRTLLMBackend = TensorRTLLMApi | TensorRTLLMEngine
