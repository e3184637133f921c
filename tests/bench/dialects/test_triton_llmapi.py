"""TensorRT-LLM's LLM API model on Triton: its payload and tensors for a generation request (no
exact length, sampling by the names the model declares, a refusal for what it has no input for),
and its responses: the text so far, the server's four timestamps, errors."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from crossfade.bench.clients.triton_grpc import raw_outputs_as_json, raw_tensor
from crossfade.bench.dialects.base import (
    UNREADABLE,
    ParsedEvent,
    ServerTimes,
    Tensor,
    UnsupportedSampling,
)
from crossfade.bench.dialects.triton_llmapi import PERF_TIMESTAMPS, TritonLlmApi
from tests.support.generation import CAPPED, STREAMED, WHOLE

LLMAPI = TritonLlmApi("tensorrt_llm")
TIMES = ServerTimes(1_000, 1_500, 9_000, 12_000)
STAMPS = dict(zip(PERF_TIMESTAMPS, (1_000, 1_500, 9_000, 12_000), strict=True))


def test_payload_caps_the_length_and_asks_for_the_perf_metrics() -> None:
    assert LLMAPI.payload(STREAMED) == {
        "text_input": "Hello there",
        "streaming": True,
        "sampling_param_max_tokens": 32,
        "sampling_param_return_perf_metrics": True,
    }
    # No exact length can be asked of the model: the exact request and the cap are one payload.
    assert LLMAPI.payload(STREAMED) == LLMAPI.payload(CAPPED)
    assert LLMAPI.payload(WHOLE)["streaming"] is False
    assert (LLMAPI.forces_length, LLMAPI.counts_tokens) == (False, False)


def test_paths_are_the_generate_extension() -> None:
    assert LLMAPI.path(stream=True) == "/v2/models/tensorrt_llm/generate_stream"
    assert LLMAPI.path(stream=False) == "/v2/models/tensorrt_llm/generate"
    assert LLMAPI.ready_path() == "/v2/models/tensorrt_llm/ready"


SAMPLING = {
    "temperature": 0.5,
    "top_p": 0.9,
    "top_k": 4,
    "seed": 7,
    "presence_penalty": 0.1,
    "frequency_penalty": 0.2,
    "stop": "\n",
}


def test_portable_sampling_travels_as_sampling_params() -> None:
    payload = LLMAPI.payload(replace(CAPPED, sampling=SAMPLING))
    assert {k: v for k, v in payload.items() if k.startswith("sampling_param_")} == {
        "sampling_param_max_tokens": 32,
        "sampling_param_return_perf_metrics": True,
        "sampling_param_temperature": 0.5,
        "sampling_param_top_p": 0.9,
        "sampling_param_top_k": 4,
        "sampling_param_seed": 7,
        "sampling_param_presence_penalty": 0.1,
        "sampling_param_frequency_penalty": 0.2,
        "sampling_param_stop": ["\n"],  # the input is a list of strings
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [("min_tokens", 8), ("ignore_eos", True), ("repetition_penalty", 1.2), ("min_tokens", True)],
)
def test_what_the_model_has_no_input_for_is_refused(name: str, value: Any) -> None:
    request = replace(CAPPED, sampling={name: value})
    with pytest.raises(UnsupportedSampling, match=f"{name}={value!r}: the LLM API model has no"):
        LLMAPI.payload(request)
    with pytest.raises(UnsupportedSampling, match=name):
        LLMAPI.grpc_inputs(request)


@pytest.mark.parametrize(
    ("name", "value"),
    [("min_tokens", 0), ("min_tokens", 1), ("ignore_eos", False), ("repetition_penalty", 1.0)],
)
def test_the_no_op_defaults_of_those_fields_ask_nothing(name: str, value: Any) -> None:
    assert LLMAPI.payload(replace(CAPPED, sampling={name: value})) == LLMAPI.payload(CAPPED)


def _opened(names: set[str]) -> TritonLlmApi:
    async def read() -> frozenset[str]:
        return frozenset(names)

    return asyncio.run(LLMAPI.opened(read))


def test_the_model_declares_which_sampling_params_and_perf_metrics_it_takes() -> None:
    older = _opened(
        {"text_input", "streaming", "sampling_param_max_tokens", "sampling_param_top_k"}
    )
    payload = older.payload(replace(CAPPED, sampling={"top_k": 2}))
    assert payload["sampling_param_top_k"] == 2
    assert "sampling_param_return_perf_metrics" not in payload  # not declared: not sent
    assert "sampling_param_return_perf_metrics" not in {t.name for t in older.grpc_inputs(CAPPED)}
    with pytest.raises(UnsupportedSampling, match="declares no sampling_param_temperature"):
        older.payload(replace(CAPPED, sampling={"temperature": 0.1}))


def _by_name(tensors: list[Tensor]) -> dict[str, Tensor]:
    return {t.name: t for t in tensors}


def test_tensors_carry_the_model_datatypes() -> None:
    tensors = _by_name(LLMAPI.grpc_inputs(replace(STREAMED, sampling=SAMPLING)))
    kinds = {name: (t.datatype, t.value.dtype, t.value.shape) for name, t in tensors.items()}
    assert kinds == {
        "text_input": ("BYTES", np.object_, (1,)),  # max_batch_size 0: no batch dimension
        "streaming": ("BOOL", np.bool_, (1,)),
        "sampling_param_max_tokens": ("INT32", np.int32, (1,)),
        "sampling_param_return_perf_metrics": ("BOOL", np.bool_, (1,)),
        "sampling_param_temperature": ("FP32", np.float32, (1,)),
        "sampling_param_top_p": ("FP32", np.float32, (1,)),
        "sampling_param_top_k": ("INT32", np.int32, (1,)),
        "sampling_param_seed": ("UINT64", np.uint64, (1,)),
        "sampling_param_presence_penalty": ("FP32", np.float32, (1,)),
        "sampling_param_frequency_penalty": ("FP32", np.float32, (1,)),
        "sampling_param_stop": ("BYTES", np.object_, (1,)),
    }
    assert raw_tensor(tensors["text_input"]) == b"\x0b\x00\x00\x00Hello there"
    assert raw_tensor(tensors["sampling_param_seed"]) == np.array([7], "<u8").tobytes()
    assert raw_tensor(tensors["sampling_param_temperature"]) == np.array([0.5], "<f4").tobytes()
    two_stops = LLMAPI.grpc_inputs(replace(CAPPED, sampling={"stop": ["a", "bc"]}))
    stop = _by_name(two_stops)["sampling_param_stop"]
    assert raw_tensor(stop) == b"\x01\x00\x00\x00a\x02\x00\x00\x00bc"
    batched = _by_name(
        LLMAPI.grpc_inputs(replace(CAPPED, sampling={"stop": ["a", "b"]}), batched=True)
    )
    assert batched["sampling_param_stop"].value.shape == (1, 2)
    assert batched["text_input"].value.shape == (1, 1)


def test_parse_gives_the_text_so_far_and_the_server_times() -> None:
    assert LLMAPI.parse({"text_output": "Hello wor", **STAMPS}) == ParsedEvent(
        text="Hello wor", text_so_far=True, server_times=TIMES
    )
    assert LLMAPI.parse({"text_output": ["Hi"]}) == ParsedEvent(text="Hi", text_so_far=True)


@pytest.mark.parametrize(
    "stamps",
    [
        {key: str(value) for key, value in STAMPS.items()},  # upstream's BYTES, over HTTP
        {key: [value] for key, value in STAMPS.items()},
        {key: [str(value)] for key, value in STAMPS.items()},
        {key: float(value) for key, value in STAMPS.items()},
    ],
)
def test_timestamps_are_read_as_numbers_strings_or_one_element_lists(
    stamps: dict[str, Any],
) -> None:
    assert LLMAPI.parse({"text_output": "x", **stamps}).server_times == TIMES


def test_timestamps_in_grpc_bytes_decode_to_the_same_times() -> None:
    """Upstream builds the four tensors with text_output's BYTES dtype."""
    names = [("text_output", "BYTES"), *((key, "BYTES") for key in PERF_TIMESTAMPS)]
    contents = [b"\x02\x00\x00\x00ab"] + [
        len(str(v)).to_bytes(4, "little") + str(v).encode() for v in STAMPS.values()
    ]
    event = raw_outputs_as_json(names, contents, LLMAPI.grpc_outputs)
    assert LLMAPI.parse(event) == ParsedEvent(text="ab", text_so_far=True, server_times=TIMES)
    as_int64 = [("arrival_time_ns", "INT64")]  # as config.pbtxt declares them
    assert raw_outputs_as_json(as_int64, [np.array([5], "<i8").tobytes()], LLMAPI.grpc_outputs) == {
        "arrival_time_ns": 5
    }


def test_all_four_timestamps_or_none() -> None:
    partial = {k: v for k, v in STAMPS.items() if k != "last_token_time_ns"}
    assert LLMAPI.parse({"text_output": "x", **partial}).server_times is None


@pytest.mark.parametrize("bad", ["soon", "", "1.5", True, 1.5, float("inf"), [1, 2], None])
def test_an_unreadable_timestamp_is_an_unreadable_response(bad: Any) -> None:
    event = {"text_output": "x", **STAMPS, "first_token_time_ns": bad}
    if bad is None:  # absent: the four are not all there
        assert LLMAPI.parse(event).server_times is None
        return
    with pytest.raises(UNREADABLE):
        LLMAPI.parse(event)


def test_an_error_is_a_final_error_event() -> None:
    """Upstream answers "N/A" as the text, with Triton's error beside it."""
    event = LLMAPI.parse({"text_output": ["N/A"], "error": "Error generating request: boom"})
    assert event == ParsedEvent(error="Error generating request: boom", final=True)
    assert LLMAPI.parse({"text_output": "N/A"}).error is None  # text alone is text
