"""The router's client-facing APIs parsed into one canonical request.

Four shapes come in: OpenAI `/v1/completions` and `/v1/chat/completions`, and Triton's
`/v2/models/M/generate[_stream]` as clients of either Triton backend write it: sampling at the top
(the TensorRT-LLM ensemble's inputs), in `parameters`, or as the `sampling_parameters` JSON string
(the vLLM backend); or, for a model name the router config maps to `llmapi`, as clients of
TensorRT-LLM's LLM API model write it (`front_llmapi.py`). What comes out is a
`CanonicalRequest`: a prompt (and the chat messages), `max_tokens`, whether the length is exact,
sampling by vLLM's names (`PORTABLE_SAMPLING`), and how the client wants its answer. A field the
router cannot carry to every backend is refused (400) rather than dropped: the answer must not
depend on which backend took the request.

Exact length: `ignore_eos` (vLLM's way, usually with `min_tokens == max_tokens`) or `end_id: -1`
(the ensemble's), with no stop string, becomes `exact_length`, which each backend's dialect
(`bench.dialects`) turns into its own form.

Bad input is the client's error (4xx), never an exception: the body is strict JSON (no NaN or
Infinity), nested at most MAX_JSON_DEPTH levels, with at most MAX_JSON_ITEMS values (a 64 MB
body of `[{},{},...]` once took 1.5 GB to parse), and every number is finite and in the range
its backend input holds. Values shown in error messages are cut short.
"""

from __future__ import annotations

import json
import math
import re
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from crossfade.bench.dialects.base import PORTABLE_SAMPLING, GenerationRequest, chat_prompt

Api = Literal["completions", "chat", "triton", "llmapi"]
DEFAULT_MAX_TOKENS = 16  # OpenAI's and vLLM's default

# Fields accepted only at their no-op values: anything else changes the answer in a way the
# router does not translate.
_OPENAI_NOOPS: dict[str, tuple[Any, ...]] = {
    "n": (1,),
    "echo": (False,),
    "logprobs": (None, False),
    "best_of": (None, 1),
}
_OPENAI_IGNORED = frozenset({"model", "user", "stream", "stream_options", "max_tokens"})
LLMAPI_PREFIX = "sampling_param_"  # the LLM API model's sampling inputs
_TRITON_RENAMES = {"min_length": "min_tokens", "random_seed": "seed", "stop_words": "stop"}
_TRITON_NOOPS: dict[str, tuple[Any, ...]] = {
    "exclude_input_in_output": (True,),
    "beam_width": (1,),
    "num_return_sequences": (1,),
    "return_log_probs": (False,),
    "return_context_logits": (False,),
    "return_generation_logits": (False,),
}
_LISTS = frozenset({"stop", "stop_words", "bad_words"})
# The JSON type of each portable sampling field. A wrong type is the client's mistake: refused
# here, it never reaches a backend, where it would come back as an error counted against it
# (Triton answers some with HTTP 500).
_NUMBERS = frozenset({"temperature", "top_p", "presence_penalty", "frequency_penalty"})
_NUMBERS |= {"repetition_penalty"}
_INTEGERS = frozenset({"top_k", "seed", "min_tokens"})
_TRITON_FLAGS = ("return_finish_reason", "return_num_input_tokens", "return_num_output_tokens")
_TRITON_IGNORED = frozenset({"text_input", "stream", "parameters", "sampling_parameters"})
_TRITON_IGNORED |= {"id", "pad_id", "end_id", "max_tokens", *_TRITON_FLAGS}
INT32_MAX, INT64_MAX = 2**31 - 1, 2**63 - 1  # the TensorRT-LLM ensemble's inputs are INT32
_INT32_FIELDS = frozenset({"top_k", "min_tokens"})
MAX_JSON_ITEMS = 100_000  # values in one body: a chat of thousands of messages fits
MAX_JSON_DEPTH = 32  # a chat message's text part is 5 levels down
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
shown = reprlib.Repr()
shown.maxstring = shown.maxother = 60


