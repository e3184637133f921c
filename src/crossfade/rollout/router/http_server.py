"""The router's client-facing HTTP/1.1 server: asyncio protocols, requests parsed by httptools
(llhttp), responses written straight to the socket.

Why not aiohttp's server here: on the path every token takes, a response write through
`StreamResponse.write` costs a task wake and tens of microseconds of Python per token, and at 64
streams that time queued new requests behind token work (benchmarks/router_overhead.py). Here a
relayed event goes from the upstream connection's read to this socket in the same call, with no
task switch. The admin API, off that path, stays on aiohttp.

One request per connection at a time; requests a client pipelined meanwhile wait and are
answered in order. Reading goes on while a request is answered, so a client that leaves is
noticed at once, not at the next write; only a client with MAX_PIPELINED requests waiting is
no longer read from until they are answered. A connection that has no request under way for
IDLE_TIMEOUT_S is closed, as is one whose request does not complete in that time.

A `Responder` writes one response, whole (`send`) or as a chunked stream (`start_stream`,
`write`, `end`). When the client goes away, `on_gone` is called once, so whoever is producing
the answer can stop.

Every request is bounded before it is read into memory, as any HTTP server bounds them: its URL
(MAX_URL, else 414), each header (MAX_HEADER) and the whole head, request line and headers
(MAX_HEAD; both 431), and the body (MAX_BODY, 413). Past a bound the router answers and closes
the connection, which frees whatever was read of it. The head is counted per read, since
httptools gathers a header's pieces itself and shows it only once it is whole.

Writes are not awaited: a streamed answer is at most `max_tokens` events (and the relay ends one
that runs past them). What a slow reader leaves unread is bounded too, by MAX_UNREAD: an answer
whose every event repeats the text so far (the LLM API model's shape) grows with the square of
its length, and a client that stops reading it would otherwise hold that much of the router's
memory. Past the bound the connection is cut, and the answer's backend request ends with it.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from time import perf_counter_ns
from typing import Any, cast

import httptools

MAX_URL = 8 * 1024  # the request target
MAX_HEADER = 16 * 1024  # one header: name and value
MAX_HEAD = 64 * 1024  # the request line and every header
MAX_BODY = 16 * 1024 * 1024  # a prompt of millions of characters; parsed, it takes a few times this
MAX_PIPELINED = 8
MAX_UNREAD = 32 * 1024 * 1024  # bytes written to one client and not yet taken by its socket
IDLE_TIMEOUT_S = 75.0  # a connection with no request under way (or one never completed) closes
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
JSON = b"application/json; charset=utf-8"
SSE = b"text/event-stream"
_LOG = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    path: str  # without the query string
    query: str
    headers: dict[str, str]  # names in lower case; a repeated header keeps its last value
    body: bytes
    received_ns: int  # the read that completed it


# A handler answers through the responder: at once (returns None) or later (returns an
# awaitable, run as the request's task).
Handler = Callable[[HttpRequest, "Responder"], Awaitable[None] | None]


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b"Unknown"


class Responder:
    """One response on its connection."""

    __slots__ = ("_connection", "_head", "_keep_alive", "ended", "on_gone", "started")

    def __init__(self, connection: HttpServerConnection, keep_alive: bool) -> None:
        self._connection = connection
        self._keep_alive = keep_alive
        self.started = False  # the head was written: the status can no longer change
        self.ended = False
        self._head = b""  # a stream's head, written with its first chunk
        self.on_gone: Callable[[], None] | None = None

    @property
    def gone(self) -> bool:
        """The client closed the connection (or it broke)."""
        return self._connection.transport is None

    def send(self, status: int, body: bytes, content_type: bytes = JSON) -> None:
        """A whole response."""
        assert not self.started, "the response was already started"
        self.started = True
        head = self._head_bytes(status, content_type, b"Content-Length: %d\r\n" % len(body))
        self._finish(head + body)

    def send_json(self, status: int, payload: Any) -> None:
        self.send(status, json.dumps(payload).encode())

    def start_stream(self, status: int = 200, content_type: bytes = SSE) -> None:
        """The head of a chunked response (sent with the first chunk); its body follows by
        `write` and `end`."""
        assert not self.started, "the response was already started"
        self.started = True
        extra = b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n"
        self._head = self._head_bytes(status, content_type, extra)

    def write(self, data: bytes) -> None:
        """Part of a stream; the client must keep reading (MAX_UNREAD)."""
        if data:
            self._write(b"%x\r\n%s\r\n" % (len(data), data))
            transport = self._connection.transport
            if transport is not None and transport.get_write_buffer_size() > MAX_UNREAD:
                _LOG.warning("a client left over %d bytes unread: connection cut", MAX_UNREAD)
                transport.abort()  # frees them; connection_lost stops the answer

    def end(self, data: bytes = b"") -> None:
        """The last of a stream (with `data` in the same write) and its terminating chunk."""
        last = b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data) if data else b"0\r\n\r\n"
        self._finish(last)

    def _head_bytes(self, status: int, content_type: bytes, extra: bytes) -> bytes:
        close = b"" if self._keep_alive else b"Connection: close\r\n"
        return b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\n%s%s\r\n" % (
            status,
            _reason(status),
            content_type,
            extra,
            close,
        )

    def _write(self, data: bytes) -> None:
        transport = self._connection.transport
        if transport is not None and not self.ended:
            if self._head:
                data, self._head = self._head + data, b""
            transport.write(data)

    def _finish(self, data: bytes) -> None:
        if self.ended:
            return
        self._write(data)
        self.ended = True
        self._connection.response_ended(self, self._keep_alive)


class HttpServerConnection(asyncio.Protocol):
    """One client connection."""

    def __init__(self, handler: Handler, tasks: set[asyncio.Task[Any]]) -> None:
        self._handler = handler
        self._tasks = tasks  # the server's: cancelled when it stops
        self._parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self._read_ns = 0
        self._head_bytes: int | None = 0  # of the request's head read so far; None: in its body
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._size = 0
        self._waiting: deque[tuple[HttpRequest, bool]] = deque()
        self._current: Responder | None = None
        self._dispatching = False
        self._idle: asyncio.TimerHandle | None = None

    # --- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._arm_idle()

    def data_received(self, data: bytes) -> None:
        self._read_ns = perf_counter_ns()
        if self._head_bytes is not None:
            self._head_bytes += len(data)  # a read that also holds a body counts it too, but
            # its head then completes in this read, and the count is dropped
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(400, "protocol upgrades are not supported")
        except httptools.HttpParserError as exc:  # httptools wraps a callback's exception
            cause = exc.__context__
            if isinstance(cause, Refusal):
                self._refuse(cause.status, str(cause))
            else:
                self._refuse(400, f"malformed HTTP request: {exc}")
        else:
            if self._head_bytes is not None and self._head_bytes > MAX_HEAD:
                self._refuse(431, f"the request's headers are longer than {MAX_HEAD} bytes")
            else:
                self._next()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        # The parser and this object refer to each other, so only the cyclic collector frees
        # them, later: what they hold of a request goes now.
        self._url, self._headers, self._body = b"", {}, []
        if self._idle is not None:
            self._idle.cancel()
        self._waiting.clear()
        current = self._current
        if current is not None and not current.ended and current.on_gone is not None:
            current.on_gone()

    # --- httptools callbacks ------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._url, self._headers, self._body, self._size = b"", {}, [], 0

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > MAX_URL:
            raise Refusal(414, f"the request's URL is longer than {MAX_URL} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        size = len(name) + len(value)
        if size > MAX_HEADER:
            shown = name[:64].decode("latin-1")
            raise Refusal(431, f"the request's header {shown!r} is longer than {MAX_HEADER} bytes")
        self._size += size  # the headers' bytes, until the body's
        if self._size > MAX_HEAD:
            raise Refusal(431, f"the request's headers are longer than {MAX_HEAD} bytes")
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._head_bytes, self._size = None, 0
        if self._headers.get("expect", "").lower() == "100-continue" and self.transport:
            self.transport.write(CONTINUE)  # curl waits a second for this before a large body

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > MAX_BODY:
            raise Refusal(413, f"the request body is larger than {MAX_BODY} bytes")
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._head_bytes = 0  # the next request's
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        url = httptools.parse_url(self._url)
        request = HttpRequest(
            method=self._parser.get_method().decode(),
            path=url.path.decode("utf-8", errors="replace"),
            query=(url.query or b"").decode("utf-8", errors="replace"),
            headers=self._headers,
            body=b"".join(self._body),
            received_ns=self._read_ns,
        )
        self._body = []  # the request holds the body now: no second copy kept
        self._waiting.append((request, self._parser.should_keep_alive()))
        if len(self._waiting) >= MAX_PIPELINED and self.transport is not None:
            self.transport.pause_reading()

    # --- answering ----------------------------------------------------------------------

    def _next(self) -> None:
        """Start answering the waiting requests, one at a time. Not re-entered: a request
        answered at once ends inside this loop, and the loop takes the next."""
        if self._dispatching:
            return
        self._dispatching = True
        try:
            while self._current is None and self._waiting and self.transport is not None:
                request, keep_alive = self._waiting.popleft()
                responder = Responder(self, keep_alive)
                self._current = responder
                try:
                    pending = self._handler(request, responder)
                except Exception:
                    _LOG.exception("the router failed on %s %s", request.method, request.path)
                    self._fail(responder)
                    continue
                if pending is not None:
                    task = asyncio.ensure_future(pending)
                    self._tasks.add(task)
                    task.add_done_callback(functools.partial(self._handled, responder))
        finally:
            self._dispatching = False
        if self.transport is None or self._current is not None:
            return
        if len(self._waiting) < MAX_PIPELINED:
            self.transport.resume_reading()  # a no-op unless it was paused
        if self._idle is None and not self._waiting:  # not re-armed by a request's every read
            self._arm_idle()

    def _handled(self, responder: Responder, task: asyncio.Future[None]) -> None:
        self._tasks.discard(cast(asyncio.Task[Any], task))
        if task.cancelled():  # the server is stopping
            if not responder.ended:
                self._close()
            return
        error = task.exception()
        if error is not None:
            _LOG.error("the router failed on a request", exc_info=error)
            self._fail(responder)
        elif not responder.ended and not responder.gone:  # a handler that forgot to answer
            self._fail(responder)

    def response_ended(self, responder: Responder, keep_alive: bool) -> None:
        if responder is not self._current:
            return
        self._current = None
        if not keep_alive:
            self._close()
        else:
            self._next()

    def _fail(self, responder: Responder) -> None:
        if responder.started:
            self._close()  # a stream cut by the router: closing says it is incomplete
            responder.ended = True
            self._current = None
        else:
            responder.send_json(500, {"error": "the router failed on this request"})

    def _refuse(self, status: int, message: str) -> None:
        """Bad HTTP: answer (unless a response is under way) and close."""
        self._waiting.clear()
        if self.transport is not None and self._current is None:
            Responder(self, keep_alive=False).send_json(status, {"error": message})
        self._close()

    def _arm_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        self._idle = asyncio.get_running_loop().call_later(IDLE_TIMEOUT_S, self._close)

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class Refusal(Exception):
    """Raised in a parser callback: answer `status` with the message, and close."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
