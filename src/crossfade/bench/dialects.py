"""The one place that speaks each backend's dialect: canonical request in, payload out, and each
server response back to one neutral `ParsedEvent`. Pure functions, no I/O, so a router can reuse
them unchanged.

Exact output length N, per backend:
- vLLM (Triton backend and OpenAI server): `max_tokens = min_tokens = N` and `ignore_eos`.
- TensorRT-LLM ensemble/BLS: `max_tokens = min_tokens = N` plus `end_id = -1`. TRT-LLM has no
  `ignore_eos`; an end id no token can match is the convention trtllm-bench uses (`--eos_id -1`),
  not a documented backend switch. Old repositories name `min_tokens` `min_length`, so the
  input's name is a parameter.
Every request asks for the server's token counts (`return_num_*_tokens`, OpenAI usage with
`continuous_usage_stats`) so that lengths are verified and chunks counted without a tokenizer.

The router (crossfade.rollout.router) sends its clients' requests through the same functions:
`exact_length=False` makes `output_tokens` a cap (`max_tokens` alone), extra sampling travels by
vLLM's names (`PORTABLE_SAMPLING`, renamed for TensorRT-LLM by `trtllm_sampling_inputs`), and chat
messages reach a chat endpoint whole, or other backends as one prompt (`chat_prompt`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from crossfade.bench.protocol import BenchRequest

# Triton output flags both backends understand (vLLM also gives finish_reason, its end marker).
_TRITON_COUNTS = {"return_num_input_tokens": True, "return_num_output_tokens": True}
OPENAI_STREAM_OPTIONS = {"include_usage": True, "continuous_usage_stats": True}


@dataclass(slots=True)  # not frozen: a frozen init costs ~1 us more, once per streamed chunk
class ParsedEvent:
    """One server response (an SSE event, a gRPC response or a whole JSON body), neutralised."""

    text: str = ""
    tokens: int | None = None  # output tokens new in this event, as the server counted them
    cumulative_tokens: int | None = None  # output tokens so far (OpenAI usage), server-counted
    final: bool = False  # the response itself says it is the request's last
    error: str | None = None
    input_tokens: int | None = None
    summary: bool = False  # an OpenAI usage-only trailer: totals, but no output of its own


EventParser = Callable[[Mapping[str, Any]], ParsedEvent]


@dataclass(frozen=True, slots=True)
class Tensor:
    """One input tensor for Triton's gRPC API, in Triton's datatype names."""

    name: str
    datatype: str  # BYTES, BOOL or INT32
    value: np.ndarray[Any, Any]


# Sampling fields with a meaning on every backend, by vLLM's (and OpenAI's) names.
PORTABLE_SAMPLING = frozenset(
    {"temperature", "top_p", "top_k", "seed", "presence_penalty", "frequency_penalty"}
    | {"repetition_penalty", "min_tokens", "ignore_eos", "stop"}
)


def exact_length_sampling(output_tokens: int) -> dict[str, Any]:
    """vLLM sampling parameters that force exactly `output_tokens` new tokens."""
    n = output_tokens
    return {"max_tokens": n, "min_tokens": n, "ignore_eos": True}


def _length(output_tokens: int, exact: bool) -> dict[str, Any]:
    return exact_length_sampling(output_tokens) if exact else {"max_tokens": output_tokens}


def _vllm_sampling(
    request: BenchRequest, sampling: Mapping[str, Any] | None, exact: bool = True
) -> dict[str, Any]:
    return {**(sampling or {}), **_length(request.output_tokens, exact)}  # length wins


def trtllm_sampling_inputs(
    sampling: Mapping[str, Any], *, min_tokens_input: str = "min_tokens"
) -> dict[str, Any]:
    """`PORTABLE_SAMPLING` fields as a TensorRT-LLM ensemble's inputs: the same names except
    `min_tokens` (old repositories: `min_length`) and `stop` (`stop_words`, a list); `ignore_eos`
    becomes the unmatchable `end_id` the exact length uses."""
    inputs: dict[str, Any] = {}
    for name, value in sampling.items():
        if name == "ignore_eos":
            if value:
                inputs["end_id"] = -1
        elif name == "min_tokens":
            inputs[min_tokens_input] = value
        elif name == "stop":
            inputs["stop_words"] = [value] if isinstance(value, str) else list(value)
        else:
            inputs[name] = value
    return inputs


def chat_prompt(messages: Sequence[Mapping[str, str]]) -> str:
    """Chat messages as one prompt for a backend that takes text: one `role: content` line per
    message, then `assistant:`. A model's own chat template is the server's business; Triton's
    text inputs have none, so this plain transcript is what they get."""
    lines = [f"{m['role']}: {m['content']}" for m in messages]
    return "\n".join([*lines, "assistant:"])


# --- Triton generate extension (HTTP JSON) ---------------------------------------------------


def triton_vllm_payload(
    request: BenchRequest,
    *,
    sampling: Mapping[str, Any] | None = None,
    sampling_as_tensor: bool = False,
    exact_length: bool = True,
) -> dict[str, Any]:
    """Body for `/generate[_stream]` of Triton's vLLM backend.

    Sampling goes in the request `parameters` (scalars only, Triton rejects arrays there) unless
    `sampling_as_tensor` or a non-scalar value asks for the `sampling_parameters` JSON string.
    Booleans stay JSON booleans: the backend reads the string "false" as True.
    """
    params = _vllm_sampling(request, sampling, exact_length)
    payload: dict[str, Any] = {
        "text_input": request.prompt,
        "stream": request.stream,
        "exclude_input_in_output": True,  # vLLM echoes the prompt otherwise (non-streaming)
        "return_finish_reason": True,  # the last response is the one with a finish reason
        **_TRITON_COUNTS,
    }
    if sampling_as_tensor or any(isinstance(v, list | dict) for v in params.values()):
        payload["sampling_parameters"] = json.dumps(params)
    else:
        payload["parameters"] = params
    return payload


def triton_trtllm_payload(
    request: BenchRequest,
    *,
    min_tokens_input: str = "min_tokens",
    extra: Mapping[str, Any] | None = None,
    exact_length: bool = True,
) -> dict[str, Any]:
    """Body for `/generate[_stream]` of a TensorRT-LLM `ensemble` or `tensorrt_llm_bls`."""
    n = request.output_tokens
    # end_id -1: no token is -1, so the engine never stops early (trtllm-bench's way)
    length = {min_tokens_input: n, "end_id": -1} if exact_length else {}
    return {
        **(extra or {}),
        "text_input": request.prompt,
        "max_tokens": n,
        **length,
        "stream": request.stream,
        "exclude_input_in_output": True,
        **_TRITON_COUNTS,
    }


# --- Triton gRPC (KServe v2 ModelStreamInfer) tensors ------------------------------------------


def _tensor(name: str, datatype: str, value: Any, batched: bool) -> Tensor:
    dtype = {"BYTES": np.object_, "BOOL": np.bool_, "INT32": np.int32}[datatype]
    shape = (1, 1) if batched else (1,)  # batched models take a leading batch dimension
    return Tensor(name, datatype, np.full(shape, value, dtype=dtype))


def triton_vllm_tensors(
    request: BenchRequest,
    *,
    sampling: Mapping[str, Any] | None = None,
    batched: bool = False,
) -> list[Tensor]:
    """Inputs of Triton's vLLM backend (max_batch_size 0, so unbatched by default)."""
    sampling_json = json.dumps(_vllm_sampling(request, sampling)).encode()
    flags = ("exclude_input_in_output", "return_finish_reason", *_TRITON_COUNTS)
    return [
        _tensor("text_input", "BYTES", request.prompt.encode(), batched),
        _tensor("stream", "BOOL", request.stream, batched),
        _tensor("sampling_parameters", "BYTES", sampling_json, batched),
        *(_tensor(flag, "BOOL", True, batched) for flag in flags),
    ]