class FrontError(Exception):
    """A request the router refuses, with the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ReplyOptions:
    """What the client asked to see in its answer, beyond the text."""

    include_usage: bool = False  # OpenAI: a usage chunk before [DONE]
    continuous_usage: bool = False  # OpenAI: usage in every chunk
    flags: frozenset[str] = frozenset()  # Triton: the return_* flags that were true
    # Triton's LLM API model: a response per step (`streaming: true`), else one with the text
    incremental: bool = True


@dataclass(frozen=True)
class CanonicalRequest:
    api: Api
    model: str  # as the client named it; answers echo it
    prompt: str  # chat requests: their transcript, for backends that take text
    max_tokens: int
    exact_length: bool
    stream: bool  # the client wants a stream
    sampling: Mapping[str, Any] = field(default_factory=dict)
    messages: tuple[Mapping[str, str], ...] | None = None
    reply: ReplyOptions = ReplyOptions()

    def finish_reason(self, total: int) -> str:
        """Why an answer of `total` output tokens ended: "length" at the cap, else "stop"."""
        return "length" if total >= self.max_tokens else "stop"

    def generation(self) -> GenerationRequest:
        """What every backend's dialect takes; upstream is always streamed (TTFT, ITL measured),
        whatever the client asked. Built per attempt: on Python 3.11 a `cached_property` takes
        a lock and costs twice this construction, and most requests make one attempt."""
        return GenerationRequest(
            self.prompt,
            self.max_tokens,
            self.exact_length,
            stream=True,
            sampling=self.sampling,
            messages=self.messages,
        )


def read_json(raw: bytes | str, what: str = "the body") -> Any:
    """A request body's JSON (or a JSON string inside it, named `what`), within the bounds in
    the module docstring."""
    data = raw.encode() if isinstance(raw, str) else raw
    rough = data.count(b",") + data.count(b"[") + data.count(b"{")  # strings' count too
    if rough > MAX_JSON_ITEMS:
        bare = _JSON_STRING.sub(b'""', data)
        if bare.count(b",") + bare.count(b"[") + bare.count(b"{") > MAX_JSON_ITEMS:
            raise FrontError(f"{what} holds more than {MAX_JSON_ITEMS} JSON values")
    try:
        value = json.loads(raw, parse_constant=_not_json)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        raise FrontError(f"{what} is not JSON: {_cut(str(exc))}") from None
    if _too_deep(value):
        raise FrontError(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _too_deep(value: Any) -> bool:
    """Whether `value` nests deeper than MAX_JSON_DEPTH; a walk without recursion, since
    anything that recursed through it (a repr, a str) could run out of stack."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        if depth > MAX_JSON_DEPTH:
            return True
        pending.extend((child, depth + 1) for child in item)
    return False


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _cut(text: str, most: int = 200) -> str:
    return text if len(text) <= most else text[:most] + "..."


def parse_openai(body: Any, api: Api) -> CanonicalRequest:
    """A `/v1/completions` (api "completions") or `/v1/chat/completions` ("chat") body."""
    data = json_object(body)
    if api == "chat":
        messages = _messages(data.get("messages"))
        prompt = chat_prompt(messages)
        known = {"messages", "max_completion_tokens"}
    else:
        messages, prompt, known = None, one_text(data.get("prompt"), "prompt"), {"prompt"}
    check_noops(data, _OPENAI_NOOPS)
    unknown = set(data) - known - _OPENAI_IGNORED - set(_OPENAI_NOOPS) - PORTABLE_SAMPLING
    _refuse_unknown(unknown)
    limit = data.get("max_completion_tokens", data.get("max_tokens", DEFAULT_MAX_TOKENS))
    stream = as_bool(data.get("stream", False), "stream")
    options = data.get("stream_options") or {}
    if not isinstance(options, dict):
        raise FrontError("stream_options must be an object")
    reply = ReplyOptions(
        include_usage=stream and bool(options.get("include_usage")),
        continuous_usage=stream and bool(options.get("continuous_usage_stats")),
    )
    sampling = {k: v for k, v in data.items() if k in PORTABLE_SAMPLING}
    model = data.get("model") or ""
    if not isinstance(model, str):
        raise FrontError("model must be a string")
    return canonical(api, model, prompt, limit, stream, sampling, messages, reply)


def parse_triton(body: Any, model: str, *, stream: bool) -> CanonicalRequest:
    """A Triton generate body for `model` (`/generate_stream`: stream, `/generate`: one JSON)."""
    data = {key: _scalar(key, value) for key, value in json_object(body).items()}
    fields = dict(data)
    parameters = data.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise FrontError("parameters must be an object")
    fields.update({k: _scalar(k, v) for k, v in parameters.items()})
    encoded = data.get("sampling_parameters")
    if encoded is not None:
        if not isinstance(encoded, str):
            raise FrontError("sampling_parameters must be a string: a JSON object, encoded")
        decoded = read_json(encoded, "sampling_parameters")
        if not isinstance(decoded, dict):
            raise FrontError("sampling_parameters must encode a JSON object")
        fields.update(decoded)
    for old, new in _TRITON_RENAMES.items():
        if old in fields:
            fields[new] = fields.pop(old)
    end_id = fields.get("end_id")
    if end_id is not None and end_id != -1:
        raise FrontError("end_id other than -1 has no equivalent on vLLM; leave it out")
    if end_id == -1:
        fields["ignore_eos"] = True
    check_noops(fields, _TRITON_NOOPS)
    unknown = set(fields) - _TRITON_IGNORED - set(_TRITON_NOOPS) - PORTABLE_SAMPLING
    if any(name.startswith(LLMAPI_PREFIX) for name in unknown):
        raise FrontError(
            f"{LLMAPI_PREFIX}* fields are inputs of TensorRT-LLM's LLM API model; the router "
            f"reads them for a model name its config maps to it (triton_fronts: "
            f"{{{shown.repr(model)}: llmapi}}), and this one is not"
        )
    _refuse_unknown(unknown)
    prompt = one_text(data.get("text_input"), "text_input")
    sampling = {k: v for k, v in fields.items() if k in PORTABLE_SAMPLING}
    flags = frozenset(f for f in _TRITON_FLAGS if fields.get(f) is True)
    limit = fields.get("max_tokens", DEFAULT_MAX_TOKENS)
    reply = ReplyOptions(flags=flags)
    return canonical("triton", model, prompt, limit, stream, sampling, None, reply)


