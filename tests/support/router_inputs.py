"""Hypothesis strategies for what clients send the router: JSON bodies of its four front APIs
built from their real field names (with right and wrong values), raw bytes, and HTTP/1.1
requests as bytes."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import strategies as st

from crossfade.cli.route import EXAMPLE


def router_config_example() -> str:
    """The router config `crossfade route --help` shows, as the YAML text of a config file."""
    example = EXAMPLE.split("\n\n")[0].splitlines()[1:]
    return "\n".join(line[2:] for line in example) + "\n"


# Field names the front reads, and a few it must refuse.
OPENAI_FIELDS = (
    "model",
    "prompt",
    "messages",
    "max_tokens",
    "max_completion_tokens",
    "stream",
    "stream_options",
    "n",
    "echo",
    "logprobs",
    "best_of",
    "user",
)
SAMPLING_FIELDS = (
    "temperature",
    "top_p",
    "top_k",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "repetition_penalty",
    "min_tokens",
    "ignore_eos",
    "stop",
)
TRITON_FIELDS = (
    "text_input",
    "max_tokens",
    "stream",
    "parameters",
    "sampling_parameters",
    "id",
    "end_id",
    "pad_id",
    "min_length",
    "random_seed",
    "stop_words",
    "bad_words",
    "exclude_input_in_output",
    "beam_width",
    "num_return_sequences",
    "return_log_probs",
    "return_context_logits",
    "return_generation_logits",
    "return_finish_reason",
    "return_num_input_tokens",
    "return_num_output_tokens",
)
LLMAPI_FIELDS = (
    "text_input",
    "streaming",
    "id",
    "stop",
    "image_url",
    "return_finish_reason",
    "return_stop_reason",
    "return_cumulative_logprob",
    *(
        f"sampling_param_{name}"
        for name in (
            "max_tokens",
            "temperature",
            "top_k",
            "top_p",
            "seed",
            "stop",
            "frequency_penalty",
            "presence_penalty",
            "best_of",
            "exclude_input_from_output",
            "return_perf_metrics",
            "min_tokens",
        )
    ),
)
STRANGE_FIELDS = ("logit_bias", "tools", "", "max_tokens ", "Temperature")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, -1, 2**31, 2**63, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
# Where parsers break: non-finite floats, integers past 32 and 64 bits, empty containers.
edge_values = st.sampled_from(
    [math.nan, math.inf, -math.inf, 0, -1, 2**31, 2**63, 2**64, 10**30, 1e308, "", [], {}, None]
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)

text = st.text(max_size=12)
sampling = {
    "temperature": st.floats(0, 2),
    "top_p": st.floats(0, 1),
    "top_k": st.integers(-1, 100),
    "seed": st.integers(0, 2**32),
    "presence_penalty": st.floats(-2, 2),
    "frequency_penalty": st.floats(-2, 2),
    "repetition_penalty": st.floats(0.5, 2),
    "min_tokens": st.integers(0, 8),
    "ignore_eos": st.booleans(),
    "stop": text | st.lists(text, max_size=3),
}
messages = st.lists(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["system", "user", "assistant"]),
            "content": text
            | st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": text}), max_size=2),
        }
    ),
    min_size=1,
    max_size=3,
)
openai_common = {
    **sampling,
    "model": text,
    "user": text,
    "max_tokens": st.integers(1, 4096),
    "max_completion_tokens": st.integers(1, 4096),
    "stream": st.booleans(),
    "stream_options": st.fixed_dictionaries(
        {}, optional={"include_usage": st.booleans(), "continuous_usage_stats": st.booleans()}
    ),
    "n": st.just(1),
    "echo": st.just(False),
    "logprobs": st.sampled_from([None, False]),
    "best_of": st.sampled_from([None, 1]),
}
valid_completions = st.fixed_dictionaries({"prompt": text}, optional=openai_common)
valid_chat = st.fixed_dictionaries({"messages": messages}, optional=openai_common)
triton_sampling = st.fixed_dictionaries({}, optional={**sampling, "max_tokens": st.integers(1, 99)})
valid_triton = st.fixed_dictionaries(
    {"text_input": text | text.map(lambda prompt: [prompt])},
    optional={
        **sampling,
        "max_tokens": st.integers(1, 4096) | st.integers(1, 99).map(lambda n: [n]),
        "stream": st.booleans(),
        "parameters": triton_sampling,
        "sampling_parameters": triton_sampling.map(json.dumps),
        "id": text,
        "end_id": st.just(-1),
        "pad_id": st.integers(0, 9),
        "min_length": st.integers(0, 8),
        "random_seed": st.integers(0, 2**32),
        "stop_words": st.lists(text, max_size=3),
        "exclude_input_in_output": st.just(True),
        "beam_width": st.just(1),
        "num_return_sequences": st.just(1),
        "return_log_probs": st.just(False),
        "return_finish_reason": st.booleans(),
        "return_num_input_tokens": st.booleans(),
        "return_num_output_tokens": st.booleans(),
    },
)


@st.composite
def _mutated(
    draw: st.DrawFn, valid: st.SearchStrategy[dict[str, Any]], names: tuple[str, ...]
) -> Any:
    """A valid body, then up to three changes: a field (one the front reads, or one it must
    refuse) set to any JSON value, or a field removed; or instead of it all, any JSON."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    body = draw(valid)
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(names + SAMPLING_FIELDS + STRANGE_FIELDS))
        if draw(st.booleans()):
            body[name] = draw(edge_values | json_values)
        else:
            body.pop(name, None)
    return body