def triton_trtllm_tensors(
    request: BenchRequest,
    *,
    min_tokens_input: str = "min_tokens",
    batched: bool = True,
) -> list[Tensor]:
    """Inputs of a TensorRT-LLM ensemble or BLS (batched: max_batch_size > 0)."""
    n = request.output_tokens
    flags = ("exclude_input_in_output", *_TRITON_COUNTS)
    return [
        _tensor("text_input", "BYTES", request.prompt.encode(), batched),
        _tensor("max_tokens", "INT32", n, batched),
        _tensor(min_tokens_input, "INT32", n, batched),
        _tensor("end_id", "INT32", -1, batched),
        _tensor("stream", "BOOL", request.stream, batched),
        *(_tensor(flag, "BOOL", True, batched) for flag in flags),
    ]


# --- Triton response parsing ---------------------------------------------------------------


def _first_text(value: Any) -> str:
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


def _count(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, list):  # one count per sequence
        return sum(_whole(v) for v in value)
    return _whole(value)


def _whole(value: Any) -> int:
    """`int(value)`, with an infinite count (JSON allows `Infinity`) a ValueError like the
    other unreadable values, not an OverflowError."""
    try:
        return int(value)
    except OverflowError:
        raise ValueError(f"a token count of {value!r}") from None


def _triton_event(event: Mapping[str, Any], final: bool) -> ParsedEvent:
    if "error" in event:
        return ParsedEvent(error=str(event["error"]), final=True)
    return ParsedEvent(
        text=_first_text(event.get("text_output")),
        tokens=_count(event.get("num_output_tokens")),
        final=final,
        input_tokens=_count(event.get("num_input_tokens")),
    )


