"""Answers re-encoded in the client's API must read back, through the bench's own parsers and
tally, as the text and the token counts that went in; errors must read back as errors."""

from __future__ import annotations

import json
from typing import Any

from crossfade.bench.dialects.base import EventParser
from crossfade.bench.dialects.openai import OpenAIChat, OpenAICompletions
from crossfade.bench.dialects.triton_trtllm import TritonTrtllm
from crossfade.bench.dialects.triton_vllm import TritonVllm
from crossfade.bench.protocol import RequestRecord
from crossfade.bench.sse import SseParser
from crossfade.bench.tally import ResponseTally
from crossfade.rollout.router.front import parse_openai, parse_triton
from crossfade.rollout.router.replies import Reply, reply_for

PIECES = [("Hel", 1), ("lo wor", 2), ("ld", 1)]  # (text, tokens)
TOTAL = 4


def stream_of(reply: Reply) -> bytes:
    total, out = 0, b""
    for text, tokens in PIECES:
        total += tokens
        out += reply.event(text, tokens, total, 7)
    return out + reply.finish(total, 7)


def read_back(data: bytes, parse: EventParser) -> tuple[RequestRecord, str, bool]:
    record = RequestRecord(0, 0, TOTAL, 0)
    tally, text, done = ResponseTally(record), "", False
    for now, event in enumerate(SseParser().feed(data)):
        if event.done:
            done = True
            continue
        parsed = parse(json.loads(event.data))
        assert parsed.error is None
        tally.add(parsed, now)
        text += parsed.text
    return record, text, done or tally.final


def openai_body(**extra: Any) -> dict[str, Any]:
    return {"prompt": "p", "max_tokens": TOTAL, "ignore_eos": True, "stream": True, **extra}


def test_openai_completions_stream_with_continuous_usage() -> None:
    options = {"include_usage": True, "continuous_usage_stats": True}
    reply = reply_for(parse_openai(openai_body(stream_options=options), "completions"))
    data = stream_of(reply)
    assert data.endswith(b"data: [DONE]\n\n")
    record, text, final = read_back(data, OpenAICompletions("m").parse)
    assert (text, final) == ("Hello world", True)
    assert record.server_output_tokens == TOTAL
    assert record.chunk_tokens == [1, 2, 1]
    assert record.server_input_tokens == 7
    finish = [json.loads(e.data) for e in SseParser().feed(data) if not e.done][-2]
    assert finish["choices"][0]["finish_reason"] == "length"


def test_openai_chat_stream_without_usage_counts_a_token_per_chunk() -> None:
    body = {"messages": [{"role": "user", "content": "p"}], "max_tokens": 10, "stream": True}
    reply = reply_for(parse_openai(body, "chat"))
    data = stream_of(reply)
    record, text, final = read_back(data, OpenAIChat("m").parse)
    assert (text, final) == ("Hello world", True)
    assert record.chunk_tokens == [1, 1, 1]  # no usage asked: one per chunk with text
    events = [json.loads(e.data) for e in SseParser().feed(data) if not e.done]
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"
    assert events[-1]["choices"][0]["finish_reason"] == "stop"  # 4 of 10 tokens: not the cap


def test_triton_stream_for_a_vllm_style_client_ends_with_a_finish_reason() -> None:
    flags = {
        f"return_{f}": True for f in ("finish_reason", "num_output_tokens", "num_input_tokens")
    }
    body = {"text_input": "p", "parameters": {"max_tokens": TOTAL, "ignore_eos": True}, **flags}
    reply = reply_for(parse_triton(body, "m", stream=True))
    record, text, final = read_back(stream_of(reply), TritonVllm("m").parse)
    assert (text, final) == ("Hello world", True)
    assert record.server_output_tokens == TOTAL
    assert record.server_input_tokens == 7


def test_triton_stream_for_a_trtllm_style_client_ends_with_the_body() -> None:
    body = {"text_input": "p", "max_tokens": TOTAL, "end_id": -1, "return_num_output_tokens": True}
    reply = reply_for(parse_triton(body, "ensemble", stream=True))
    data = stream_of(reply)
    record, text, final = read_back(data, TritonTrtllm("m").parse)
    assert (text, final) == ("Hello world", False)  # no end event: the body's end is the marker
    assert record.server_output_tokens == TOTAL
    assert b"finish_reason" not in data


def test_whole_answers() -> None:
    completion = reply_for(parse_openai(openai_body(stream=False), "completions"))
    body = completion.whole("Hello world", TOTAL, 7)
    parsed = OpenAICompletions("m").parse(body)
    assert (parsed.text, parsed.cumulative_tokens, parsed.final) == ("Hello world", TOTAL, True)
    chat = reply_for(parse_openai({"messages": [{"role": "user", "content": "p"}]}, "chat"))
    assert OpenAIChat("m").parse(chat.whole("Hi", 1, None)).text == "Hi"
    triton = reply_for(
        parse_triton({"text_input": "p", "return_num_output_tokens": True}, "m", stream=False)
    )
    assert triton.whole("Hi", 1, None) == {
        "model_name": "m",
        "model_version": "1",
        "text_output": "Hi",
        "num_output_tokens": 1,
    }


def test_errors_read_back_as_errors_in_each_dialect() -> None:
    openai = reply_for(parse_openai(openai_body(), "completions"))
    event = SseParser().feed(openai.error_event("backend a failed mid-stream", 502))[0]
    assert (
        OpenAICompletions("m").parse(json.loads(event.data)).error == "backend a failed mid-stream"
    )
    assert openai.error_body("nope", 400)["error"]["type"] == "invalid_request_error"
    triton = reply_for(parse_triton({"text_input": "p"}, "m", stream=True))
    event = SseParser().feed(triton.error_event("gone", 502))[0]
    assert TritonVllm("m").parse(json.loads(event.data)).error == "gone"


def test_the_per_token_fast_path_writes_the_same_bytes_as_the_whole_event() -> None:
    """Events built from their fixed start (per answer) plus the encoded text (per token) are
    byte for byte what encoding each whole event gives, for every reply shape."""
    from crossfade.rollout.router.replies import OpenAIReply, TritonReply, sse

    texts = ["Hel", 'a "quoted" \\ back\nslash', "naïve ☃ 😀", "", "\x00\x1f"]
    flags = {"return_num_output_tokens": True, "return_num_input_tokens": True}
    for request in (
        parse_openai(openai_body(), "completions"),
        parse_openai(openai_body(stream_options={"continuous_usage_stats": True}), "completions"),
        parse_openai({"messages": [{"role": "user", "content": "m"}], "stream": True}, "chat"),
        parse_triton({"text_input": "p", "max_tokens": TOTAL, **flags}, "vllm_model", stream=True),
        parse_triton({"text_input": "p", "max_tokens": TOTAL}, "ensemble", stream=True),
    ):
        reply = reply_for(request)
        for position, text in enumerate(texts):
            fast = reply.event(text, 1, position + 1, 5)
            if isinstance(reply, OpenAIReply):
                reply._first = position == 0  # the slow path's own state, replayed
                slow = reply._chunk(text, None, position + 1, 5)
                reply._first = False
            else:
                assert isinstance(reply, TritonReply)
                slow = sse({**reply.head, "text_output": text, **reply._counts(1, 5)})
            assert fast == slow, (request.api, text)
