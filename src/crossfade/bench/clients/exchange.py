"""One measured HTTP exchange: POST a dialect's payload, record the answer (a JSON body or an SSE
stream) by the rules in `crossfade.bench.clients`, with the error taxonomy of `ErrorKind`.

`RecordingHandler` receives the response inside the connection's reads (see `http1`), so each
event is parsed and counted in the read that brought it, timestamped with that read's arrival.
An `on_event` callback sees each good event right after it is counted, with the tokens the tally
attributed to it, and `on_read_end` is called once the read's events are all in, unless the
request has failed: the router forwards them from there.
"""

from __future__ import annotations

import asyncio
import json
import json.scanner
from collections.abc import Callable
from time import perf_counter_ns
from typing import Any, cast

from crossfade.bench.clients.http1 import Http1Pool
from crossfade.bench.dialects.base import UNREADABLE, EventParser, ParsedEvent, error_body_text
from crossfade.bench.protocol import ErrorKind, RequestRecord
from crossfade.bench.sse import SseError, SseEvent, SseParser
from crossfade.bench.tally import ResponseTally

# (the event, the output tokens the tally counted in it, the read's arrival time)
EventCallback = Callable[[ParsedEvent, int, int], None]
# A whole (non-streamed) answer or an error body is kept in memory up to this size; a server
# that sends more is not answering a generation request, and the request fails.
MAX_BODY_BYTES = 16 * 1024 * 1024
_SCAN_VALUE = json.scanner.make_scanner(cast(Any, json.JSONDecoder()))  # typeshed: wrong arg


def decode_event(text: str) -> Any:
    """`json.loads` without its Python wrapper, about half its cost on a short event (this runs
    once per streamed chunk). Text with anything around the value takes the full path, which
    also raises the usual errors."""
    try:
        value, end = _SCAN_VALUE(text, 0)
    except StopIteration:
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


class RecordingHandler:
    """Turns one response into its record; never raises into the connection."""

    __slots__ = (
        "_body",
        "_body_bytes",
        "_clean_end",
        "_ok",
        "_on_event",
        "_on_read_end",
        "_parse",
        "_sse",
        "_stream",
        "responses",
        "tally",
    )

    def __init__(
        self,
        tally: ResponseTally,
        parse: EventParser,
        *,
        stream: bool,
        clean_end_is_final: bool,
        on_event: EventCallback | None = None,
        on_read_end: Callable[[], None] | None = None,
    ) -> None:
        self.tally = tally
        self._on_event = on_event
        self._on_read_end = on_read_end
        self.responses = 0  # events the dialect parsed
        self._parse = parse
        self._stream = stream
        self._clean_end = clean_end_is_final
        self._sse = SseParser()
        self._body: list[bytes] = []  # a whole answer, or an error's text
        self._body_bytes = 0
        self._ok = False

    def on_headers(self, status: int, now_ns: int) -> None:
        record = self.tally.record
        record.first_byte_ns, record.http_status = now_ns, status
        self._ok = status < 300

    def on_body(self, data: bytes, now_ns: int) -> None:
        if not (self._ok and self._stream):
            self._body_bytes += len(data)
            if self._body_bytes <= MAX_BODY_BYTES:
                self._body.append(data)
        elif self.tally.record.error_kind is None:  # after an error, only drain the body
            try:
                events = self._sse.feed(data)
            except SseError as exc:  # a line or event past the parser's bound
                self.tally.record.fail(ErrorKind.OTHER, f"unreadable stream: {exc}", now_ns)
                return
            self._take(events, now_ns)

    def on_complete(self, now_ns: int) -> None:
        record, tally = self.tally.record, self.tally
        body = b"".join(self._body)
        if not self._ok:
            message = f"HTTP {record.http_status}: {error_body_text(body)}"
            record.fail(ErrorKind.HTTP_STATUS, message, now_ns)
            return
        if not self._stream and self._body_bytes > MAX_BODY_BYTES:
            message = f"the answer's body is {self._body_bytes} bytes, over {MAX_BODY_BYTES}"
            record.fail(ErrorKind.OTHER, message, now_ns)
            return
        if not self._stream:
            self._apply_json(body, now_ns, json.loads)
            tally.final = True  # a whole 2xx body is the whole answer
            record.end_ns = record.end_ns or now_ns
            return
        if record.error_kind is None:
            self._take(self._sse.close(), now_ns)
        if record.error_kind is not None or tally.final:
            return
        if self._clean_end and self.responses:
            record.end_ns = now_ns  # the server ends the body right after the final response
            tally.final = True
            return
        record.fail(ErrorKind.TRUNCATED, "the stream ended without its final response", now_ns)

    def on_read_end(self) -> None:
        # A read that brought an error hands nothing on: output taken before the error in the
        # same read stays unsent, so a router can still fall back to another backend.
        if self._on_read_end is not None and self.tally.record.error_kind is None:
            self._on_read_end()

    def _take(self, events: list[SseEvent], now_ns: int) -> None:
        tally = self.tally
        for sse in events:
            if sse.done:
                tally.final = True
            elif tally.record.error_kind is None:
                self.responses += 1
                self._apply_json(sse.data, now_ns, decode_event)
            if tally.final and not tally.record.end_ns:
                tally.record.end_ns = now_ns

    def _apply_json(self, data: Any, now_ns: int, decode: Callable[[Any], Any]) -> None:
        record = self.tally.record
        try:
            event = self._parse(decode(data))
        except UNREADABLE as exc:  # a body or event that is not the JSON the dialect expects
            record.fail(ErrorKind.OTHER, f"unreadable response: {exc!r}", now_ns)
            return
        if event.error is not None:
            record.fail(ErrorKind.STREAM_ERROR, event.error, now_ns)
        else:
            tokens = self.tally.add(event, now_ns)
            if self._on_event is not None:
                self._on_event(event, tokens, now_ns)