def parse_triton_vllm_event(event: Mapping[str, Any]) -> ParsedEvent:
    """A vLLM-backend response; the last one has a finish reason ("None" before that)."""
    reason = _first_text(event.get("finish_reason"))
    return _triton_event(event, final=reason not in ("", "None"))


def parse_triton_trtllm_event(event: Mapping[str, Any]) -> ParsedEvent:
    """An ensemble/BLS response. No output marks the last one: the transport does (the HTTP
    stream ends, or gRPC's `triton_final_response` parameter), so `final` stays False."""
    return _triton_event(event, final=False)


# --- OpenAI completions and chat ---------------------------------------------------------------


def _openai_payload(
    request: BenchRequest, model: str, extra: Mapping[str, Any] | None, exact: bool
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        **(extra or {}),
        "model": model,
        **_length(request.output_tokens, exact),
        "stream": request.stream,
    }
    if request.stream:  # servers reject stream_options on a non-streamed request
        payload["stream_options"] = dict(OPENAI_STREAM_OPTIONS)
    return payload


def openai_completions_payload(
    request: BenchRequest,
    model: str,
    *,
    extra: Mapping[str, Any] | None = None,
    exact_length: bool = True,
) -> dict[str, Any]:
    return {**_openai_payload(request, model, extra, exact_length), "prompt": request.prompt}


def openai_chat_payload(
    request: BenchRequest,
    model: str,
    *,
    extra: Mapping[str, Any] | None = None,
    exact_length: bool = True,
    messages: Sequence[Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """`messages` default to the prompt as one user message."""
    chat = (
        [dict(m) for m in messages] if messages else [{"role": "user", "content": request.prompt}]
    )
    return {**_openai_payload(request, model, extra, exact_length), "messages": chat}


def _openai_error(event: Mapping[str, Any]) -> str | None:
    error = event.get("error")
    if error is None and event.get("object") != "error":  # the common case, checked cheaply
        return None
    if isinstance(error, Mapping):
        return str(error.get("message") or error)
    if error is not None:
        return str(error)
    if event.get("object") == "error":  # older vLLM
        return str(event.get("message") or event)
    return None


def _openai_event(event: Mapping[str, Any], text_of: Any) -> ParsedEvent:
    if (error := _openai_error(event)) is not None:
        return ParsedEvent(error=error, final=True)
    usage = event.get("usage") or {}
    cumulative, prompt = usage.get("completion_tokens"), usage.get("prompt_tokens")
    choices = event.get("choices") or []
    choice = choices[0] if choices else {}
    return ParsedEvent(
        text=text_of(choice) if choice else "",
        cumulative_tokens=None if cumulative is None else _whole(cumulative),
        final=choice.get("finish_reason") is not None,
        input_tokens=None if prompt is None else _whole(prompt),
        summary=not choices,
    )


def _completion_text(choice: Mapping[str, Any]) -> str:
    return str(choice.get("text") or "")


def _chat_text(choice: Mapping[str, Any]) -> str:
    message = choice.get("delta") or choice.get("message") or {}
    # Reasoning is output too: it costs tokens and time before any answer text.
    reasoning = message.get("reasoning_content") or message.get("reasoning") or ""
    return str(reasoning) + str(message.get("content") or "")


def parse_openai_completions_event(event: Mapping[str, Any]) -> ParsedEvent:
    """A `/v1/completions` stream chunk or whole response."""
    return _openai_event(event, _completion_text)


def parse_openai_chat_event(event: Mapping[str, Any]) -> ParsedEvent:
    """A `/v1/chat/completions` stream chunk or whole response."""
    return _openai_event(event, _chat_text)


def error_body_text(body: bytes) -> str:
    """The server's message in a non-2xx body: Triton's `{"error": "..."}` (also sent as one SSE
    event by generate_stream), OpenAI's `{"error": {"message": ...}}`, or the raw text."""
    text = body.decode("utf-8", "replace").strip()
    candidates = [text] + [
        line[5:].strip() for line in text.splitlines() if line.startswith("data:")
    ]
    for candidate in candidates:
        try:
            parsed = json.loads(candidate)
        except (ValueError, RecursionError):  # RecursionError: nested past json's depth
            continue
        if isinstance(parsed, Mapping) and (message := _openai_error(parsed)) is not None:
            return message
    return text or "(empty body)"
