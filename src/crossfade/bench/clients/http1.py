"""A minimal HTTP/1.1 client for the measured requests: keep-alive connections on asyncio
protocols, responses parsed by httptools (llhttp), every byte handed on inside the read that
brought it.

Why not aiohttp here: a streamed chunk through aiohttp's StreamReader and `async for` costs tens
of microseconds of Python, and on a small client machine that time becomes the latency it
measures (docs/metrics.md, "Client overhead"). Here a read is timestamped first thing in
`data_received` and the parser's callbacks deliver it synchronously, with no task switch per
chunk. aiohttp stays for everything off the hot path (metadata, health, metrics scraping).

This layer knows nothing of records or dialects: a `ResponseHandler` is told the status, each
piece of body, and the clean end; the pool says whether the connection broke, and when.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from time import perf_counter_ns
from typing import Protocol, cast

import httptools

# Servers close idle keep-alive connections (uvicorn, and so vLLM, after 5 s); a connection
# idle longer than this is closed by us instead of risking a request on a dying one.
IDLE_LIMIT_S = 4.0
WARM_TIMEOUT_S = 10.0
MAX_WARM = 512
# A response's status line and headers may take this many bytes; past it the server is not one
# this client should keep reading from (httptools would gather an endless header in memory).
MAX_RESPONSE_HEAD = 64 * 1024


class ResponseHandler(Protocol):
    """What one request's response is delivered to, from inside the connection's reads."""

    def on_headers(self, status: int, now_ns: int) -> None: ...

    def on_body(self, data: bytes, now_ns: int) -> None: ...

    def on_complete(self, now_ns: int) -> None: ...

    def on_read_end(self) -> None:
        """Every callback of one read has run and the response goes on: a proxy writes what
        the read brought in one go."""


@dataclass(frozen=True, slots=True)
class Broken:
    """The connection ended before the response did."""

    error: BaseException | None
    response_started: bool  # any byte of the response had arrived


class Http1Connection(asyncio.Protocol):
    """One keep-alive connection, one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.idle_since = time.monotonic()
        self.reusable = True
        self._parser = httptools.HttpResponseParser(self)
        self._handler: ResponseHandler | None = None
        self._done: asyncio.Future[Broken | None] | None = None
        self._now = 0
        self._started = False
        self._headers_done = False
        self._head_bytes = 0  # bytes read while the head is incomplete
        self._until_close = True  # no Content-Length and not chunked: the body ends at EOF

    # --- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self._now = perf_counter_ns()  # first thing: the arrival time of everything in this read
        self._started = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._finish(Broken(exc, True))
            self.close()
            return
        if not self._headers_done:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_RESPONSE_HEAD:
                error = ValueError(f"the response's head is over {MAX_RESPONSE_HEAD} bytes")
                self._finish(Broken(error, True))
                self.close()
                return
        if self._handler is not None:
            self._handler.on_read_end()

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self.transport = None
        if self._done is None or self._done.done():
            return
        if self._headers_done and self._until_close and self._handler is not None:
            self._handler.on_complete(perf_counter_ns())  # EOF is this response's end marker
            self._finish(None)
        else:
            self._finish(Broken(exc, self._started))

    # --- httptools callbacks ------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        header = name.lower()
        if header == b"content-length" or (
            header == b"transfer-encoding" and b"chunked" in value.lower()
        ):
            self._until_close = False

    def on_headers_complete(self) -> None:
        self._headers_done = True
        if self._handler is not None:
            self._handler.on_headers(self._parser.get_status_code(), self._now)

    def on_body(self, body: bytes) -> None:
        if self._handler is not None:
            self._handler.on_body(body, self._now)

    def on_message_complete(self) -> None:
        self.reusable = self.reusable and self._parser.should_keep_alive()
        if self._handler is not None:
            self._handler.on_complete(self._now)
        self._finish(None)

    # --- used by the pool ---------------------------------------------------------------

    def send(self, payload: bytes, handler: ResponseHandler) -> asyncio.Future[Broken | None]:
        """Write one request; the future ends with None once the response is complete."""
        if self.transport is None or self.transport.is_closing():
            raise ConnectionResetError("the connection closed before the request was sent")
        self._handler, self._started, self._until_close = handler, False, True
        self._headers_done, self._head_bytes = False, 0
        self._done = asyncio.get_running_loop().create_future()
        self.transport.write(payload)
        return self._done

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.close()

    @property
    def open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def _finish(self, outcome: Broken | None) -> None:
        self._handler = None
        if self._done is not None and not self._done.done():
            self._done.set_result(outcome)
        self.idle_since = time.monotonic()


class Http1Pool:
    """Keep-alive connections to one host; a request takes an idle one or opens another."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._idle: deque[Http1Connection] = deque()
        self._all: set[Http1Connection] = set()

    def request_bytes(self, method: str, path: str, body: bytes) -> bytes:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self._authority}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    async def exchange(self, payload: bytes, handler: ResponseHandler) -> Broken | None:
        """Send a request built by `request_bytes` and wait for its response to end.

        Returns None when the response completed, or how the connection broke. A reused
        connection that the server closed before answering gets the request once more on a
        new one: the server never read it. Cancellation closes the connection."""
        for attempt in (1, 2):
            connection, reused = await self._acquire(fresh=attempt == 2)
            try:
                outcome = await connection.send(payload, handler)
            except ConnectionResetError as exc:
                outcome = Broken(exc, False)
            except BaseException:
                connection.close()  # a half-read response cannot be reused
                self._all.discard(connection)
                raise
            if outcome is None and connection.reusable and connection.open:
                self._idle.append(connection)
                return None
            connection.close()
            self._all.discard(connection)
            if outcome is None or outcome.response_started or not reused:
                return outcome
        return outcome

    async def warm(self, count: int) -> None:
        """Open `count` connections before the run (best effort) so the first requests of a
        burst do not each pay for a TCP handshake inside their measured time."""
        tasks = [asyncio.ensure_future(self._connect()) for _ in range(min(count, MAX_WARM))]
        if not tasks:
            return
        done, pending = await asyncio.wait(tasks, timeout=WARM_TIMEOUT_S)
        for task in pending:
            task.cancel()
        for task in done:
            if task.exception() is None:
                self._idle.append(task.result())

    async def close(self) -> None:
        for connection in list(self._all):
            connection.close()
        self._all.clear()
        self._idle.clear()

    async def _acquire(self, *, fresh: bool) -> tuple[Http1Connection, bool]:
        now = time.monotonic()
        while self._idle and not fresh:
            connection = self._idle.pop()  # the most recently used: the least likely stale
            if connection.open and now - connection.idle_since < IDLE_LIMIT_S:
                return connection, True
            connection.close()
            self._all.discard(connection)
        return await self._connect(), False

    async def _connect(self) -> Http1Connection:
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(Http1Connection, self.host, self.port)
        self._all.add(connection)
        return connection
