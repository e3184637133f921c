"""TensorRT-LLM's LLM API model on Triton (`tensorrt_llm`, a python-backend model wrapping
`tensorrt_llm.LLM`): the generate extension over HTTP, tensors over gRPC.

Its inputs are `text_input`, `streaming` and `sampling_param_*`; it reads no `min_tokens` and no
`ignore_eos`, so an exact output length cannot be forced (`forces_length = False`): every
request asks for at most `max_tokens`, and the bench counts what came back with the workload's
tokenizer (it returns no token counts either). Of `PORTABLE_SAMPLING`, the fields it has an
input for travel as `sampling_param_<name>` when the model declares that input; `min_tokens`,
`ignore_eos` and `repetition_penalty` have none, and a request asking for them (other than
their no-op defaults) is refused with `UnsupportedSampling` rather than answered without them.

Each response's `text_output` is the text generated so far (the LLM API's
`CompletionOutput.text` only grows): the parse marks it `text_so_far`, and `ResponseTally`
takes the part past what it already has. With `sampling_param_return_perf_metrics` each
response carries the server's `arrival_time_ns`, `first_scheduled_time_ns`,
`first_token_time_ns` and `last_token_time_ns`; upstream sends them in text_output's string
dtype although its config.pbtxt declares INT64, so a number, a numeric string or a one-element
list of either is read. No output marks the last response: the transport does (the clean end
of the HTTP stream, gRPC's `triton_final_response`). A failure is Triton's `error` (upstream
answers "N/A" as the text with "Error generating request: ...").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Self

import numpy as np

from crossfade.bench.dialects.base import (
    GenerationRequest,
    InputReader,
    ParsedEvent,
    ServerTimes,
    Tensor,
    UnsupportedSampling,
)
from crossfade.bench.dialects.triton import TritonDialect, first_text, tensor

PERF_METRICS = "sampling_param_return_perf_metrics"
PERF_TIMESTAMPS = (
    "arrival_time_ns",
    "first_scheduled_time_ns",
    "first_token_time_ns",
    "last_token_time_ns",
)
# PORTABLE_SAMPLING fields the model has an input for (sampling_param_<name>), by datatype
SAMPLING_INPUTS = {
    "temperature": "FP32",
    "top_p": "FP32",
    "top_k": "INT32",
    "seed": "UINT64",
    "presence_penalty": "FP32",
    "frequency_penalty": "FP32",
    "stop": "BYTES",
}
# PORTABLE_SAMPLING fields it has no input for, and the values that ask nothing of it
NO_INPUT_DEFAULTS: dict[str, tuple[Any, ...]] = {
    "min_tokens": (0, 1),
    "ignore_eos": (False,),
    "repetition_penalty": (1,),
}


def asks_nothing(name: str, value: Any) -> bool:
    """Whether `value` of a field without an input is its default (`NO_INPUT_DEFAULTS`)."""
    if isinstance(value, bool) != (name == "ignore_eos"):  # True == 1 and False == 0
        return False
    return value in NO_INPUT_DEFAULTS[name]


@dataclass(frozen=True)
class TritonLlmApi(TritonDialect):
    # The model's input names, once read (`opened`); None: upstream's, as shipped.
    inputs: frozenset[str] | None = None

    name = "llmapi"
    engine = "tensorrtllm"
    forces_length = False
    counts_tokens = False
    clean_end_is_final = True
    batched = False  # model.yaml's triton_config: max_batch_size 0
    grpc_outputs = frozenset({"text_output", *PERF_TIMESTAMPS})

    def payload(self, request: GenerationRequest) -> dict[str, Any]:
        """`exact_length` cannot be honoured: `max_tokens` is a cap here (see the module doc)."""
        payload: dict[str, Any] = {
            "text_input": request.prompt,
            "streaming": request.stream,
            "sampling_param_max_tokens": request.max_tokens,
            **{f"sampling_param_{k}": v for k, v in self._sampling(request).items()},
        }
        if self._declares(PERF_METRICS):
            payload[PERF_METRICS] = True
        return payload

    def grpc_inputs(
        self, request: GenerationRequest, *, batched: bool | None = None
    ) -> list[Tensor]:
        at = self._batched(batched)
        tensors = [
            tensor("text_input", "BYTES", request.prompt.encode(), at),
            tensor("streaming", "BOOL", request.stream, at),
            tensor("sampling_param_max_tokens", "INT32", request.max_tokens, at),
        ]
        for name, value in self._sampling(request).items():
            tensors.append(_sampling_tensor(name, value, at))
        if self._declares(PERF_METRICS):
            tensors.append(tensor(PERF_METRICS, "BOOL", True, at))
        return tensors

    def parse(self, event: Mapping[str, Any]) -> ParsedEvent:
        """`text` is the text so far; `final` stays False (see the module doc)."""
        if "error" in event:
            return ParsedEvent(error=str(event["error"]), final=True)
        return ParsedEvent(
            text=first_text(event.get("text_output")),
            text_so_far=True,
            server_times=server_times(event),
        )

    async def opened(self, read_inputs: InputReader) -> Self:
        """Learn which `sampling_param_*` inputs the model declares; unread, upstream's."""
        names = await read_inputs()
        return self if names is None else replace(self, inputs=names)

    def _declares(self, name: str) -> bool:
        return self.inputs is None or name in self.inputs

    def _sampling(self, request: GenerationRequest) -> dict[str, Any]:
        """The request's sampling by the model's names; refuses what it cannot carry."""
        sampling: dict[str, Any] = {}
        for name, value in request.sampling.items():
            if name in NO_INPUT_DEFAULTS:
                if not asks_nothing(name, value):
                    raise UnsupportedSampling(
                        f"{name}={value!r}: the LLM API model has no {name} input "
                        f"(it reads {', '.join(sorted(SAMPLING_INPUTS))} and max_tokens)"
                    )
            elif name in SAMPLING_INPUTS and self._declares(f"sampling_param_{name}"):
                sampling[name] = [value] if name == "stop" and isinstance(value, str) else value
            else:
                raise UnsupportedSampling(
                    f"{name}: model {self.model!r} declares no sampling_param_{name} input"
                )
        return sampling


def _sampling_tensor(name: str, value: Any, batched: bool) -> Tensor:
    datatype = SAMPLING_INPUTS[name]
    if datatype != "BYTES":
        return tensor(f"sampling_param_{name}", datatype, value, batched)
    items = np.array([s.encode() for s in value], dtype=np.object_)  # stop: one per string
    return Tensor(f"sampling_param_{name}", "BYTES", items.reshape((1, -1) if batched else (-1,)))


def server_times(event: Mapping[str, Any]) -> ServerTimes | None:
    """The four perf timestamps, all or none (a response without them gives None)."""
    arrival = event.get("arrival_time_ns")
    if arrival is None:  # the common case without perf metrics, checked cheaply
        return None
    values = [event.get(key) for key in PERF_TIMESTAMPS[1:]]
    if any(value is None for value in values):
        return None
    scheduled, first, last = (nanoseconds(value) for value in values)
    return ServerTimes(nanoseconds(arrival), scheduled, first, last)


def nanoseconds(value: Any) -> int:
    """A timestamp as a JSON number, a numeric string (upstream's BYTES) or a one-element list
    of either; anything else is a ValueError (an unreadable response)."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    raise ValueError(f"a timestamp of {value!r}")
