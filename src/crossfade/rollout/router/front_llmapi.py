"""Requests as clients of TensorRT-LLM's LLM API model in Triton (`tensorrt_llm`, a python-backend
model wrapping `tensorrt_llm.LLM`) write them, for a model name the router config maps to
`llmapi` (`triton_fronts`).

Its inputs are named as the model declares them: `text_input`, `streaming` (a response per step;
else one response with the whole text), `sampling_param_max_tokens` (32 when left out, the LLM
API's default) and the other `sampling_param_*` fields, `return_finish_reason`, and
`sampling_param_return_perf_metrics` (the server's own timestamps in each response). The model
reads no `min_tokens` and no `ignore_eos`, so a request here is never one of exact length.

What the router cannot carry to every backend is refused (400) as for the other fronts:
`image_url`, LoRA, a logits post-processor, `best_of` above 1, the stop and cumulative-logprob
outputs, `stop: true` (the model's cancel request), and asking for the prompt in the output
(`sampling_param_exclude_input_from_output: false`: no backend's answer through the router
holds its prompt).
"""

from __future__ import annotations

from typing import Any

from crossfade.rollout.router.front import (
    LLMAPI_PREFIX,
    CanonicalRequest,
    FrontError,
    ReplyOptions,
    as_bool,
    canonical,
    check_noops,
    json_object,
    one_text,
    shown,
)

LLMAPI_DEFAULT_MAX_TOKENS = 32  # tensorrt_llm.SamplingParams.max_tokens
# The model's sampling inputs the router carries, by their portable (vLLM) names.
_SAMPLING = frozenset({"temperature", "top_k", "top_p", "seed", "stop"})
_SAMPLING |= {"frequency_penalty", "presence_penalty"}
_FLAGS = ("return_finish_reason", "sampling_param_return_perf_metrics")
_NOOPS: dict[str, tuple[Any, ...]] = {
    "sampling_param_best_of": (1,),
    "sampling_param_exclude_input_from_output": (True,),
    "return_stop_reason": (False,),
    "return_cumulative_logprob": (False,),
    "stop": (False,),  # true cancels an earlier request by its id: nothing to route
}
_MAX_TOKENS = LLMAPI_PREFIX + "max_tokens"
_KNOWN = frozenset(
    {"text_input", "streaming", "id", _MAX_TOKENS, *_FLAGS, *_NOOPS}
    | {LLMAPI_PREFIX + name for name in _SAMPLING}
)
ACCEPTED = ", ".join(sorted(_KNOWN))


def parse_llmapi(body: Any, model: str, *, stream: bool) -> CanonicalRequest:
    """A generate body for the LLM API model `model`; `stream`: it came to /generate_stream."""
    data = {
        key: _unwrapped(key, value)
        for key, value in json_object(body).items()
        if value is not None  # null: the model's default
    }
    check_noops(data, _NOOPS)
    unknown = set(data) - _KNOWN
    if unknown:
        name = min(unknown)
        ours = LLMAPI_PREFIX + name
        hint = f" (this model takes {ours})" if ours in _KNOWN else ""
        raise FrontError(
            f"field {shown.repr(name)} is not an input of the LLM API model that the router "
            f"carries to every backend{hint}; the inputs it carries: {ACCEPTED}"
        )
    streaming = as_bool(data.get("streaming", False), "streaming")
    if streaming and not stream:
        raise FrontError(
            "streaming: true sends a response per step, and /generate answers with one "
            "response: POST it to /generate_stream (Triton refuses it too)"
        )
    flags = frozenset(name for name in _FLAGS if as_bool(data.get(name, False), name))
    sampling = {n: data[LLMAPI_PREFIX + n] for n in _SAMPLING if LLMAPI_PREFIX + n in data}
    prompt = one_text(data.get("text_input"), "text_input")
    limit = data.get(_MAX_TOKENS, LLMAPI_DEFAULT_MAX_TOKENS)
    reply = ReplyOptions(flags=flags, incremental=streaming)
    return canonical(
        "llmapi", model, prompt, limit, stream, sampling, None, reply, prefix=LLMAPI_PREFIX
    )


def _unwrapped(name: str, value: Any) -> Any:
    """Triton's JSON takes a one-element list for a [1]-shaped input; the value is inside.
    Stop strings stay a list."""
    if name == LLMAPI_PREFIX + "stop" or not isinstance(value, list) or len(value) != 1:
        return value
    return value[0]
