"""A TensorRT-LLM ensemble or BLS on Triton: its payload and tensors, the `min_tokens` input's
name learnt from the model, and its responses."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import numpy as np
import pytest

from crossfade.bench.dialects.base import PORTABLE_SAMPLING, ParsedEvent, Tensor
from crossfade.bench.dialects.triton_trtllm import TritonTrtllm, trtllm_sampling_inputs
from tests.support.generation import CAPPED, COUNTS, STREAMED, WHOLE

ENSEMBLE = TritonTrtllm("ensemble")
OLD = TritonTrtllm("ensemble", min_tokens_input="min_length")


def test_payload() -> None:
    assert ENSEMBLE.payload(STREAMED) == {
        "text_input": "Hello there",
        "max_tokens": 32,
        "min_tokens": 32,
        "end_id": -1,
        "stream": True,
        "exclude_input_in_output": True,
        **COUNTS,
    }
    assert ENSEMBLE.path(stream=True) == "/v2/models/ensemble/generate_stream"
    assert ENSEMBLE.clean_end_is_final  # no response is marked as the last


def test_payload_for_old_repositories_and_extras() -> None:
    payload = OLD.payload(replace(WHOLE, sampling={"top_k": 1, "max_tokens": 9}))
    assert payload["min_length"] == 5
    assert "min_tokens" not in payload
    assert (payload["top_k"], payload["max_tokens"], payload["stream"]) == (1, 5, False)


def test_a_length_cap_instead_of_an_exact_length() -> None:
    trtllm = ENSEMBLE.payload(replace(CAPPED, sampling={"top_k": 2}))
    assert (trtllm["max_tokens"], trtllm["top_k"]) == (32, 2)
    assert "end_id" not in trtllm
    assert "min_tokens" not in trtllm


def test_trtllm_names_for_the_portable_sampling_fields() -> None:
    sampling = {"temperature": 0.7, "seed": 5, "min_tokens": 3, "stop": "\n", "ignore_eos": True}
    assert set(sampling) <= PORTABLE_SAMPLING
    assert trtllm_sampling_inputs(sampling, min_tokens_input="min_length") == {
        "temperature": 0.7,
        "seed": 5,
        "min_length": 3,
        "stop_words": ["\n"],
        "end_id": -1,
    }
    assert trtllm_sampling_inputs({"ignore_eos": False}) == {}
    assert OLD.payload(replace(CAPPED, sampling=sampling))["min_length"] == 3


def _by_name(tensors: list[Tensor]) -> dict[str, Tensor]:
    return {t.name: t for t in tensors}


def test_tensors_are_batched() -> None:
    tensors = _by_name(ENSEMBLE.grpc_inputs(WHOLE))
    assert all(t.value.shape == (1, 1) for t in tensors.values())
    for name, value in (("max_tokens", 5), ("min_tokens", 5), ("end_id", -1)):
        assert tensors[name].datatype == "INT32"
        assert tensors[name].value.dtype == np.int32
        assert int(tensors[name].value[0, 0]) == value
    assert bool(tensors["stream"].value[0, 0]) is False
    assert bool(tensors["exclude_input_in_output"].value[0, 0]) is True
    old = _by_name(OLD.grpc_inputs(WHOLE, batched=False))
    assert "min_tokens" not in old
    assert old["min_length"].value.shape == (1,)


def test_tensors_for_a_cap_and_no_sampling_over_grpc() -> None:
    capped = _by_name(ENSEMBLE.grpc_inputs(CAPPED))
    assert "end_id" not in capped
    assert "min_tokens" not in capped
    with pytest.raises(ValueError, match="sampling fields"):
        ENSEMBLE.grpc_inputs(replace(WHOLE, sampling={"top_k": 1}))


def test_the_min_tokens_name_is_learnt_from_the_model() -> None:
    async def opened(names: frozenset[str] | None) -> TritonTrtllm:
        async def read() -> frozenset[str] | None:
            return names

        return await ENSEMBLE.opened(read)

    old = asyncio.run(opened(frozenset({"text_input", "min_length", "max_tokens"})))
    assert old.min_tokens_input == "min_length"
    assert old.payload(WHOLE)["min_length"] == 5
    both = frozenset({"min_tokens", "min_length"})
    assert asyncio.run(opened(both)).min_tokens_input == "min_tokens"
    assert asyncio.run(opened(None)) == ENSEMBLE  # unread: the default stays
    assert ENSEMBLE.min_tokens_input == "min_tokens"  # a value: opening made a new one


def test_parse_events_never_mark_the_end() -> None:
    event = ENSEMBLE.parse({"model_name": "ensemble", "num_output_tokens": 2, "text_output": ""})
    assert event == ParsedEvent(text="", tokens=2)
    held_back_text = ENSEMBLE.parse({"text_output": "é"})
    assert held_back_text == ParsedEvent(text="é")


def test_parse_error_event() -> None:
    event = ENSEMBLE.parse({"error": "Error generating stream: boom"})
    assert event.error == "Error generating stream: boom"
    assert event.final