def canonical(
    api: Api,
    model: str,
    prompt: str,
    limit: Any,
    stream: bool,
    sampling: dict[str, Any],
    messages: tuple[Mapping[str, str], ...] | None,
    reply: ReplyOptions,
    *,
    prefix: str = "",
) -> CanonicalRequest:
    """The request, its values checked; `prefix`: what the client's field names add to the
    portable ones (`sampling_param_` for the LLM API model), for the error messages."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= INT32_MAX:
        raise FrontError(
            f"{prefix}max_tokens must be a whole number from 1 to {INT32_MAX}, got "
            f"{shown.repr(limit)}"
        )
    sampling = {k: v for k, v in sampling.items() if v is not None}  # null: the default
    for name, value in sampling.items():
        _check_type(name, value, prefix)
    # ignore_eos with no stop string runs to the cap: the exact length, whatever min_tokens is
    exact = sampling.get("ignore_eos") is True and "stop" not in sampling
    if exact:  # the dialects write each backend's own exact-length form
        sampling = {k: v for k, v in sampling.items() if k not in ("ignore_eos", "min_tokens")}
    return CanonicalRequest(api, model, prompt, limit, exact, stream, sampling, messages, reply)


def _check_type(name: str, value: Any, prefix: str) -> None:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if name in _NUMBERS:
        ok, what = number and math.isfinite(value), "a number (finite)"
    elif name in _INTEGERS:
        most = INT32_MAX if name in _INT32_FIELDS else INT64_MAX
        ok = number and isinstance(value, int) and -most - 1 <= value <= most
        what = f"a whole number from {-most - 1} to {most}"
    elif name == "ignore_eos":
        ok, what = isinstance(value, bool), "true or false"
    else:  # stop
        strings = isinstance(value, list) and all(isinstance(s, str) for s in value)
        ok, what = isinstance(value, str) or strings, "a string or a list of strings"
    if not ok:
        raise FrontError(f"{prefix}{name} must be {what}, got {shown.repr(value)}")


def json_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise FrontError("the request body must be a JSON object")
    return body


def _scalar(name: str, value: Any) -> Any:
    """Triton's JSON takes a one-element list for a [1]-shaped input; the value is inside.
    Stop strings stay a list."""
    if name in _LISTS or not isinstance(value, list) or len(value) != 1:
        return value
    return value[0]


def one_text(value: Any, name: str) -> str:
    value = _scalar(name, value)
    if not isinstance(value, str):
        raise FrontError(f"{name} must be one string (the router sends one prompt per request)")
    return value


def as_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise FrontError(f"{name} must be true or false")
    return value


def _messages(value: Any) -> tuple[Mapping[str, str], ...]:
    if not isinstance(value, list) or not value:
        raise FrontError("messages must be a non-empty list")
    messages = []
    for index, message in enumerate(value):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise FrontError(f"messages[{index}] must be an object with a role")
        content = message.get("content")
        if isinstance(content, list):  # content parts: text only
            if any(not isinstance(p, dict) or p.get("type") != "text" for p in content):
                raise FrontError(f"messages[{index}]: only text content parts are routed")
            texts = [p.get("text", "") for p in content]
            if any(not isinstance(text, str) for text in texts):
                raise FrontError(f"messages[{index}]: a text part's text must be a string")
            content = "".join(texts)
        if not isinstance(content, str):
            raise FrontError(f"messages[{index}].content must be text")
        messages.append({"role": message["role"], "content": content})
    return tuple(messages)


def check_noops(data: Mapping[str, Any], noops: Mapping[str, tuple[Any, ...]]) -> None:
    for name, allowed in noops.items():
        if name in data and data[name] not in allowed:
            raise FrontError(f"{name}={shown.repr(data[name])} is not supported by the router")


def _refuse_unknown(unknown: set[str]) -> None:
    if unknown:
        accepted = ", ".join(sorted(PORTABLE_SAMPLING))
        raise FrontError(
            f"field {shown.repr(min(unknown))} is not translated to every backend; the "
            f"sampling fields the router carries: {accepted}"
        )