async def post_and_record(
    pool: Http1Pool,
    path: str,
    body: bytes,
    record: RequestRecord,
    *,
    stream: bool,
    parse: EventParser,
    clean_end_is_final: bool,
    timeout_s: float | None,
    on_event: EventCallback | None = None,
    on_read_end: Callable[[], None] | None = None,
    verify_length: bool = True,
) -> None:
    """POST `body` to `path` and record the answer; never raises except to pass on
    cancellation. `verify_length=False`: the requested length was a cap, not a promise."""
    tally = ResponseTally(record)
    handler = RecordingHandler(
        tally,
        parse,
        stream=stream,
        clean_end_is_final=clean_end_is_final,
        on_event=on_event,
        on_read_end=on_read_end,
    )
    payload = pool.request_bytes("POST", path, body)
    record.sent_ns = perf_counter_ns()
    try:
        if timeout_s is None:  # the router's case: it keeps its own watchdog
            broken = await pool.exchange(payload, handler)
        else:
            async with asyncio.timeout(timeout_s):
                broken = await pool.exchange(payload, handler)
        if broken is not None and not tally.final:  # a break after the final response loses nothing
            kind = ErrorKind.TRUNCATED if broken.response_started else ErrorKind.CONNECT
            cause = broken.error
            text = (
                f"{type(cause).__name__}: {cause}" if cause else "the server closed the connection"
            )
            record.fail(kind, text, perf_counter_ns())
    except TimeoutError:
        record.fail(
            ErrorKind.TIMEOUT, f"no complete answer within {timeout_s} s", perf_counter_ns()
        )
    except asyncio.CancelledError:
        message = "the run stopped with the request in flight"
        record.fail(ErrorKind.CANCELLED, message, perf_counter_ns())
        raise
    except OSError as exc:  # no connection at all
        record.fail(ErrorKind.CONNECT, f"{type(exc).__name__}: {exc}", perf_counter_ns())
    record.end_ns = record.end_ns or perf_counter_ns()
    if verify_length:
        record.verify_length()
