"""What the runner and every protocol client agree on; the runner knows nothing else of clients.

The hot path only records raw ``time.perf_counter_ns()`` values (CLOCK_MONOTONIC on Linux, so
records from several worker processes on one host share a clock). Every metric is computed
afterwards from these records (see `metrics`), and errors are stored as data, never raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from crossfade.bench.dialects.base import NO_SAMPLING, GenerationRequest, ServerTimes


@dataclass(frozen=True, slots=True)
class BenchRequest:
    """One request of a workload, in no backend's dialect."""

    index: int
    prompt: str
    prompt_tokens: int  # counted with the workload's tokenizer
    output_tokens: int  # the exact output length to enforce and verify (a cap where it cannot)
    stream: bool = True

    def generation(self, sampling: Mapping[str, Any] = NO_SAMPLING) -> GenerationRequest:
        """What a dialect takes: this request at its exact length, with `sampling` (by vLLM's
        names) if a client adds any."""
        return GenerationRequest(
            self.prompt, self.output_tokens, stream=self.stream, sampling=sampling
        )


class ErrorKind(StrEnum):
    CONNECT = "connect"  # no connection, or it broke before any response byte
    HTTP_STATUS = "http_status"  # the server answered with a non-2xx status
    STREAM_ERROR = "stream_error"  # an error sent in-band, inside a 200 response or stream
    TIMEOUT = "timeout"  # the request's deadline passed
    TRUNCATED = "truncated"  # the stream ended without its final marker
    SHORT_OUTPUT = "short_output"  # the server counted fewer output tokens than requested
    LONG_OUTPUT = "long_output"  # the server counted more output tokens than requested
    CANCELLED = "cancelled"  # the run stopped while this request was in flight
    OTHER = "other"


@dataclass(slots=True)
class RequestRecord:
    """Everything observed about one request, in integer nanoseconds of perf_counter_ns.

    `scheduled_ns` is when the request was meant to go (open loop: its slot in the arrival
    schedule; closed loop: when a concurrency slot freed), `sent_ns` when the client started
    sending it. Each streamed chunk that carried output has its arrival time and the number of
    tokens in it (the server's count where the protocol gives one; where it gives none,
    `bench.lengths` counts each chunk's text with the workload's tokenizer after the run).
    """

    index: int
    prompt_tokens: int
    requested_output_tokens: int
    scheduled_ns: int
    worker: int = 0
    sent_ns: int = 0
    first_byte_ns: int = 0
    chunk_ns: list[int] = field(default_factory=list)
    chunk_tokens: list[int] = field(default_factory=list)
    end_ns: int = 0
    server_input_tokens: int | None = None
    server_output_tokens: int | None = None
    output_chars: int = 0
    http_status: int | None = None
    error_kind: ErrorKind | None = None
    error: str | None = None
    server_times: ServerTimes | None = None  # the server's own clock, when its API reports it
    # Counted by crossfade with the workload's tokenizer, when the server gave no count.
    counted_output_tokens: int | None = None
    # Each chunk's text while it is yet to be counted (no server count); emptied once counted,
    # so a saved record has none.
    chunk_text: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error_kind is None

    @property
    def output_tokens(self) -> int:
        """Output tokens: the server's total when it gave one, else crossfade's count of the
        text, else the sum over chunks."""
        if self.server_output_tokens is not None:
            return self.server_output_tokens
        if self.counted_output_tokens is not None:
            return self.counted_output_tokens
        return sum(self.chunk_tokens)

    @property
    def known_output_tokens(self) -> int | None:
        """The output length as the server or crossfade counted it; None: nobody did."""
        if self.server_output_tokens is not None:
            return self.server_output_tokens
        return self.counted_output_tokens

    def fail(self, kind: ErrorKind, message: str, now_ns: int) -> None:
        if self.error_kind is None:  # the first failure is the cause; later ones follow from it
            self.error_kind, self.error = kind, message[:500]
        if not self.end_ns:
            self.end_ns = now_ns

    def verify_length(self) -> None:
        """Flag a response whose server-counted length differs from the requested one."""
        if self.error_kind is not None or self.server_output_tokens is None:
            return
        got, want = self.server_output_tokens, self.requested_output_tokens
        if got != want:
            kind = ErrorKind.SHORT_OUTPUT if got < want else ErrorKind.LONG_OUTPUT
            self.error_kind, self.error = kind, f"server counted {got} output tokens, asked {want}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["error_kind"] = self.error_kind.value if self.error_kind else None
        if not self.chunk_text:  # what a saved record holds: only worker batches carry text
            del data["chunk_text"]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RequestRecord:
        values = dict(data)
        kind = values.get("error_kind")
        values["error_kind"] = ErrorKind(kind) if kind else None
        times = values.get("server_times")
        values["server_times"] = ServerTimes(**times) if times else None
        return cls(**values)


class Client(Protocol):
    """A protocol client: sends one `BenchRequest` and fills its `RequestRecord`.

    `send` never raises for anything the server or the network does: it records it. It must
    set `sent_ns`, `first_byte_ns`, a `chunk_ns`/`chunk_tokens` entry per chunk with output,
    `end_ns`, the server's token counts when the protocol has them, and call
    `record.verify_length()` at the end.
    """

    async def start(self) -> None: ...

    async def send(self, request: BenchRequest, record: RequestRecord) -> None: ...

    async def server_info(self) -> dict[str, Any]: ...

    async def close(self) -> None: ...
