"""Client requests in each front API -> one canonical request; refusals name the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crossfade.rollout.router.front import FrontError, parse_openai, parse_triton, read_json

EXACT_VLLM = {"max_tokens": 8, "min_tokens": 8, "ignore_eos": True}


def test_openai_completions_exact_length_and_sampling() -> None:
    body = {"model": "m", "prompt": "hi", **EXACT_VLLM, "temperature": 0.5, "stream": True}
    body["stream_options"] = {"include_usage": True, "continuous_usage_stats": True}
    request = parse_openai(body, "completions")
    assert (request.prompt, request.max_tokens, request.exact_length) == ("hi", 8, True)
    assert dict(request.sampling) == {"temperature": 0.5}  # the exact length is not sampling
    assert request.stream
    assert request.reply.include_usage
    assert request.reply.continuous_usage
    assert request.messages is None


def test_openai_max_tokens_alone_is_a_cap_with_the_default_of_16() -> None:
    capped = parse_openai({"prompt": "hi", "max_tokens": 5, "min_tokens": 2}, "completions")
    assert not capped.exact_length
    assert dict(capped.sampling) == {"min_tokens": 2}
    assert parse_openai({"prompt": ["hi"]}, "completions").max_tokens == 16


def test_ignore_eos_with_a_stop_string_is_not_an_exact_length() -> None:
    body = {"prompt": "hi", **EXACT_VLLM, "stop": ["\n"]}
    request = parse_openai(body, "completions")
    assert not request.exact_length
    assert request.sampling["ignore_eos"] is True


def test_chat_messages_become_a_transcript_and_stay_whole_for_chat_backends() -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "hel"}, {"type": "text", "text": "lo"}],
        },
    ]
    request = parse_openai({"messages": messages, "max_completion_tokens": 4}, "chat")
    assert request.prompt == "system: be brief\nuser: hello\nassistant:"
    assert request.messages == (
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hello"},
    )
    assert request.max_tokens == 4
    assert not request.stream


@pytest.mark.parametrize(
    ("body", "api", "names"),
    [
        ({"prompt": "hi", "logit_bias": {}}, "completions", "logit_bias"),
        ({"prompt": "hi", "n": 2}, "completions", "n=2"),
        ({"prompt": ["a", "b"]}, "completions", "prompt"),
        ({"prompt": "hi", "max_tokens": 0}, "completions", "max_tokens"),
        ({"prompt": "hi", "stream": "yes"}, "completions", "stream"),
        ({"messages": []}, "chat", "messages"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "chat", "text"),
        (
            {"messages": [{"role": "user", "content": [{"type": "text", "text": 1}]}]},
            "chat",
            "text",
        ),
        ([1, 2], "completions", "JSON object"),
        ({"prompt": "hi", "temperature": "hot"}, "completions", "temperature must be a number"),
        ({"prompt": "hi", "top_k": 2.5}, "completions", "top_k must be a whole number"),
        ({"prompt": "hi", "seed": True}, "completions", "seed must be a whole number"),
        ({"prompt": "hi", "ignore_eos": "true"}, "completions", "ignore_eos must be true or"),
        ({"prompt": "hi", "stop": ["a", 1]}, "completions", "stop must be a string or a list"),
    ],
)
def test_openai_refusals_name_the_field(body: Any, api: Any, names: str) -> None:
    with pytest.raises(FrontError, match=names) as caught:
        parse_openai(body, api)
    assert caught.value.status == 400


def test_triton_vllm_style_parameters_and_flags() -> None:
    body = {
        "text_input": "hi",
        "stream": True,
        "parameters": {**EXACT_VLLM, "top_p": 0.9},
        "exclude_input_in_output": True,
        "return_finish_reason": True,
        "return_num_output_tokens": True,
        "return_num_input_tokens": False,
    }
    request = parse_triton(body, "vllm_model", stream=True)
    assert (request.api, request.model, request.max_tokens, request.exact_length) == (
        "triton", "vllm_model", 8, True,
    )  # fmt: skip
    assert dict(request.sampling) == {"top_p": 0.9}
    assert request.reply.flags == {"return_finish_reason", "return_num_output_tokens"}


def test_triton_vllm_sampling_parameters_string() -> None:
    body = {"text_input": ["hi"], "sampling_parameters": json.dumps({**EXACT_VLLM, "seed": 3})}
    request = parse_triton(body, "m", stream=False)
    assert request.exact_length
    assert dict(request.sampling) == {"seed": 3}
    assert not request.stream


def test_triton_trtllm_style_inputs_with_old_names() -> None:
    body = {"text_input": "hi", "max_tokens": [8], "min_length": 8, "end_id": -1, "top_k": 4}
    request = parse_triton(body, "ensemble", stream=True)
    assert request.exact_length
    assert dict(request.sampling) == {"top_k": 4}
    capped = parse_triton(
        {"text_input": "hi", "max_tokens": 8, "stop_words": ["x"]}, "e", stream=True
    )
    assert not capped.exact_length
    assert dict(capped.sampling) == {"stop": ["x"]}


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"text_input": "hi", "end_id": 2}, "end_id"),
        ({"text_input": "hi", "beam_width": 2}, "beam_width"),
        ({"text_input": "hi", "exclude_input_in_output": False}, "exclude_input_in_output"),
        ({"text_input": "hi", "bad_words": ["x"]}, "bad_words"),
        ({"text_input": "hi", "sampling_parameters": "{"}, "not JSON"),
        ({"max_tokens": 4}, "text_input"),
        ({"text_input": "hi", "parameters": {"temperature": "x"}}, "temperature must be"),
        ({"text_input": "hi", "sampling_parameters": '{"top_p": "x"}'}, "top_p must be"),
    ],
)
def test_triton_refusals_name_the_field(body: Any, names: str) -> None:
    with pytest.raises(FrontError, match=names):
        parse_triton(body, "m", stream=True)


def test_a_null_sampling_field_means_its_default() -> None:
    request = parse_openai({"prompt": "hi", "temperature": None, "top_p": 0.5}, "completions")
    assert dict(request.sampling) == {"top_p": 0.5}


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        (b'{"prompt": "hi", "temperature": NaN}', "NaN is not a JSON value"),
        (b'{"prompt": "hi", "top_p": -Infinity}', "-Infinity is not a JSON value"),
        (b"[" * 5000 + b"]" * 5000, "not JSON: maximum recursion depth"),
        (b"[" + b"{}," * 100_000 + b"{}]", "more than 100000 JSON values"),
        (b"\xff\xfe{", "not JSON"),
        (b'{"prompt": "hi", "user": ' + b"[" * 900 + b"]" * 900 + b"}", "deeper than 32"),
    ],
)
def test_bodies_that_are_not_json_or_too_large_a_structure_are_refused(
    raw: bytes, names: str
) -> None:
    # Found by the fuzzing (test_front_fuzz.py): NaN reached the backends (a failure counted
    # against them) and deep nesting raised RecursionError (a 500 with a traceback), in the
    # parser or in whatever walked a deep value recursively (str() of a sticky field); a 64 MB
    # body of `{},` took 1.5 GB to parse.
    with pytest.raises(FrontError, match=names) as caught:
        read_json(raw)
    assert caught.value.status == 400


def test_a_prompt_full_of_commas_is_not_a_structure() -> None:
    prompt = 'a, [b], {c}, "d", \\ ' * 30_000  # 150,000 commas and brackets, in one string
    assert read_json(json.dumps({"prompt": prompt}).encode()) == {"prompt": prompt}


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"prompt": "hi", "temperature": 1e400}, "temperature must be a number"),  # inf
        ({"prompt": "hi", "max_tokens": 2**31}, "max_tokens must be a whole number from 1 to"),
        ({"prompt": "hi", "top_k": 2**31}, "top_k must be a whole number from"),
        ({"prompt": "hi", "seed": 2**63}, "seed must be a whole number from"),
        ({"prompt": "hi", "model": ["m"]}, "model must be a string"),
        ({"prompt": "hi", "x" * 10_000: 1}, "'xxxxxxxx"),
    ],
)
def test_values_no_backend_takes_are_refused_with_a_short_message(body: Any, names: str) -> None:
    with pytest.raises(FrontError, match=names) as caught:
        parse_openai(body, "completions")
    assert len(str(caught.value)) < 500


def test_triton_sampling_parameters_must_be_an_encoded_object() -> None:
    for value, names in (({"top_p": 0.5}, "must be a string"), ("[1]", "encode a JSON object")):
        with pytest.raises(FrontError, match=names):
            parse_triton({"text_input": "hi", "sampling_parameters": value}, "m", stream=True)
