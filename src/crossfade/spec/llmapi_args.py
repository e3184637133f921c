"""Checks for the LLM API model's `model.yaml`: the keyword arguments of `tensorrt_llm.LLM`.

The model passes every key of model.yaml but `triton_config` to `LLM(**args)`, whose arguments
are a strict pydantic model: an unknown or misspelled key fails the model load on the GPU node.
Keys of the removed TensorRT engine workflow get a message of their own, with the replacement.
"""

from __future__ import annotations

from typing import Any

from crossfade.spec.llmapi_args_known import (
    LLM_ARGS,
    NESTED_ARGS,
    NULLABLE_NESTED_ARGS,
    REMOVED_LLM_ARGS,
    SOURCE,
    TRTLLM_VERSION,
)
from crossfade.spec.suggest import did_you_mean

__all__ = [
    "ENGINE_ERA_KEYS",
    "LLM_ARGS",
    "NESTED_ARGS",
    "REMOVED_LLM_ARGS",
    "SOURCE",
    "TRITON_CONFIG",
    "TRTLLM_VERSION",
    "check",
]

# The key of model.yaml that the model reads itself (never passed to LLM()).
TRITON_CONFIG = "triton_config"
# LLM API backends that still exist: `pytorch` (the default since 1.0) and the AutoDeploy one.
BACKENDS = ("pytorch", "_autodeploy")

# Keys of the engine workflow (the ensemble's config.pbtxt parameters, trtllm-build flags) that
# people carry into model.yaml; none is an LLM() argument, and each has a successor.
ENGINE_ERA_KEYS: dict[str, str] = {
    "engine_dir": "the LLM API model loads the Hugging Face checkpoint named by `model`",
    "gpt_model_path": "the LLM API model loads the Hugging Face checkpoint named by `model`",
    "gpt_model_type": "in-flight batching is how the LLM API always schedules; remove it",
    "batching_strategy": "in-flight batching is how the LLM API always schedules; remove it",
    "tokenizer_dir": "the checkpoint's own tokenizer is used; `tokenizer` overrides it",
    "kv_cache_free_gpu_mem_fraction": "use kv_cache_config: {free_gpu_memory_fraction: ...}",
    "max_tokens_in_paged_kv_cache": "use kv_cache_config: {max_tokens: ...}",
    "enable_kv_cache_reuse": "use kv_cache_config: {enable_block_reuse: ...}",
    "checkpoint_dir": "the LLM API model loads the Hugging Face checkpoint named by `model`",
    "use_paged_context_fmha": "a trtllm-build flag: the PyTorch backend has no build step",
    "gemm_plugin": "a trtllm-build flag: the PyTorch backend has no build step",
}


def check(key: str, value: Any) -> tuple[str, str | None] | None:
    """(message, hint) when `key: value` in model.yaml would fail or mislead the model load."""
    if key in ENGINE_ERA_KEYS:
        return (
            f"'{key}' belongs to the removed TensorRT engine workflow, not to LLM()",
            ENGINE_ERA_KEYS[key],
        )
    if key in REMOVED_LLM_ARGS:
        return (
            f"'{key}' was removed from LLM() (TensorRT-LLM {TRTLLM_VERSION}); it is dropped, "
            "and some values make the load fail",
            f"remove '{key}'",
        )
    if key not in LLM_ARGS:
        return (
            f"'{key}' is not an LLM API argument (checked against TensorRT-LLM {TRTLLM_VERSION})",
            did_you_mean(key, LLM_ARGS),
        )
    if key == "backend" and value not in BACKENDS:
        if value == "tensorrt":
            return (
                "backend: tensorrt was removed from TensorRT-LLM (1.3.0rc20 was the last "
                "release with it): LLM(backend='tensorrt') raises ValueError",
                "remove `backend` (pytorch is the default) or serve the engine with the legacy "
                "layout: engine",
            )
        return f"backend must be one of {', '.join(BACKENDS)}, got {value!r}", None
    if key in ("tensor_parallel_size", "pipeline_parallel_size") and not _positive_int(value):
        return f"{key} must be a whole number >= 1, got {value!r}", None
    if key in NESTED_ARGS:
        return _nested(key, value)
    return None


def _nested(key: str, value: Any) -> tuple[str, str | None] | None:
    """The keys of a nested config (kv_cache_config, scheduler_config, ...)."""
    if value is None and key in NULLABLE_NESTED_ARGS:
        return None  # e.g. cuda_graph_config: null turns CUDA graphs off
    if not isinstance(value, dict):
        return f"{key} must be a mapping, got {value!r}", None
    known = NESTED_ARGS[key]
    for name, item in value.items():
        if name not in known:
            return (
                f"{key}: '{name}' is not one of its fields "
                f"(checked against TensorRT-LLM {TRTLLM_VERSION})",
                did_you_mean(str(name), known),
            )
        if key == "kv_cache_config" and name == "free_gpu_memory_fraction" and not _fraction(item):
            return (
                f"kv_cache_config: free_gpu_memory_fraction must be in (0, 1], got {item!r}",
                None,
            )
    return None


def _fraction(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 1


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1
