"""Triton's vLLM backend (`vllm_model`): the generate extension over HTTP, tensors over gRPC.

Exact output length N: `max_tokens = min_tokens = N` and `ignore_eos`, in the sampling
parameters. Its last response has a finish reason ("None" before it), which is the end marker.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crossfade.bench.dialects.base import GenerationRequest, ParsedEvent, Tensor, length_sampling
from crossfade.bench.dialects.triton import (
    TRITON_COUNTS,
    TritonDialect,
    first_text,
    tensor,
    triton_event,
)


@dataclass(frozen=True)
class TritonVllm(TritonDialect):
    # Sampling goes in the request `parameters` (scalars only, Triton rejects arrays there)
    # unless this or a non-scalar value asks for the `sampling_parameters` JSON string.
    sampling_as_tensor: bool = False

    name = "vllm"
    engine = "vllm"
    batched = False  # the vLLM backend forces max_batch_size 0
    grpc_outputs = TritonDialect.grpc_outputs | {"finish_reason"}

    def payload(self, request: GenerationRequest) -> dict[str, Any]:
        """Booleans stay JSON booleans: the backend reads the string "false" as True."""
        params = _sampling(request)
        payload: dict[str, Any] = {
            "text_input": request.prompt,
            "stream": request.stream,
            "exclude_input_in_output": True,  # vLLM echoes the prompt otherwise (non-streaming)
            "return_finish_reason": True,  # the last response is the one with a finish reason
            **TRITON_COUNTS,
        }
        if self.sampling_as_tensor or any(isinstance(v, list | dict) for v in params.values()):
            payload["sampling_parameters"] = json.dumps(params)
        else:
            payload["parameters"] = params
        return payload

    def grpc_inputs(
        self, request: GenerationRequest, *, batched: bool | None = None
    ) -> list[Tensor]:
        at = self._batched(batched)
        flags = ("exclude_input_in_output", "return_finish_reason", *TRITON_COUNTS)
        return [
            tensor("text_input", "BYTES", request.prompt.encode(), at),
            tensor("stream", "BOOL", request.stream, at),
            tensor("sampling_parameters", "BYTES", json.dumps(_sampling(request)).encode(), at),
            *(tensor(flag, "BOOL", True, at) for flag in flags),
        ]

    def parse(self, event: Mapping[str, Any]) -> ParsedEvent:
        """The last response has a finish reason ("None" before that)."""
        reason = first_text(event.get("finish_reason"))
        return triton_event(event, final=reason not in ("", "None"))


def _sampling(request: GenerationRequest) -> dict[str, Any]:
    return {**request.sampling, **length_sampling(request)}  # the length wins
