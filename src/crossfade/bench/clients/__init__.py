"""Protocol clients, and what they share: turning parsed events into a record (`ResponseTally`),
the rules of recording below, and the aiohttp session for requests off the measured path. The
measured HTTP exchange itself is in `exchange` (over `http1`), gRPC's in `triton_grpc`.

Recording rules, common to every client:
- `sent_ns` just before the request goes out (the body is encoded before), `first_byte_ns` when
  the response headers (gRPC: the first response) arrive.
- Each read is timestamped first thing, before parsing; every event in that read shares it.
- A chunk is an event that brought output tokens by the server's count; when the server gives
  no counts, an event with text counts as one token.
- `end_ns` is when the client knew the request was complete: the read with the final response
  or `[DONE]`, or the clean end of the body where that is the only end marker.
- Errors: non-2xx -> HTTP_STATUS with the server's text; an in-band `error` -> STREAM_ERROR; no
  connection or a break before any response byte -> CONNECT; a break or a clean end before
  the final response -> TRUNCATED; the deadline -> TIMEOUT; the run cancelling -> CANCELLED.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import aiohttp

from crossfade.bench.dialects import ParsedEvent, error_body_text
from crossfade.bench.protocol import RequestRecord
from crossfade.bench.targets import TargetSpec

# What decoding a response the dialect does not expect can raise (a JSON list, a bad count,
# JSON nested deeper than the decoder goes...)
UNREADABLE = (
    ValueError,
    TypeError,
    AttributeError,
    KeyError,
    IndexError,
    struct.error,
    RecursionError,
)


class ResponseTally:
    """Applies a request's parsed events to its record, in arrival order."""

    __slots__ = ("counted", "final", "record", "server_counts")

    def __init__(self, record: RequestRecord) -> None:
        self.record = record
        self.counted = 0  # tokens attributed to chunks so far
        self.final = False  # the final response (or [DONE]) has arrived
        self.server_counts = False  # the server has counted tokens for us

    def add(self, event: ParsedEvent, now_ns: int) -> None:
        record = self.record
        if event.input_tokens is not None and record.server_input_tokens is None:
            record.server_input_tokens = event.input_tokens
        if event.final:
            self.final = True
        record.output_chars += len(event.text)
        if event.cumulative_tokens is not None:  # OpenAI usage: a running total
            self.server_counts = True
            record.server_output_tokens = event.cumulative_tokens
            if event.summary:
                return
            tokens = event.cumulative_tokens - self.counted
        elif event.tokens is not None:  # Triton: the tokens new in this response
            self.server_counts = True
            record.server_output_tokens = (record.server_output_tokens or 0) + event.tokens
            tokens = event.tokens
        elif self.server_counts or event.summary:
            tokens = 0  # e.g. text a BLS held back, sent after its tokens were counted
        else:
            tokens = 1 if event.text else 0
        if tokens > 0:
            record.chunk_ns.append(now_ns)
            record.chunk_tokens.append(tokens)
            self.counted += tokens


def open_session() -> aiohttp.ClientSession:
    """A session for the requests off the measured path (metadata, health): callers bound each
    with their own deadline."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))


def info_header(spec: TargetSpec) -> dict[str, Any]:
    """What every client's `server_info()` starts with: which target, protocol and dialect."""
    return {
        "target": spec.name,
        "url": spec.url,
        "protocol": spec.transport,
        "dialect": spec.dialect,
        "model": spec.model,
    }


async def get_json(session: aiohttp.ClientSession, url: str) -> Any:
    """GET a JSON document; raises RuntimeError with the server's text on a non-2xx answer."""
    async with session.get(url) as response:
        body = await response.read()
        if response.status >= 300:
            raise RuntimeError(f"GET {url}: HTTP {response.status}: {error_body_text(body)}")
        return json.loads(body)