valid_llmapi = st.fixed_dictionaries(
    {"text_input": text | text.map(lambda prompt: [prompt])},
    optional={
        "streaming": st.booleans() | st.booleans().map(lambda flag: [flag]),
        "id": text,
        "stop": st.just(False),
        "return_finish_reason": st.booleans(),
        "return_stop_reason": st.just(False),
        "return_cumulative_logprob": st.just(False),
        "sampling_param_max_tokens": st.integers(1, 4096) | st.integers(1, 99).map(lambda n: [n]),
        "sampling_param_temperature": sampling["temperature"],
        "sampling_param_top_k": sampling["top_k"],
        "sampling_param_top_p": sampling["top_p"],
        "sampling_param_seed": sampling["seed"],
        "sampling_param_stop": st.lists(text, max_size=3),
        "sampling_param_frequency_penalty": sampling["frequency_penalty"],
        "sampling_param_presence_penalty": sampling["presence_penalty"],
        "sampling_param_best_of": st.just(1),
        "sampling_param_exclude_input_from_output": st.just(True),
        "sampling_param_return_perf_metrics": st.booleans(),
    },
)
completions_bodies = _mutated(valid_completions, OPENAI_FIELDS)
chat_bodies = _mutated(valid_chat, OPENAI_FIELDS)
openai_bodies = completions_bodies | chat_bodies
triton_bodies = _mutated(valid_triton, TRITON_FIELDS)
llmapi_bodies = _mutated(valid_llmapi, LLMAPI_FIELDS)
BODIES = {
    "completions": completions_bodies,
    "chat": chat_bodies,
    "triton": triton_bodies,
    "llmapi": llmapi_bodies,
}


def _encode(body: Any) -> bytes:
    """JSON as Python writes it: NaN and Infinity included, as a careless client might."""
    return json.dumps(body).encode()


@st.composite
def _mangled(draw: st.DrawFn, bodies: st.SearchStrategy[Any]) -> bytes:
    """A body's JSON with bytes flipped, cut or repeated."""
    raw = bytearray(_encode(draw(bodies)))
    for _ in range(draw(st.integers(1, 3))):
        if not raw:
            break
        at = draw(st.integers(0, len(raw) - 1))
        how = draw(st.sampled_from(["flip", "cut", "insert"]))
        if how == "flip":
            raw[at] = draw(st.integers(0, 255))
        elif how == "cut":
            del raw[at:]
        else:
            raw[at:at] = draw(st.sampled_from([b"[", b"{", b'"', b"\\u", b"\xff", b"1e999"]))
    return bytes(raw)


