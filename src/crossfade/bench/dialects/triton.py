"""What Triton's two LLM dialects share: the generate extension's paths, the output flags both
backends understand, the response shape, and input tensors for the gRPC API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

import numpy as np

from crossfade.bench.dialects.base import Dialect, ParsedEvent, Tensor, whole

# Triton output flags both backends understand (vLLM also gives finish_reason, its end marker).
TRITON_COUNTS = {"return_num_input_tokens": True, "return_num_output_tokens": True}
_DTYPES = {
    "BYTES": np.object_,
    "BOOL": np.bool_,
    "INT32": np.int32,
    "UINT64": np.uint64,
    "FP32": np.float32,
}


@dataclass(frozen=True)
class TritonDialect(Dialect):
    """A model on Triton: `/v2/models/M/generate[_stream]` over HTTP, tensors over gRPC."""

    batched: ClassVar[bool]  # as the backend's models usually are: max_batch_size > 0
    grpc_outputs = frozenset({"text_output", "num_input_tokens", "num_output_tokens"})

    def path(self, stream: bool) -> str:
        return f"{self._model_path()}/{'generate_stream' if stream else 'generate'}"

    def ready_path(self) -> str:
        # The model's own readiness, not the server's: with strict readiness a server holding
        # several models is unready when any one is, and its other models are still fine.
        return f"{self._model_path()}/ready"

    def _model_path(self) -> str:
        return f"/v2/models/{quote(self.model, safe='')}"

    def _batched(self, batched: bool | None) -> bool:
        return self.batched if batched is None else batched


def tensor(name: str, datatype: str, value: Any, batched: bool) -> Tensor:
    shape = (1, 1) if batched else (1,)  # batched models take a leading batch dimension
    return Tensor(name, datatype, np.full(shape, value, dtype=_DTYPES[datatype]))


def first_text(value: Any) -> str:
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


def _count(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, list):  # one count per sequence
        return sum(whole(v) for v in value)
    return whole(value)


def triton_event(event: Mapping[str, Any], final: bool) -> ParsedEvent:
    """A generate response (HTTP JSON, or gRPC outputs decoded to the same shape)."""
    if "error" in event:
        return ParsedEvent(error=str(event["error"]), final=True)
    return ParsedEvent(
        text=first_text(event.get("text_output")),
        tokens=_count(event.get("num_output_tokens")),
        final=final,
        input_tokens=_count(event.get("num_input_tokens")),
    )
