"""Checks for vLLM engine arguments (the keys of the vLLM backend's model.json).

The backend passes model.json verbatim to ``AsyncEngineArgs(**args)``, so an unknown key fails
the model load with a TypeError deep in the server log. We catch it before deployment.
"""

from __future__ import annotations

from typing import Any

from crossfade.spec.suggest import did_you_mean
from crossfade.spec.vllm_engine_args_known import ENGINE_ARGS, VLLM_VERSION

__all__ = [
    "ENGINE_ARGS",
    "LEGACY_ENGINE_ARGS",
    "OUTPUT_CAP_HINT",
    "OUTPUT_CAP_KEYS",
    "VLLM_VERSION",
    "check",
    "is_legacy",
]

# Arguments that older vLLM releases (still shipped in older Triton containers) accepted and the
# release above no longer does. They are allowed, with a warning from lint.
LEGACY_ENGINE_ARGS = frozenset(
    {
        "disable_log_requests",
        "swap_space",
        "use_v2_block_manager",
        "num_scheduler_steps",
        "multi_step_stream_outputs",
        "max_seq_len_to_capture",
        "max_context_len_to_capture",
        "guided_decoding_backend",
        "tokenizer_pool_size",
        "tokenizer_pool_type",
        "enable_lora_bias",
        "lora_extra_vocab_size",
        "long_lora_scaling_factors",
        "preemption_mode",
        "disable_async_output_proc",
        "speculative_model",
        "num_speculative_tokens",
        "rope_scaling",
        "rope_theta",
        "worker_use_ray",
        "engine_use_ray",
        "device",
        "num_lookahead_slots",
        "scheduler_delay_factor",
        "task",
        "enable_prompt_adapter",
        "max_prompt_adapters",
        "max_prompt_adapter_token",
        "qlora_adapter_name_or_path",
    }
)

# Keys people put in model.json hoping to set a default output length. The vLLM backend builds
# SamplingParams from each request only, so the default stays 16 tokens whatever model.json says.
OUTPUT_CAP_KEYS = frozenset({"max_tokens", "max_new_tokens", "default_max_tokens", "min_tokens"})

OUTPUT_CAP_HINT = (
    "output length is per request: send max_tokens in sampling_parameters "
    "(vLLM's default is 16 tokens)"
)


def check(key: str, value: Any) -> tuple[str, str | None] | None:
    """(message, hint) when `key: value` would break or mislead the vLLM backend, else None."""
    if key in OUTPUT_CAP_KEYS:
        return f"'{key}' is not an engine argument", OUTPUT_CAP_HINT
    if key not in ENGINE_ARGS and key not in LEGACY_ENGINE_ARGS:
        return (
            f"'{key}' is not a vLLM engine argument (checked against vLLM {VLLM_VERSION})",
            did_you_mean(key, ENGINE_ARGS | LEGACY_ENGINE_ARGS),
        )
    if key == "gpu_memory_utilization" and not _is_fraction(value):
        return f"gpu_memory_utilization must be in (0, 1], got {value!r}", None
    if key in ("tensor_parallel_size", "pipeline_parallel_size") and not _is_positive_int(value):
        return f"{key} must be a whole number >= 1, got {value!r}", None
    return None


def is_legacy(key: str) -> bool:
    return key in LEGACY_ENGINE_ARGS


def _is_fraction(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 1


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1
