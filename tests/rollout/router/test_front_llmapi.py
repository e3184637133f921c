"""Requests of TensorRT-LLM's LLM API model (`tensorrt_llm` in Triton) -> one canonical request;
what no other backend can do is refused, naming the field as the client wrote it."""

from __future__ import annotations

from typing import Any

import pytest

from crossfade.rollout.router.front import FrontError, parse_triton
from crossfade.rollout.router.front_llmapi import parse_llmapi


def test_the_models_inputs_by_their_names() -> None:
    body = {
        "text_input": ["hi"],  # Triton's JSON: a [1]-shaped input as a one-element list
        "streaming": [True],
        "sampling_param_max_tokens": 12,
        "sampling_param_temperature": 0.5,
        "sampling_param_top_k": 4,
        "sampling_param_top_p": 0.9,
        "sampling_param_seed": 7,
        "sampling_param_frequency_penalty": 0.1,
        "sampling_param_presence_penalty": 0.2,
        "sampling_param_stop": ["\n"],
        "sampling_param_best_of": 1,
        "sampling_param_exclude_input_from_output": True,
        "sampling_param_return_perf_metrics": True,
        "return_finish_reason": True,
        "return_stop_reason": False,
        "return_cumulative_logprob": False,
        "stop": False,
        "id": "r1",
    }
    request = parse_llmapi(body, "tensorrt_llm", stream=True)
    assert (request.api, request.model, request.prompt) == ("llmapi", "tensorrt_llm", "hi")
    assert (request.max_tokens, request.exact_length, request.stream) == (12, False, True)
    assert dict(request.sampling) == {
        "temperature": 0.5,
        "top_k": 4,
        "top_p": 0.9,
        "seed": 7,
        "frequency_penalty": 0.1,
        "presence_penalty": 0.2,
        "stop": ["\n"],
    }
    assert request.reply.flags == {"return_finish_reason", "sampling_param_return_perf_metrics"}
    assert request.reply.incremental
    # what every backend's dialect gets: at most 12 tokens (this model cannot ask for exactly)
    assert request.generation().max_tokens == 12
    assert not request.generation().exact_length


def test_defaults_are_the_models_one_response_and_32_tokens() -> None:
    request = parse_llmapi({"text_input": "hi"}, "tensorrt_llm", stream=True)
    assert request.max_tokens == 32  # tensorrt_llm.SamplingParams' default
    assert not request.reply.incremental  # no `streaming`: one response with the whole text
    assert request.stream  # ... still as an event on /generate_stream
    assert request.reply.flags == frozenset()
    whole = parse_llmapi({"text_input": "hi", "streaming": False}, "m", stream=False)
    assert not whole.stream


def test_a_null_input_means_the_models_default() -> None:
    body = {"text_input": "hi", "sampling_param_max_tokens": None, "sampling_param_top_p": None}
    request = parse_llmapi(body, "m", stream=True)
    assert (request.max_tokens, dict(request.sampling)) == (32, {})


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"text_input": "hi", "max_tokens": 8}, "'max_tokens'.*takes sampling_param_max_tokens"),
        ({"text_input": "hi", "stream": True}, "'stream' is not an input"),
        ({"text_input": "hi", "image_url": "http://x/y.png"}, "'image_url'"),
        ({"text_input": "hi", "lora_name": "a"}, "'lora_name'"),
        ({"text_input": "hi", "sampling_param_min_tokens": 8}, "'sampling_param_min_tokens'"),
        ({"text_input": "hi", "sampling_param_best_of": 2}, "sampling_param_best_of=2"),
        ({"text_input": "hi", "sampling_param_exclude_input_from_output": False}, "exclude"),
        ({"text_input": "hi", "return_stop_reason": True}, "return_stop_reason=True"),
        ({"text_input": "hi", "stop": True}, "stop=True"),
        ({"text_input": "hi", "streaming": "yes"}, "streaming must be true or false"),
        ({"text_input": "hi", "return_finish_reason": 1}, "return_finish_reason must be true"),
        ({"text_input": "hi", "sampling_param_max_tokens": 0}, "sampling_param_max_tokens must"),
        ({"text_input": "hi", "sampling_param_top_k": 2.5}, "sampling_param_top_k must be a whole"),
        ({"text_input": "hi", "sampling_param_stop": [1]}, "sampling_param_stop must be a string"),
        ({"sampling_param_max_tokens": 4}, "text_input must be one string"),
        ([1], "JSON object"),
    ],
)
def test_refusals_name_the_field_as_the_client_wrote_it(body: Any, names: str) -> None:
    with pytest.raises(FrontError, match=names) as caught:
        parse_llmapi(body, "tensorrt_llm", stream=True)
    assert caught.value.status == 400
    assert len(str(caught.value)) < 600


def test_streaming_on_generate_is_refused_as_triton_refuses_it() -> None:
    body = {"text_input": "hi", "streaming": True}
    with pytest.raises(FrontError, match="/generate_stream") as caught:
        parse_llmapi(body, "tensorrt_llm", stream=False)
    assert caught.value.status == 400


def test_the_models_fields_sent_to_a_generate_model_name_say_which_config_entry_to_add() -> None:
    body = {"text_input": "hi", "sampling_param_max_tokens": 4}
    with pytest.raises(FrontError, match=r"triton_fronts: \{'my_llm': llmapi\}"):
        parse_triton(body, "my_llm", stream=True)
