"""The ground-truth server's second wire: TensorRT-LLM's LLM API model on Triton's HTTP generate
extension, in the shape upstream's `tensorrt_llm` model answers it (see `groundtruth` for the
schedule, the log and the server itself).

POST /v2/models/tensorrt_llm/generate_stream with `{"text_input": ..., "streaming": true,
"sampling_param_max_tokens": N, "sampling_param_return_perf_metrics": true}` streams one SSE
event per token whose `text_output` is the whole text so far (" tok" per token), no token
counts, and the body ends after the last one (no [DONE]: the model's final flag ends Triton's
stream). `/generate`, or `"streaming": false`, answers once when the last token is due. An
input the model does not declare is refused with Triton's 400, as Triton does.

With `sampling_param_return_perf_metrics` each response carries the four perf timestamps as
numeric strings (upstream builds them with text_output's dtype), read from the server's clock:
`perf_counter_ns()` of this process plus `--server-clock-offset-ns`, so a test knows their
truth. `arrival_time_ns` is when the request was read (the log's `received_ns`),
`first_scheduled_time_ns` that plus `--queue-ms` (a modelled queue, at most the TTFT),
`first_token_time_ns` when the first token was written and `last_token_time_ns` when the
response's own last token was; the log entry of the request keeps the four as sent
(`server_times`, in the server's clock).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MODEL = "tensorrt_llm"
MODEL_PATH = f"/v2/models/{MODEL}".encode()
# A clock that is not the client's: far from perf_counter_ns() of any process on this host.
DEFAULT_SERVER_CLOCK_OFFSET_NS = 10**15
TOKEN_TEXT = " tok"
PERF = "sampling_param_return_perf_metrics"
# Upstream's inputs (config.pbtxt of the LLM API model), by Triton datatype
INPUTS = {
    "text_input": "BYTES",
    "streaming": "BOOL",
    **{
        f"sampling_param_{name}": datatype
        for name, datatype in (
            ("best_of", "INT32"),
            ("temperature", "FP32"),
            ("top_k", "INT32"),
            ("top_p", "FP32"),
            ("frequency_penalty", "FP32"),
            ("presence_penalty", "FP32"),
            ("max_tokens", "INT32"),
            ("stop", "BYTES"),
            ("seed", "UINT64"),
            ("exclude_input_from_output", "BOOL"),
            ("return_perf_metrics", "BOOL"),
        )
    },
    "return_finish_reason": "BOOL",
    "return_stop_reason": "BOOL",
    "return_cumulative_logprob": "BOOL",
    "stop": "BOOL",
}
PERF_TIMESTAMPS = (
    "arrival_time_ns",
    "first_scheduled_time_ns",
    "first_token_time_ns",
    "last_token_time_ns",
)


def _tensors(table: dict[str, str]) -> list[dict[str, Any]]:
    return [{"name": name, "datatype": kind, "shape": [-1]} for name, kind in table.items()]


METADATA = {
    "name": MODEL,
    "versions": ["1"],
    "platform": "python",
    "inputs": _tensors(INPUTS),
    "outputs": _tensors({"text_output": "BYTES", **dict.fromkeys(PERF_TIMESTAMPS, "INT64")}),
}
CONFIG = {
    "name": MODEL,
    "backend": "python",
    "max_batch_size": 0,
    "model_transaction_policy": {"decoupled": True},
    "parameters": {},
}
SERVER = {"name": "crossfade-groundtruth", "version": "0", "extensions": ["generate"]}


@dataclass(frozen=True, slots=True)
class LlmApiRequest:
    prompt: str
    tokens: int
    streaming: bool
    perf: bool  # sampling_param_return_perf_metrics


def read_request(body: bytes) -> LlmApiRequest:
    """The generate request in `body`; ValueError with Triton's kind of message otherwise."""
    fields = json.loads(body)
    if not isinstance(fields, dict):
        raise ValueError("the request body must be a JSON object")
    unknown = sorted(set(fields) - set(INPUTS) - {"id", "parameters"})
    if unknown:
        raise ValueError(f"unexpected inference input '{unknown[0]}' for model '{MODEL}'")
    if not isinstance(fields.get("text_input"), str):
        raise ValueError(f"expected 1 text_input for model '{MODEL}'")
    tokens = fields.get("sampling_param_max_tokens", 16)
    if not isinstance(tokens, int) or tokens < 1:
        raise ValueError("sampling_param_max_tokens must be at least 1")
    streaming, perf = fields.get("streaming", False), fields.get(PERF, False)
    return LlmApiRequest(fields["text_input"], tokens, streaming is True, perf is True)


class LlmApiAnswer:
    """One request's responses (JSON, unframed): each built when it is written, stamped with
    the server's clock."""

    __slots__ = ("arrival", "first_token", "offset", "perf", "scheduled", "stamps")

    def __init__(
        self, request: LlmApiRequest, received_ns: int, queue_ns: int, offset_ns: int
    ) -> None:
        self.perf, self.offset = request.perf, offset_ns
        self.arrival = received_ns + offset_ns
        self.scheduled = self.arrival + queue_ns
        self.first_token: int | None = None
        self.stamps: list[int] = []  # the four as last sent

    def response(self, position: int, now_ns: int) -> bytes:
        """The response carrying the text up to token `position` (0-based), written at
        `now_ns` (perf_counter_ns)."""
        return self._response(position, now_ns + self.offset)

    def whole(self, tokens: int, first_due_ns: int, now_ns: int) -> bytes:
        """The one response of a request that is not streamed: its first token is stamped when
        it was due, its last when the answer is written."""
        self.first_token = first_due_ns + self.offset
        return self._response(tokens - 1, now_ns + self.offset)

    def _response(self, position: int, last: int) -> bytes:
        if self.first_token is None:
            self.first_token = last
        fields: dict[str, Any] = {
            "model_name": MODEL,
            "model_version": "1",
            "text_output": TOKEN_TEXT * (position + 1),
        }
        if self.perf:
            self.stamps = [self.arrival, self.scheduled, self.first_token, last]
            fields |= {key: str(ns) for key, ns in zip(PERF_TIMESTAMPS, self.stamps, strict=True)}
        return json.dumps(fields).encode()

    def log_fields(self) -> dict[str, Any]:
        """What the request's log entry adds: the timestamps as last sent (server clock)."""
        return {"server_times": self.stamps} if self.stamps else {}
