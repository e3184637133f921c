"""The gRPC client's raw tensor encoding (as tritonclient's) and its decoding of raw outputs into
the shape the HTTP generate extension gives, so one dialect parser serves both transports."""

from __future__ import annotations

import numpy as np
from tritonclient.utils import serialize_byte_tensor

from crossfade.bench.clients.triton_grpc import raw_outputs_as_json, raw_tensor
from crossfade.bench.dialects.base import ParsedEvent
from crossfade.bench.dialects.triton_trtllm import TritonTrtllm
from crossfade.bench.dialects.triton_vllm import TritonVllm
from tests.support.generation import STREAMED


def test_raw_tensor_encoding_matches_tritonclient() -> None:
    tensors = {t.name: t for t in TritonTrtllm("ensemble").grpc_inputs(STREAMED)}
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
    assert TritonVllm("m").parse(event) == ParsedEvent(text="café", tokens=3, final=True)
