"""A TensorRT-LLM `ensemble` or `tensorrt_llm_bls` on Triton (the legacy engine layout).

Exact output length N: `max_tokens = min_tokens = N` plus `end_id = -1`. TRT-LLM has no
`ignore_eos`; an end id no token can match is the convention trtllm-bench uses (`--eos_id -1`),
not a documented backend switch. Old repositories name `min_tokens` `min_length`: the model's
input names decide (`opened`). No output marks the last response: the transport does (the HTTP
stream's clean end, or gRPC's `triton_final_response` parameter).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Self

from crossfade.bench.dialects.base import GenerationRequest, InputReader, ParsedEvent, Tensor
from crossfade.bench.dialects.triton import TRITON_COUNTS, TritonDialect, tensor, triton_event


@dataclass(frozen=True)
class TritonTrtllm(TritonDialect):
    min_tokens_input: str = "min_tokens"  # `min_length` in repositories before the rename

    name = "trtllm"
    engine = "tensorrtllm"
    clean_end_is_final = True
    batched = True  # ensembles batch

    def payload(self, request: GenerationRequest) -> dict[str, Any]:
        n = request.max_tokens
        # end_id -1: no token is -1, so the engine never stops early (trtllm-bench's way)
        length = {self.min_tokens_input: n, "end_id": -1} if request.exact_length else {}
        return {
            **trtllm_sampling_inputs(request.sampling, min_tokens_input=self.min_tokens_input),
            "text_input": request.prompt,
            "max_tokens": n,
            **length,
            "stream": request.stream,
            "exclude_input_in_output": True,
            **TRITON_COUNTS,
        }

    def grpc_inputs(
        self, request: GenerationRequest, *, batched: bool | None = None
    ) -> list[Tensor]:
        if request.sampling:  # the router, the one source of sampling, speaks HTTP
            raise ValueError("sampling fields are not sent as tensors to a TensorRT-LLM model")
        at, n = self._batched(batched), request.max_tokens
        length = [
            tensor(self.min_tokens_input, "INT32", n, at),
            tensor("end_id", "INT32", -1, at),
        ]
        flags = ("exclude_input_in_output", *TRITON_COUNTS)
        return [
            tensor("text_input", "BYTES", request.prompt.encode(), at),
            tensor("max_tokens", "INT32", n, at),
            *(length if request.exact_length else []),
            tensor("stream", "BOOL", request.stream, at),
            *(tensor(flag, "BOOL", True, at) for flag in flags),
        ]

    def parse(self, event: Mapping[str, Any]) -> ParsedEvent:
        """`final` stays False: the transport marks the end (see the module doc)."""
        return triton_event(event, final=False)

    async def opened(self, read_inputs: InputReader) -> Self:
        """Learn what the model calls `min_tokens`; best effort: unread, the default stays."""
        names = await read_inputs()
        if names is None:
            return self
        return replace(self, min_tokens_input=min_tokens_input_name(names))


def min_tokens_input_name(input_names: frozenset[str]) -> str:
    """`min_tokens`, or `min_length` for repositories from before the rename (TB <= 2025-03)."""
    if "min_tokens" not in input_names and "min_length" in input_names:
        return "min_length"
    return "min_tokens"


def trtllm_sampling_inputs(
    sampling: Mapping[str, Any], *, min_tokens_input: str = "min_tokens"
) -> dict[str, Any]:
    """`PORTABLE_SAMPLING` fields as a TensorRT-LLM ensemble's inputs: the same names except
    `min_tokens` (old repositories: `min_length`) and `stop` (`stop_words`, a list); `ignore_eos`
    becomes the unmatchable `end_id` the exact length uses."""
    inputs: dict[str, Any] = {}
    for name, value in sampling.items():
        if name == "ignore_eos":
            if value:
                inputs["end_id"] = -1
        elif name == "min_tokens":
            inputs[min_tokens_input] = value
        elif name == "stop":
            inputs["stop_words"] = [value] if isinstance(value, str) else list(value)
        else:
            inputs[name] = value
    return inputs
