"""Fuzzing the response parsers of every dialect: whatever JSON a server sends, the parser gives a
well-typed `ParsedEvent` or raises one of the errors the clients record as an unreadable
response (`UNREADABLE`); the error-body reader always gives text."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossfade.bench.dialects.base import (
    UNREADABLE,
    Dialect,
    ParsedEvent,
    ServerTimes,
    error_body_text,
)
from crossfade.bench.dialects.triton_llmapi import PERF_TIMESTAMPS
from crossfade.bench.targets import SCHEMES
from tests.support.fuzz import fuzz, json_scalars, json_values, with_keys

# every dialect a target URL can name, fuzzed alike
DIALECTS = sorted({s.dialect("m", "/v1") for s in SCHEMES.values()}, key=lambda d: d.name)
TRITON = [d for d in DIALECTS if d.path(stream=True).startswith("/v2/")]
TRITON_KEYS = [
    "text_output",
    "num_output_tokens",
    "num_input_tokens",
    "finish_reason",
    "error",
    *PERF_TIMESTAMPS,  # the LLM API model's
]
odd_numbers = st.sampled_from([float("inf"), float("-inf"), float("nan"), 10**400, "12", "x", True])
counts = (
    st.integers(-3, 10**6) | odd_numbers | st.lists(st.integers(-3, 50) | odd_numbers, max_size=3)
)
triton_events = with_keys(TRITON_KEYS, counts | json_values)
choice = with_keys(
    ["text", "delta", "message", "finish_reason", "index"],
    with_keys(["content", "reasoning_content", "reasoning", "role"]) | json_values,
)
usage = with_keys(["completion_tokens", "prompt_tokens", "total_tokens"], counts | json_scalars)
openai_events = st.fixed_dictionaries(
    {},
    optional={
        "choices": st.lists(choice, max_size=2) | json_values,
        "usage": usage | json_values,
        "error": with_keys(["message", "type", "code"]) | json_values,
        "object": st.sampled_from(["error", "text_completion", "chat.completion.chunk"]),
        "message": json_values,
    },
)
ANY_EVENT = triton_events | openai_events | json_values
FIELD_TYPES = {
    "text": (str,),
    "tokens": (int, type(None)),
    "cumulative_tokens": (int, type(None)),
    "final": (bool,),
    "error": (str, type(None)),
    "input_tokens": (int, type(None)),
    "summary": (bool,),
    "text_so_far": (bool,),
    "server_times": (ServerTimes, type(None)),
}


def parse_or_unreadable(dialect: Dialect, event: Any) -> ParsedEvent | None:
    """The contract the clients rely on (exchange.py and the gRPC client catch `UNREADABLE`)."""
    try:
        parsed = dialect.parse(event)
    except UNREADABLE:
        return None
    for name, types in FIELD_TYPES.items():
        assert isinstance(getattr(parsed, name), types), (name, parsed)
    return parsed


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
@fuzz(examples=800)
@given(event=ANY_EVENT)
def test_any_json_gives_an_event_or_an_unreadable_error(dialect: Dialect, event: Any) -> None:
    parse_or_unreadable(dialect, event)


@fuzz(examples=500)
@given(event=triton_events)
def test_a_triton_error_is_final_whatever_else_comes_with_it(event: dict[str, Any]) -> None:
    assert TRITON
    for dialect in TRITON:
        parsed = parse_or_unreadable(dialect, {**event, "error": "boom"})
        assert parsed is not None
        assert (parsed.error, parsed.final) == ("boom", True)


@fuzz(examples=800)
@given(
    body=st.binary(max_size=100)
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.sampled_from([b"[" * 5000, b'{"error": ' * 3000, b"data: " + b"[" * 5000]),
    prefix=st.sampled_from([b"", b"data: ", b"data:", b"\n"]),
)
def test_an_error_body_always_reads_as_text(body: bytes, prefix: bytes) -> None:
    assert isinstance(error_body_text(prefix + body), str)
