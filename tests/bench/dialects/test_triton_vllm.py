"""Triton's vLLM backend: its payload and tensors for a generation request, and its responses."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np

from crossfade.bench.dialects.base import ParsedEvent, Tensor
from crossfade.bench.dialects.triton_vllm import TritonVllm
from tests.support.generation import CAPPED, COUNTS, STREAMED, WHOLE

VLLM = TritonVllm("vllm_model")


def test_payload_in_request_parameters() -> None:
    assert VLLM.payload(STREAMED) == {
        "text_input": "Hello there",
        "stream": True,
        "exclude_input_in_output": True,
        "return_finish_reason": True,
        **COUNTS,
        "parameters": {"max_tokens": 32, "min_tokens": 32, "ignore_eos": True},
    }
    assert VLLM.payload(WHOLE)["stream"] is False


def test_paths() -> None:
    assert VLLM.path(stream=True) == "/v2/models/vllm_model/generate_stream"
    assert VLLM.path(stream=False) == "/v2/models/vllm_model/generate"
    assert VLLM.ready_path() == "/v2/models/vllm_model/ready"
    assert TritonVllm("a/b").path(stream=True) == "/v2/models/a%2Fb/generate_stream"


def test_sampling_as_tensor_keeps_json_booleans() -> None:
    as_tensor = TritonVllm("m", sampling_as_tensor=True)
    payload = as_tensor.payload(replace(WHOLE, sampling={"temperature": 0}))
    assert "parameters" not in payload
    sampling = json.loads(payload["sampling_parameters"])
    assert sampling == {"temperature": 0, "max_tokens": 5, "min_tokens": 5, "ignore_eos": True}
    assert sampling["ignore_eos"] is True  # a JSON boolean, never the string "true"


def test_non_scalar_sampling_moves_to_the_tensor() -> None:
    payload = VLLM.payload(replace(WHOLE, sampling={"stop": ["\n"]}))
    assert json.loads(payload["sampling_parameters"])["stop"] == ["\n"]


def test_exact_length_wins_over_extra_sampling() -> None:
    sampling = {"max_tokens": 1, "ignore_eos": False, "top_p": 0.5}
    assert VLLM.payload(replace(WHOLE, sampling=sampling))["parameters"] == {
        "max_tokens": 5,
        "min_tokens": 5,
        "ignore_eos": True,
        "top_p": 0.5,
    }


def test_a_length_cap_instead_of_an_exact_length() -> None:
    sampling = {"temperature": 0.5, "min_tokens": 2}
    vllm = VLLM.payload(replace(CAPPED, sampling=sampling))
    assert vllm["parameters"] == {"temperature": 0.5, "min_tokens": 2, "max_tokens": 32}


def _by_name(tensors: list[Tensor]) -> dict[str, Tensor]:
    return {t.name: t for t in tensors}


def test_tensors() -> None:
    tensors = _by_name(VLLM.grpc_inputs(STREAMED))
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
    batched = _by_name(VLLM.grpc_inputs(STREAMED, batched=True))  # as the model's config says
    assert all(t.value.shape == (1, 1) for t in batched.values())


def test_parse_events() -> None:
    middle = {"text_output": "il", "num_output_tokens": 1, "num_input_tokens": 5}
    assert VLLM.parse({**middle, "finish_reason": "None"}) == ParsedEvent(
        text="il", tokens=1, input_tokens=5
    )
    last = VLLM.parse({**middle, "finish_reason": "length"})
    assert last.final
    assert not VLLM.parse({"text_output": "x"}).final
    assert VLLM.parse({"text_output": ["a", "b"], "num_output_tokens": [2, 3]}) == (
        ParsedEvent(text="a", tokens=5)
    )


def test_parse_error_event() -> None:
    event = VLLM.parse({"error": "Error generating stream: boom"})
    assert event.error == "Error generating stream: boom"
    assert event.final
