"""What every dialect shares: the neutral request in (`GenerationRequest`), the neutral event out
(`ParsedEvent`), and the `Dialect` interface each backend API implements once."""

from __future__ import annotations

import json
import struct
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

if TYPE_CHECKING:
    import numpy as np

Engine = Literal["vllm", "tensorrtllm"]

# What `Dialect.parse` may raise on a response it does not expect (a JSON list, a bad count, JSON
# nested deeper than the decoder goes...): the clients record it as an unreadable response.
UNREADABLE = (
    ValueError,
    TypeError,
    AttributeError,
    KeyError,
    IndexError,
    struct.error,
    RecursionError,
)

# Sampling fields with a meaning on every backend, by vLLM's (and OpenAI's) names.
PORTABLE_SAMPLING = frozenset(
    {"temperature", "top_p", "top_k", "seed", "presence_penalty", "frequency_penalty"}
    | {"repetition_penalty", "min_tokens", "ignore_eos", "stop"}
)
NO_SAMPLING: Mapping[str, Any] = MappingProxyType({})


class UnsupportedSampling(ValueError):
    """A sampling field the backend's API has no input for (the message names the field): the
    request is refused rather than answered without what it asked."""


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """One generation, in no backend's dialect: what the bench (from a workload's request) and
    the router (from a client's) both build."""

    prompt: str  # chat requests: their transcript, for backends that take text
    max_tokens: int
    exact_length: bool = True  # True: exactly max_tokens new tokens; False: at most
    stream: bool = True
    # PORTABLE_SAMPLING fields, by vLLM's names (shared and read-only when there are none)
    sampling: Mapping[str, Any] = field(default_factory=lambda: NO_SAMPLING)
    messages: tuple[Mapping[str, str], ...] | None = None  # a chat, whole, for chat endpoints


@dataclass(frozen=True, slots=True)
class ServerTimes:
    """One request's milestones as the server's own clock read them, in nanoseconds (TensorRT-LLM's
    LLM API perf metrics). That clock is not the client's: only differences between these four
    mean anything, never a difference with a client timestamp."""

    arrival_ns: int  # the request reached the engine
    first_scheduled_ns: int  # it was first scheduled (queue time: this - arrival)
    first_token_ns: int  # its first output token (server-side TTFT: this - arrival)
    last_token_ns: int


@dataclass(slots=True)  # not frozen: a frozen init costs ~1 us more, once per streamed chunk
class ParsedEvent:
    """One server response (an SSE event, a gRPC response or a whole JSON body), neutralised."""

    text: str = ""
    # `text` is the whole output so far, not the new part (ResponseTally takes the new part)
    text_so_far: bool = False
    tokens: int | None = None  # output tokens new in this event, as the server counted them
    cumulative_tokens: int | None = None  # output tokens so far (OpenAI usage), server-counted
    final: bool = False  # the response itself says it is the request's last
    error: str | None = None
    input_tokens: int | None = None
    summary: bool = False  # an OpenAI usage-only trailer: totals, but no output of its own
    server_times: ServerTimes | None = None  # the server's own timestamps, when it sends them


EventParser = Callable[[Mapping[str, Any]], ParsedEvent]
# Reads the input names of the model behind a target (None: they could not be read).
InputReader = Callable[[], Awaitable[frozenset[str] | None]]


@dataclass(frozen=True, slots=True)
class Tensor:
    """One input tensor for Triton's gRPC API, in Triton's datatype names."""

    name: str
    datatype: str  # BYTES, BOOL, INT32, UINT64 or FP32
    value: np.ndarray[Any, Any]


