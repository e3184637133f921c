"""Protocol clients, and what they share: turning parsed events into a record, and one HTTP
exchange (POST, then a JSON body or an SSE stream) with its error taxonomy.

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

import asyncio
import contextlib
import json
import struct
from time import perf_counter_ns
from typing import Any

import aiohttp

from crossfade.bench.dialects import EventParser, ParsedEvent, error_body_text
from crossfade.bench.protocol import ErrorKind, RequestRecord
from crossfade.bench.sse import SseEvent, SseParser
from crossfade.bench.targets import TargetSpec

JSON_HEADERS = {"Content-Type": "application/json"}
# What decoding a response the dialect does not expect can raise (a JSON list, a bad count...)
UNREADABLE = (ValueError, TypeError, AttributeError, KeyError, IndexError, struct.error)


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


def open_session(concurrency: int) -> aiohttp.ClientSession:
    """One session per client: a pool sized for the run (0: unbounded), no aiohttp deadline
    (each request has its own), and a read buffer larger than aiohttp's 64 KiB default, which
    throttles long responses."""
    connector = aiohttp.TCPConnector(limit=max(concurrency, 0), limit_per_host=0)
    return aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=None), read_bufsize=2**20
    )


def info_header(spec: TargetSpec) -> dict[str, Any]:
    """What every client's `server_info()` starts with: which target, protocol and dialect."""
    return {
        "target": spec.name,
        "url": spec.url,
        "protocol": spec.transport,
        "dialect": spec.dialect,
        "model": spec.model,
    }


async def warm_connections(session: aiohttp.ClientSession, url: str, count: int) -> None:
    """Open `count` keep-alive connections before the run (best effort), so the first requests
    of a burst do not each pay for a TCP handshake inside their measured time."""
    if count < 2:
        return

    async def touch() -> None:
        async with session.get(url) as response:
            await response.read()

    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(10):
            await asyncio.gather(*(touch() for _ in range(min(count, 512))), return_exceptions=True)


async def get_json(session: aiohttp.ClientSession, url: str) -> Any:
    """GET a JSON document; raises RuntimeError with the server's text on a non-2xx answer."""
    async with session.get(url) as response:
        body = await response.read()
        if response.status >= 300:
            raise RuntimeError(f"GET {url}: HTTP {response.status}: {error_body_text(body)}")
        return json.loads(body)


async def http_exchange(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    record: RequestRecord,
    *,
    stream: bool,
    parse: EventParser,
    clean_end_is_final: bool,
    timeout_s: float | None,
) -> None:
    """POST `body` and record the answer; never raises except to pass on cancellation."""
    tally = ResponseTally(record)
    record.sent_ns = perf_counter_ns()
    try:
        async with asyncio.timeout(timeout_s):
            async with session.post(url, data=body, headers=JSON_HEADERS) as response:
                record.first_byte_ns = perf_counter_ns()
                record.http_status = response.status
                if response.status >= 300:
                    text = error_body_text(await response.read())
                    message = f"HTTP {response.status}: {text}"
                    record.fail(ErrorKind.HTTP_STATUS, message, perf_counter_ns())
                elif stream:
                    await _read_stream(response, tally, parse, clean_end_is_final)
                else:
                    payload = await response.read()
                    now = perf_counter_ns()
                    _apply(tally, parse(json.loads(payload)), now)
                    tally.final = True  # a whole 2xx body is the whole answer
                    record.end_ns = record.end_ns or now
    except TimeoutError:
        record.fail(ErrorKind.TIMEOUT, f"no complete answer within {timeout_s} s", _now())
    except asyncio.CancelledError:
        record.fail(ErrorKind.CANCELLED, "the run stopped with the request in flight", _now())
        raise
    except aiohttp.ClientError as exc:
        if not tally.final:  # a break after the final response loses nothing
            record.fail(_break_kind(record, exc), f"{type(exc).__name__}: {exc}", _now())
    except UNREADABLE as exc:  # a body or event that is not the JSON the dialect expects
        record.fail(ErrorKind.OTHER, f"unreadable response: {exc!r}", _now())
    record.end_ns = record.end_ns or _now()
    record.verify_length()


def _now() -> int:
    return perf_counter_ns()


def _break_kind(record: RequestRecord, exc: aiohttp.ClientError) -> ErrorKind:
    if record.first_byte_ns:
        return ErrorKind.TRUNCATED
    if isinstance(exc, aiohttp.ClientConnectionError):
        return ErrorKind.CONNECT
    return ErrorKind.OTHER


def _apply(tally: ResponseTally, event: ParsedEvent, now_ns: int) -> None:
    if event.error is not None:
        tally.record.fail(ErrorKind.STREAM_ERROR, event.error, now_ns)
    else:
        tally.add(event, now_ns)


async def _read_stream(
    response: aiohttp.ClientResponse,
    tally: ResponseTally,
    parse: EventParser,
    clean_end_is_final: bool,
) -> None:
    record, parser = tally.record, SseParser()
    responses = 0

    def take(events: list[SseEvent], now: int) -> None:
        nonlocal responses
        for sse in events:
            if sse.done:
                tally.final = True
            elif record.error_kind is None:
                responses += 1
                _apply(tally, parse(json.loads(sse.data)), now)
            if tally.final and not record.end_ns:
                record.end_ns = now

    async for data in response.content.iter_any():
        now = perf_counter_ns()  # first thing: the arrival time of everything in this read
        if record.error_kind is None:  # after an error, only drain so the connection is reused
            take(parser.feed(data), now)
    take(parser.close(), _now())
    if record.error_kind is not None or tally.final:
        return
    if clean_end_is_final and responses:
        record.end_ns = _now()  # the server ends the body right after the final response
        tally.final = True
        return
    record.fail(ErrorKind.TRUNCATED, "the stream ended without its final response", _now())
