"""Inputs and outputs of TensorRT-LLM's LLM API model (`tensorrt_llm`, the python backend).

As upstream declares them in NVIDIA/TensorRT-LLM
``triton_backend/all_models/llmapi/tensorrt_llm/config.pbtxt``
@ 0a71057313ec0626527e164a8fc0205c5822e2f5 (c8c6df0 had the same tensors but `image_url` and
the four `lora_*` inputs). Every input but `text_input` is optional. The model reads only the
ten `sampling_param_*` inputs below: there is no `min_tokens` and no `ignore_eos`, so an exact
output length cannot be asked of it.
"""

from __future__ import annotations

from crossfade.render.tensors.base import LORA, MULTIMODAL, Tensor


def _optional(name: str, data_type: str, dims: tuple[int, ...] = (1,)) -> Tensor:
    return Tensor(name, data_type, dims, optional=True)


SAMPLING_PARAMS = (
    _optional("sampling_param_best_of", "TYPE_INT32"),
    _optional("sampling_param_temperature", "TYPE_FP32"),
    _optional("sampling_param_top_k", "TYPE_INT32"),
    _optional("sampling_param_top_p", "TYPE_FP32"),
    _optional("sampling_param_frequency_penalty", "TYPE_FP32"),
    _optional("sampling_param_presence_penalty", "TYPE_FP32"),
    _optional("sampling_param_max_tokens", "TYPE_INT32"),
    _optional("sampling_param_stop", "TYPE_STRING", (-1,)),
    _optional("sampling_param_seed", "TYPE_UINT64"),
    _optional("sampling_param_exclude_input_from_output", "TYPE_BOOL"),
    _optional("sampling_param_return_perf_metrics", "TYPE_BOOL"),
)

LLMAPI_INPUTS = (
    Tensor("text_input", "TYPE_STRING", (-1,)),
    Tensor("image_url", "TYPE_STRING", (-1,), optional=True, feature=MULTIMODAL),
    _optional("streaming", "TYPE_BOOL"),
    *SAMPLING_PARAMS,
    _optional("return_finish_reason", "TYPE_BOOL"),
    _optional("return_stop_reason", "TYPE_BOOL"),
    _optional("return_cumulative_logprob", "TYPE_BOOL"),
    _optional("stop", "TYPE_BOOL"),
    Tensor("lora_id", "TYPE_UINT64", (1,), optional=True, feature=LORA),
    Tensor("lora_name", "TYPE_STRING", (1,), optional=True, feature=LORA),
    Tensor("lora_path", "TYPE_STRING", (1,), optional=True, feature=LORA),
    Tensor("lora_ckpt_source", "TYPE_STRING", (1,), optional=True, feature=LORA),
)

# The server's own per-request clock, returned with sampling_param_return_perf_metrics.
PERF_TIMESTAMPS = (
    "arrival_time_ns",
    "first_scheduled_time_ns",
    "first_token_time_ns",
    "last_token_time_ns",
)

LLMAPI_OUTPUTS = (
    Tensor("text_output", "TYPE_STRING", (-1,)),
    Tensor("finish_reason", "TYPE_STRING", (-1,)),
    Tensor("stop_reason", "TYPE_STRING", (-1,)),
    Tensor("cumulative_logprob", "TYPE_FP32", (-1,)),
    Tensor("kv_cache_reused_block", "TYPE_INT32", (-1,)),
    Tensor("kv_cache_missed_block", "TYPE_INT32", (-1,)),
    Tensor("kv_cache_alloc_new_blocks", "TYPE_INT32", (-1,)),
    Tensor("kv_cache_alloc_total_blocks", "TYPE_INT32", (-1,)),
    Tensor("kv_cache_hit_rate", "TYPE_FP32", (-1,)),
    *(Tensor(name, "TYPE_INT64", (1,)) for name in PERF_TIMESTAMPS),
    Tensor("acceptance_rate", "TYPE_FP32", (1,)),
    Tensor("total_accepted_draft_tokens", "TYPE_INT32", (1,)),
    Tensor("total_draft_tokens", "TYPE_INT32", (1,)),
)
