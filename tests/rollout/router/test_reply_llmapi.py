"""Answers in the LLM API model's shape: every response holds the text so far, the client's reading
of it (the new part is what goes beyond what it has) gives back the text that went in, and the
per-step path writes the same bytes as encoding each whole response."""

from __future__ import annotations

import json
from typing import Any

from crossfade.bench.dialects.base import ServerTimes
from crossfade.bench.sse import SseParser
from crossfade.rollout.router.front_llmapi import parse_llmapi
from crossfade.rollout.router.replies import error_body, reply_for, sse
from crossfade.rollout.router.reply_llmapi import LlmApiReply

PIECES = ["Hel", 'lo "wor', "", "ld\n☃ 😀", "\x00!"]  # "" : a step with a token and no text
TIMES = ServerTimes(arrival_ns=10, first_scheduled_ns=25, first_token_ns=40, last_token_ns=90)


def reply(body: dict[str, Any], stream: bool = True) -> LlmApiReply:
    made = reply_for(parse_llmapi({"text_input": "p", **body}, "tensorrt_llm", stream=stream))
    assert isinstance(made, LlmApiReply)
    return made


def responses(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(event.data) for event in SseParser().feed(data)]


def read_as_a_client(events: list[dict[str, Any]]) -> list[str]:
    """The new part of each response, as a client of the model takes it."""
    have, parts = "", []
    for event in events:
        text = event["text_output"]
        assert text.startswith(have), "text_output holds the text so far"
        parts.append(text[len(have) :])
        have = text
    return parts


def stream_of(answer: LlmApiReply, times: ServerTimes | None = None) -> bytes:
    out = b"".join(answer.event(p, 1, i + 1, 3, times) for i, p in enumerate(PIECES))
    return out + answer.finish(len(PIECES), 3, times)


def test_each_response_holds_the_text_so_far() -> None:
    events = responses(stream_of(reply({"streaming": True, "sampling_param_max_tokens": 9})))
    assert len(events) == len(PIECES)  # a response per step; the end of the body ends it
    assert read_as_a_client(events) == PIECES
    assert events[-1]["text_output"] == "".join(PIECES)
    assert all(e["model_name"] == "tensorrt_llm" and e["model_version"] == "1" for e in events)
    assert all("finish_reason" not in e and "arrival_time_ns" not in e for e in events)


def test_the_finish_reason_is_none_until_a_last_response_with_the_whole_text() -> None:
    body = {"streaming": True, "return_finish_reason": True, "sampling_param_max_tokens": 5}
    events = responses(stream_of(reply(body)))
    assert [e["finish_reason"] for e in events] == ["None"] * len(PIECES) + ["length"]
    assert read_as_a_client(events) == [*PIECES, ""]  # the last one brings nothing new
    under_the_cap = responses(stream_of(reply({**body, "sampling_param_max_tokens": 6})))
    assert under_the_cap[-1]["finish_reason"] == "stop"


def test_without_streaming_one_response_with_the_whole_text() -> None:
    answer = reply({"return_finish_reason": True, "sampling_param_return_perf_metrics": True})
    assert all(answer.event(p, 1, 1, None, TIMES) == b"" for p in PIECES)
    events = responses(answer.finish(len(PIECES), None, TIMES))
    assert len(events) == 1
    assert events[0]["text_output"] == "".join(PIECES)
    assert events[0]["finish_reason"] == "stop"  # 5 of 32 tokens
    assert events[0]["first_token_time_ns"] == "40"
    plain = reply({})
    for piece in PIECES:
        plain.event(piece, 1, 1, None)
    assert responses(plain.finish(len(PIECES), None)) == [
        {"model_name": "tensorrt_llm", "model_version": "1", "text_output": "".join(PIECES)}
    ]


def test_the_backends_timestamps_pass_through_when_asked_and_told() -> None:
    body = {"streaming": True, "sampling_param_return_perf_metrics": True}
    events = responses(stream_of(reply(body), TIMES))
    assert {
        (e["arrival_time_ns"], e["first_scheduled_time_ns"], e["first_token_time_ns"])
        for e in events
    } == {("10", "25", "40")}  # strings of digits, as upstream's model sends them
    assert events[-1]["last_token_time_ns"] == "90"
    untold = responses(stream_of(reply(body), None))  # a backend without the model's clock
    assert all("arrival_time_ns" not in e for e in untold)
    unasked = responses(stream_of(reply({"streaming": True}), TIMES))
    assert all("arrival_time_ns" not in e for e in unasked)


def test_a_whole_answer_on_generate() -> None:
    answer = reply({"sampling_param_return_perf_metrics": True, "return_finish_reason": True})
    assert answer.whole("Hello", 2, None, TIMES) == {
        "model_name": "tensorrt_llm",
        "model_version": "1",
        "text_output": "Hello",
        "finish_reason": "stop",
        "arrival_time_ns": "10",
        "first_scheduled_time_ns": "25",
        "first_token_time_ns": "40",
        "last_token_time_ns": "90",
    }


def test_errors_are_the_models() -> None:
    answer = reply({"streaming": True})
    assert responses(answer.error_event("backend a failed mid-stream: reset", 502)) == [
        {"error": "Error generating request: backend a failed mid-stream: reset"}
    ]
    assert answer.error_body("no backend could answer", 502) == {"error": "no backend could answer"}
    assert error_body("llmapi", "bad", 400) == {"error": "bad"}


def test_the_per_step_path_writes_the_same_bytes_as_each_whole_response() -> None:
    flags = {"return_finish_reason": True, "sampling_param_return_perf_metrics": True}
    for body in ({"streaming": True}, {"streaming": True, **flags}):
        answer, so_far = reply(body), ""
        for position, piece in enumerate(PIECES):
            so_far += piece
            fast = answer.event(piece, 1, position + 1, None, TIMES)
            whole = answer.whole(so_far, position + 1, None, TIMES)
            if "finish_reason" in whole:
                whole["finish_reason"] = "None"
            assert fast == sse(whole), (body, piece)
        last = answer.finish(len(PIECES), None, TIMES)
        reasons = "return_finish_reason" in body
        assert last == (sse(answer.whole(so_far, len(PIECES), None, TIMES)) if reasons else b"")