_MARK = "\x00nested\x00"


@st.composite
def _nested_inside(draw: st.DrawFn, bodies: st.SearchStrategy[Any]) -> bytes:
    """A body with one field (or a chat message's text) nested nearly as deep as Python's
    parser goes: whatever walks it recursively runs out of stack."""
    depth = draw(st.integers(900, 1000))
    deep = b"[" * depth + b"]" * depth
    body = draw(bodies)
    if not isinstance(body, dict):
        return deep
    name = draw(st.sampled_from([*body, "user", "model", "messages", "stop"]))
    if name == "messages":
        body[name] = [{"role": "user", "content": [{"type": "text", "text": _MARK}]}]
    else:
        body[name] = _MARK
    return _encode(body).replace(_encode(_MARK), deep)


def raw_bodies(bodies: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """Bytes for a request body: the JSON of `bodies`, mangled JSON, deep nesting (alone or in
    a field), or noise."""
    deep = st.integers(1, 5000).map(lambda depth: b"[" * depth + b"]" * depth)
    return st.one_of(
        bodies.map(_encode),
        _mangled(bodies),
        deep,
        _nested_inside(bodies),
        st.binary(max_size=64),
    )


ROUTED = {
    "/v1/completions": completions_bodies,
    "/v1/chat/completions": chat_bodies,
    "/v2/models/m/generate": triton_bodies,
    "/v2/models/m/generate_stream": triton_bodies,
    "/v2/models/tensorrt_llm/generate": llmapi_bodies,
    "/v2/models/tensorrt_llm/generate_stream": llmapi_bodies,
}
OTHER_PATHS = ("/health", "/metrics", "/v2/health/ready", "/v2/models/m/ready", "/nope", "*")
HEADER_NAMES = ("User", "X-Session-Id", "Expect", "Content-Length", "Transfer-Encoding", "Upgrade")
BREAKS = ("method", "path", "version", "header", "length", "noise")


@st.composite
def http_requests(draw: st.DrawFn) -> bytes:
    """An HTTP/1.1 request as bytes: a well-formed request to one of the router's paths (its
    body from `raw_bodies`, so often not a valid one), then, half the time, one part broken:
    the method, path, version, a header, the body's framing, or bytes cut or added."""
    path = draw(st.sampled_from([*ROUTED, *OTHER_PATHS]))
    method = "POST" if path in ROUTED else "GET"
    body = draw(raw_bodies(ROUTED.get(path, openai_bodies)))
    version, headers, framing = "HTTP/1.1", ["Host: router", "Connection: close"], "length"
    broken = draw(st.sampled_from(BREAKS)) if draw(st.booleans()) else None
    if broken == "method":
        method = draw(st.sampled_from(["GET", "PUT", "HEAD", "OPTIONS", "G ET", "", "PRI"]))
    elif broken == "path":
        path = draw(st.text(max_size=20).map(lambda text: "/" + text) | st.text(max_size=20))
    elif broken == "version":
        version = draw(st.sampled_from(["HTTP/1.0", "HTTP/9.9", "HTTP/1", ""]))
    elif broken == "header":
        name = draw(st.sampled_from(HEADER_NAMES) | st.text(max_size=8))
        headers.append(f"{name}: {draw(st.text(max_size=12))}")
    elif broken == "length":
        framing = draw(st.sampled_from(["none", "wrong", "chunked", "both"]))
    if framing in ("length", "both"):
        headers.append(f"Content-Length: {len(body)}")
    if framing == "wrong":
        headers.append(f"Content-Length: {draw(st.sampled_from(['-1', 'x', '99999999999']))}")
    if framing in ("chunked", "both"):
        headers.append("Transfer-Encoding: chunked")
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    head = f"{method} {path} {version}\r\n" + "".join(f"{h}\r\n" for h in headers)
    request = head.encode("utf-8", "surrogatepass") + b"\r\n" + body
    if broken == "noise":  # cut, with a few stray bytes after
        at = draw(st.integers(0, len(request)))
        request = request[:at] + draw(st.binary(max_size=3))
    return request