@dataclass(frozen=True)
class Dialect(ABC):
    """How one backend API is spoken: its paths, its payload for a `GenerationRequest`, how its
    responses parse and how its stream ends. One object per target (it knows the model and the
    API's prefix); immutable: what the model itself tells (`opened`) gives a new one."""

    model: str
    base_path: str = ""  # OpenAI-compatible servers: the API prefix, e.g. "/v1"

    name: ClassVar[str]  # as target URLs and saved results name it
    engine: ClassVar[Engine | None]  # the engine behind the API, when the API says which
    # Whether its payload can force an exact output length (`GenerationRequest.exact_length`).
    forces_length: ClassVar[bool] = True
    # Whether its responses count output tokens; False: the bench counts the text it received
    # with the workload's tokenizer, after the run (`bench.lengths`).
    counts_tokens: ClassVar[bool] = True
    # The gRPC outputs its parser reads (only these are decoded, once per response).
    grpc_outputs: ClassVar[frozenset[str]] = frozenset()
    # No response marks the last one: the clean end of an HTTP stream is the end marker.
    clean_end_is_final: ClassVar[bool] = False

    @abstractmethod
    def path(self, stream: bool) -> str:
        """The HTTP path a generation is POSTed to."""

    @abstractmethod
    def ready_path(self) -> str:
        """The HTTP path that answers 200 when the target can take requests."""

    @abstractmethod
    def payload(self, request: GenerationRequest) -> dict[str, Any]:
        """The JSON body for `request` (the HTTP APIs)."""

    @abstractmethod
    def parse(self, event: Mapping[str, Any]) -> ParsedEvent:
        """One response, neutralised; raises only `UNREADABLE` errors. Runs once per event."""

    def grpc_inputs(
        self, request: GenerationRequest, *, batched: bool | None = None
    ) -> list[Tensor]:
        """Triton gRPC input tensors for `request`; `batched`: the model takes a leading batch
        dimension (max_batch_size > 0), None: as this backend usually has it."""
        raise TypeError(f"the {self.name} dialect has no gRPC form")

    async def opened(self, read_inputs: InputReader) -> Self:
        """This dialect fitted to the model behind the target, by whoever opens the target
        (a bench client, the router). By default there is nothing to learn."""
        return self


def length_sampling(request: GenerationRequest) -> dict[str, Any]:
    """The length by vLLM's (and OpenAI's) names: exactly `max_tokens`, or at most."""
    n = request.max_tokens
    if request.exact_length:
        return {"max_tokens": n, "min_tokens": n, "ignore_eos": True}
    return {"max_tokens": n}


def chat_prompt(messages: Sequence[Mapping[str, str]]) -> str:
    """Chat messages as one prompt for a backend that takes text: one `role: content` line per
    message, then `assistant:`. A model's own chat template is the server's business; Triton's
    text inputs have none, so this plain transcript is what they get."""
    lines = [f"{m['role']}: {m['content']}" for m in messages]
    return "\n".join([*lines, "assistant:"])


def whole(value: Any) -> int:
    """`int(value)`, with an infinite count (JSON allows `Infinity`) a ValueError like the
    other unreadable values, not an OverflowError."""
    try:
        return int(value)
    except OverflowError:
        raise ValueError(f"a token count of {value!r}") from None


def error_message(event: Mapping[str, Any]) -> str | None:
    """The error an event carries: Triton's `{"error": "..."}`, OpenAI's
    `{"error": {"message": ...}}`, or older vLLM's `{"object": "error", ...}`; None: none."""
    error = event.get("error")
    if error is None and event.get("object") != "error":  # the common case, checked cheaply
        return None
    if isinstance(error, Mapping):
        return str(error.get("message") or error)
    if error is not None:
        return str(error)
    return str(event.get("message") or event)  # older vLLM: "object": "error"


def error_body_text(body: bytes) -> str:
    """The server's message in a non-2xx body: Triton's `{"error": "..."}` (also sent as one SSE
    event by generate_stream), OpenAI's `{"error": {"message": ...}}`, or the raw text."""
    text = body.decode("utf-8", "replace").strip()
    candidates = [text] + [
        line[5:].strip() for line in text.splitlines() if line.startswith("data:")
    ]
    for candidate in candidates:
        try:
            parsed = json.loads(candidate)
        except (ValueError, RecursionError):  # RecursionError: nested past json's depth
            continue
        if isinstance(parsed, Mapping) and (message := error_message(parsed)) is not None:
            return message
    return text or "(empty body)"
