"""OpenAI-compatible completions and chat: payloads for a generation request, and responses."""

from __future__ import annotations

from dataclasses import replace

import pytest

from crossfade.bench.dialects.base import ParsedEvent
from crossfade.bench.dialects.openai import OpenAIChat, OpenAICompletions
from tests.support.generation import CAPPED, STREAMED, WHOLE

COMPLETIONS = OpenAICompletions("m", "/v1")
CHAT = OpenAIChat("m", "/v1")


def test_completions_payload() -> None:
    assert COMPLETIONS.payload(STREAMED) == {
        "model": "m",
        "prompt": "Hello there",
        "max_tokens": 32,
        "min_tokens": 32,
        "ignore_eos": True,
        "stream": True,
        "stream_options": {"include_usage": True, "continuous_usage_stats": True},
    }


def test_paths() -> None:
    assert COMPLETIONS.path(stream=True) == COMPLETIONS.path(stream=False) == "/v1/completions"
    assert CHAT.path(stream=True) == "/v1/chat/completions"
    assert CHAT.ready_path() == "/health"  # vLLM's, beside /v1
    assert OpenAIChat("m", "/api/v1").ready_path() == "/api/health"
    assert OpenAICompletions("m").path(stream=True) == "/completions"


def test_chat_payload_and_no_stream_options_without_stream() -> None:
    payload = CHAT.payload(replace(WHOLE, sampling={"temperature": 0}))
    assert payload["messages"] == [{"role": "user", "content": "Hi"}]
    assert (payload["max_tokens"], payload["min_tokens"], payload["ignore_eos"]) == (5, 5, True)
    assert payload["stream"] is False
    assert "stream_options" not in payload
    assert payload["temperature"] == 0


def test_a_length_cap_instead_of_an_exact_length() -> None:
    for dialect in (COMPLETIONS, CHAT):
        payload = dialect.payload(CAPPED)
        assert payload["max_tokens"] == 32
        assert "ignore_eos" not in payload
        assert "min_tokens" not in payload


def test_chat_messages_whole_for_chat() -> None:
    messages = ({"role": "system", "content": "s"}, {"role": "user", "content": "u"})
    assert CHAT.payload(replace(STREAMED, messages=messages))["messages"] == list(messages)
    assert "messages" not in COMPLETIONS.payload(replace(STREAMED, messages=messages))


def test_parse_completion_chunks() -> None:
    chunk = {
        "choices": [{"index": 0, "text": "elm", "finish_reason": None}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    }
    assert COMPLETIONS.parse(chunk) == ParsedEvent(text="elm", cumulative_tokens=2, input_tokens=5)
    chunk["choices"][0]["finish_reason"] = "length"  # type: ignore[index]
    assert COMPLETIONS.parse(chunk).final
    trailer = {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 3}}
    assert COMPLETIONS.parse(trailer) == ParsedEvent(
        cumulative_tokens=3, input_tokens=5, summary=True
    )
    bare = COMPLETIONS.parse({"choices": [{"text": "a", "finish_reason": None}]})
    assert bare == ParsedEvent(text="a")


def test_parse_chat_chunks_and_whole_response() -> None:
    role = {"choices": [{"delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
    assert CHAT.parse(role) == ParsedEvent()
    reasoning = {"choices": [{"delta": {"reasoning_content": "hmm"}, "finish_reason": None}]}
    assert CHAT.parse(reasoning).text == "hmm"
    whole = {
        "choices": [{"message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 8, "completion_tokens": 1},
    }
    assert CHAT.parse(whole) == ParsedEvent(
        text="hi", cumulative_tokens=1, final=True, input_tokens=8
    )


@pytest.mark.parametrize(
    "event",
    [
        {"error": {"message": "boom", "type": "InternalServerError", "code": 500}},
        {"object": "error", "message": "boom", "type": "BadRequestError"},
        {"error": "boom"},
    ],
)
def test_parse_error_events(event: dict[str, object]) -> None:
    for dialect in (COMPLETIONS, CHAT):
        assert dialect.parse(event) == ParsedEvent(error="boom", final=True)
