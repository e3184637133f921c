"""Inputs and outputs of the vLLM backend's model (what its auto-complete would add)."""

from __future__ import annotations

from crossfade.render.tensors.base import MULTIMODAL, Tensor

# --------------------------------------------------------------------------------------------
# vLLM backend (what auto-complete adds; needed verbatim with --disable-auto-complete-config)
# --------------------------------------------------------------------------------------------

VLLM_INPUTS: tuple[Tensor, ...] = (
    Tensor("text_input", "TYPE_STRING", (1,)),
    Tensor("image", "TYPE_STRING", (-1,), optional=True, feature=MULTIMODAL),
    Tensor("stream", "TYPE_BOOL", (1,), optional=True),
    Tensor("sampling_parameters", "TYPE_STRING", (1,), optional=True),
    Tensor("exclude_input_in_output", "TYPE_BOOL", (1,), optional=True),
    Tensor("return_finish_reason", "TYPE_BOOL", (1,), optional=True),
    Tensor("return_cumulative_logprob", "TYPE_BOOL", (1,), optional=True),
    Tensor("return_logprobs", "TYPE_BOOL", (1,), optional=True),
    Tensor("return_num_input_tokens", "TYPE_BOOL", (1,), optional=True),
    Tensor("return_num_output_tokens", "TYPE_BOOL", (1,), optional=True),
    # Reserved for the OpenAI-compatible frontend's embedding requests; clients never set it.
    Tensor("embedding_request", "TYPE_STRING", (1,), optional=True),
)

VLLM_OUTPUTS: tuple[Tensor, ...] = (
    Tensor("text_output", "TYPE_STRING", (-1,)),
    Tensor("finish_reason", "TYPE_STRING", (-1,)),
    Tensor("cumulative_logprob", "TYPE_FP32", (-1,)),
    Tensor("logprobs", "TYPE_STRING", (-1,)),
    Tensor("num_input_tokens", "TYPE_UINT32", (1,)),
    Tensor("num_output_tokens", "TYPE_UINT32", (-1,)),
)
