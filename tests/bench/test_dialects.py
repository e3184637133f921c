"""Each backend's dialect: the payloads and tensors for a canonical request, the response parsers,
and how parsed events become a record's chunks and counts."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tritonclient.utils import serialize_byte_tensor

from crossfade.bench import dialects as d
from crossfade.bench.clients import ResponseTally
from crossfade.bench.clients.triton_grpc import raw_outputs_as_json, raw_tensor
from crossfade.bench.protocol import BenchRequest, RequestRecord

STREAMED = BenchRequest(index=3, prompt="Hello there", prompt_tokens=2, output_tokens=32)
WHOLE = BenchRequest(index=4, prompt="Hi", prompt_tokens=1, output_tokens=5, stream=False)
COUNTS = {"return_num_input_tokens": True, "return_num_output_tokens": True}


# --- payloads ---------------------------------------------------------------------------------


def test_triton_vllm_payload_in_request_parameters() -> None:
    assert d.triton_vllm_payload(STREAMED) == {
        "text_input": "Hello there",
        "stream": True,
        "exclude_input_in_output": True,
        "return_finish_reason": True,
        **COUNTS,
        "parameters": {"max_tokens": 32, "min_tokens": 32, "ignore_eos": True},
    }
    assert d.triton_vllm_payload(WHOLE)["stream"] is False


def test_triton_vllm_sampling_as_tensor_keeps_json_booleans() -> None:
    payload = d.triton_vllm_payload(WHOLE, sampling={"temperature": 0}, sampling_as_tensor=True)
    assert "parameters" not in payload
    sampling = json.loads(payload["sampling_parameters"])
    assert sampling == {"temperature": 0, "max_tokens": 5, "min_tokens": 5, "ignore_eos": True}
    assert sampling["ignore_eos"] is True  # a JSON boolean, never the string "true"


def test_triton_vllm_non_scalar_sampling_moves_to_the_tensor() -> None:
    payload = d.triton_vllm_payload(WHOLE, sampling={"stop": ["\n"]})
    assert json.loads(payload["sampling_parameters"])["stop"] == ["\n"]


def test_exact_length_wins_over_extra_sampling() -> None:
    sampling = {"max_tokens": 1, "ignore_eos": False, "top_p": 0.5}
    assert d.triton_vllm_payload(WHOLE, sampling=sampling)["parameters"] == {
        "max_tokens": 5,
        "min_tokens": 5,
        "ignore_eos": True,
        "top_p": 0.5,
    }


def test_triton_trtllm_payload() -> None:
    assert d.triton_trtllm_payload(STREAMED) == {
        "text_input": "Hello there",
        "max_tokens": 32,
        "min_tokens": 32,
        "end_id": -1,
        "stream": True,
        "exclude_input_in_output": True,
        **COUNTS,
    }


def test_triton_trtllm_payload_for_old_repositories_and_extras() -> None:
    payload = d.triton_trtllm_payload(
        WHOLE, min_tokens_input="min_length", extra={"top_k": 1, "max_tokens": 9}
    )
    assert payload["min_length"] == 5
    assert "min_tokens" not in payload
    assert (payload["top_k"], payload["max_tokens"], payload["stream"]) == (1, 5, False)


def test_openai_completions_payload() -> None:
    assert d.openai_completions_payload(STREAMED, "m") == {
        "model": "m",
        "prompt": "Hello there",
        "max_tokens": 32,
        "min_tokens": 32,
        "ignore_eos": True,
        "stream": True,
        "stream_options": {"include_usage": True, "continuous_usage_stats": True},
    }


def test_openai_chat_payload_and_no_stream_options_without_stream() -> None:
    payload = d.openai_chat_payload(WHOLE, "m", extra={"temperature": 0})
    assert payload["messages"] == [{"role": "user", "content": "Hi"}]
    assert (payload["max_tokens"], payload["min_tokens"], payload["ignore_eos"]) == (5, 5, True)
    assert payload["stream"] is False
    assert "stream_options" not in payload
    assert payload["temperature"] == 0


def test_a_length_cap_instead_of_an_exact_length_in_every_dialect() -> None:
    sampling = {"temperature": 0.5, "min_tokens": 2}
    vllm = d.triton_vllm_payload(STREAMED, sampling=sampling, exact_length=False)
    assert vllm["parameters"] == {"temperature": 0.5, "min_tokens": 2, "max_tokens": 32}
    trtllm = d.triton_trtllm_payload(STREAMED, extra={"top_k": 2}, exact_length=False)
    assert (trtllm["max_tokens"], trtllm["top_k"]) == (32, 2)
    assert "end_id" not in trtllm
    assert "min_tokens" not in trtllm
    for build in (d.openai_completions_payload, d.openai_chat_payload):
        payload = build(STREAMED, "m", exact_length=False)
        assert payload["max_tokens"] == 32
        assert "ignore_eos" not in payload
        assert "min_tokens" not in payload


def test_trtllm_names_for_the_portable_sampling_fields() -> None:
    sampling = {"temperature": 0.7, "seed": 5, "min_tokens": 3, "stop": "\n", "ignore_eos": True}
    assert set(sampling) <= d.PORTABLE_SAMPLING
    assert d.trtllm_sampling_inputs(sampling, min_tokens_input="min_length") == {
        "temperature": 0.7,
        "seed": 5,
        "min_length": 3,
        "stop_words": ["\n"],
        "end_id": -1,
    }
    assert d.trtllm_sampling_inputs({"ignore_eos": False}) == {}


def test_chat_messages_whole_for_chat_and_as_a_transcript_for_text() -> None:
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    assert d.openai_chat_payload(STREAMED, "m", messages=messages)["messages"] == messages
    assert d.chat_prompt(messages) == "system: s\nuser: u\nassistant:"


# --- gRPC tensors -----------------------------------------------------------------------------


def _by_name(tensors: list[d.Tensor]) -> dict[str, d.Tensor]:
    return {t.name: t for t in tensors}


def test_triton_vllm_tensors() -> None:
    tensors = _by_name(d.triton_vllm_tensors(STREAMED))
    assert set(tensors) == {
        "text_input",
        "stream",
        "sampling_parameters",
        "exclude_input_in_output",
        "return_finish_reason",
        *COUNTS,
    }
    assert all(t.value.shape == (1,) for t in tensors.values())  # max_batch_size 0
    assert tensors["text_input"].datatype == "BYTES"
    assert tensors["text_input"].value[0] == b"Hello there"
    assert tensors["stream"].datatype == "BOOL"
    assert tensors["stream"].value.dtype == np.bool_
    assert bool(tensors["stream"].value[0]) is True
    sampling = json.loads(tensors["sampling_parameters"].value[0])
    assert sampling == {"max_tokens": 32, "min_tokens": 32, "ignore_eos": True}


def test_triton_trtllm_tensors_are_batched() -> None:
    tensors = _by_name(d.triton_trtllm_tensors(WHOLE))
    assert all(t.value.shape == (1, 1) for t in tensors.values())
    for name, value in (("max_tokens", 5), ("min_tokens", 5), ("end_id", -1)):
        assert tensors[name].datatype == "INT32"
        assert tensors[name].value.dtype == np.int32
        assert int(tensors[name].value[0, 0]) == value
    assert bool(tensors["stream"].value[0, 0]) is False
    assert bool(tensors["exclude_input_in_output"].value[0, 0]) is True
    old = _by_name(d.triton_trtllm_tensors(WHOLE, min_tokens_input="min_length", batched=False))
    assert "min_tokens" not in old
    assert old["min_length"].value.shape == (1,)


def test_raw_tensor_encoding_matches_tritonclient() -> None:
    tensors = _by_name(d.triton_trtllm_tensors(STREAMED))
    text = tensors["text_input"]
    assert raw_tensor(text) == serialize_byte_tensor(text.value).item()
    assert raw_tensor(tensors["max_tokens"]) == np.array([[32]], "<i4").tobytes()
    assert raw_tensor(tensors["end_id"]) == b"\xff\xff\xff\xff"
    assert raw_tensor(tensors["stream"]) == b"\x01"


def test_raw_outputs_decode_like_the_http_extension() -> None:
    outputs = [
        ("text_output", "BYTES"),
        ("num_output_tokens", "UINT32"),
        ("finish_reason", "BYTES"),
        ("logprobs", "FP32"),
        ("generation_logits", "BF16"),
        ("ignored", "INT32"),
    ]
    contents = [
        serialize_byte_tensor(np.array([b"caf\xc3\xa9"], dtype=np.object_)).item(),
        np.array([3], "<u4").tobytes(),
        b"\x06\x00\x00\x00length",
        np.array([1.5, 2.5], "<f4").tobytes(),
        b"\x00\x00",
        b"\x00\x00\x00\x00",
    ]
    names = {"text_output", "num_output_tokens", "finish_reason", "logprobs", "generation_logits"}
    event = raw_outputs_as_json(outputs, contents, names)
    assert event == {
        "text_output": "café",
        "num_output_tokens": 3,
        "finish_reason": "length",
        "logprobs": [1.5, 2.5],
    }
    assert d.parse_triton_vllm_event(event) == d.ParsedEvent(text="café", tokens=3, final=True)


# --- response parsers -------------------------------------------------------------------------


def test_parse_triton_vllm_events() -> None:
    middle = {"text_output": "il", "num_output_tokens": 1, "num_input_tokens": 5}
    assert d.parse_triton_vllm_event({**middle, "finish_reason": "None"}) == d.ParsedEvent(
        text="il", tokens=1, input_tokens=5
    )
    last = d.parse_triton_vllm_event({**middle, "finish_reason": "length"})
    assert last.final
    assert not d.parse_triton_vllm_event({"text_output": "x"}).final
    assert d.parse_triton_vllm_event({"text_output": ["a", "b"], "num_output_tokens": [2, 3]}) == (
        d.ParsedEvent(text="a", tokens=5)
    )


def test_parse_triton_trtllm_events_never_mark_the_end() -> None:
    event = d.parse_triton_trtllm_event(
        {"model_name": "ensemble", "num_output_tokens": 2, "text_output": ""}
    )
    assert event == d.ParsedEvent(text="", tokens=2)
    held_back_text = d.parse_triton_trtllm_event({"text_output": "é"})
    assert held_back_text == d.ParsedEvent(text="é")


@pytest.mark.parametrize(
    "parse", [d.parse_triton_vllm_event, d.parse_triton_trtllm_event], ids=["vllm", "trtllm"]
)
def test_parse_triton_error_event(parse: d.EventParser) -> None:
    event = parse({"error": "Error generating stream: boom"})
    assert event.error == "Error generating stream: boom"
    assert event.final


def test_parse_openai_completion_chunks() -> None:
    chunk = {
        "choices": [{"index": 0, "text": "elm", "finish_reason": None}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    }
    assert d.parse_openai_completions_event(chunk) == d.ParsedEvent(
        text="elm", cumulative_tokens=2, input_tokens=5
    )
    chunk["choices"][0]["finish_reason"] = "length"  # type: ignore[index]
    assert d.parse_openai_completions_event(chunk).final
    trailer = {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 3}}
    assert d.parse_openai_completions_event(trailer) == d.ParsedEvent(
        cumulative_tokens=3, input_tokens=5, summary=True
    )
    bare = d.parse_openai_completions_event({"choices": [{"text": "a", "finish_reason": None}]})
    assert bare == d.ParsedEvent(text="a")


def test_parse_openai_chat_chunks_and_whole_response() -> None:
    role = {"choices": [{"delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
    assert d.parse_openai_chat_event(role) == d.ParsedEvent()
    reasoning = {"choices": [{"delta": {"reasoning_content": "hmm"}, "finish_reason": None}]}
    assert d.parse_openai_chat_event(reasoning).text == "hmm"
    whole = {
        "choices": [{"message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 8, "completion_tokens": 1},
    }
    assert d.parse_openai_chat_event(whole) == d.ParsedEvent(
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
def test_parse_openai_error_events(event: dict[str, object]) -> None:
    for parse in (d.parse_openai_completions_event, d.parse_openai_chat_event):
        assert parse(event) == d.ParsedEvent(error="boom", final=True)


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b'{"error":"Request for unknown model: \'x\' is not found"}', "Request for unknown"),
        (b'data: {"error":"unknown sampling parameter \'bogus\'"}\n\n', "unknown sampling"),
        (b'{"error":{"message":"The model `x` does not exist.","code":404}}', "The model `x`"),
        (b"<html>Bad Gateway</html>", "<html>Bad Gateway</html>"),
        (b"", "(empty body)"),
    ],
)
def test_error_body_text(body: bytes, text: str) -> None:
    assert d.error_body_text(body).startswith(text)


# --- parsed events applied to a record --------------------------------------------------------


def _tally(events: list[d.ParsedEvent]) -> RequestRecord:
    record = RequestRecord(index=0, prompt_tokens=2, requested_output_tokens=3, scheduled_ns=0)
    tally = ResponseTally(record)
    for at, event in enumerate(events, start=100):
        tally.add(event, at)
    return record


def test_triton_counts_are_summed_and_held_back_text_is_no_chunk() -> None:
    record = _tally(
        [
            d.ParsedEvent(text="heal", tokens=1, input_tokens=4),
            d.ParsedEvent(text="", tokens=2, input_tokens=4),  # text held back by the BLS
            d.ParsedEvent(text="ő"),  # the held-back text, its tokens already counted
        ]
    )
    assert (record.chunk_ns, record.chunk_tokens) == ([100, 101], [1, 2])
    assert (record.server_output_tokens, record.server_input_tokens) == (3, 4)
    assert record.output_chars == 5


def test_openai_continuous_usage_gives_per_chunk_differences() -> None:
    record = _tally(
        [
            d.ParsedEvent(text="", cumulative_tokens=0, input_tokens=8),  # the role chunk
            d.ParsedEvent(text="", cumulative_tokens=1),  # a token whose text is held back
            d.ParsedEvent(text="ab", cumulative_tokens=3, final=True),
            d.ParsedEvent(cumulative_tokens=3, summary=True),
        ]
    )
    assert (record.chunk_ns, record.chunk_tokens) == ([101, 102], [1, 2])
    assert record.server_output_tokens == 3


def test_openai_without_continuous_usage_counts_one_per_text_chunk() -> None:
    record = _tally(
        [
            d.ParsedEvent(text="a"),
            d.ParsedEvent(text=""),
            d.ParsedEvent(text="b", final=True),
            d.ParsedEvent(cumulative_tokens=3, input_tokens=2, summary=True),
        ]
    )
    assert (record.chunk_ns, record.chunk_tokens) == ([100, 102], [1, 1])
    assert record.server_output_tokens == 3  # the server's total, verified against the request
    assert record.server_input_tokens == 2


def test_no_server_counts_at_all() -> None:
    record = _tally([d.ParsedEvent(text="a"), d.ParsedEvent(text="b")])
    assert record.chunk_tokens == [1, 1]
    assert record.server_output_tokens is None
