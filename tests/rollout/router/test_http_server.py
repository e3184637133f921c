"""The router's HTTP/1.1 server on real sockets: raw bytes in, the bytes it writes checked, and
aiohttp's client reading what it streams."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from crossfade.rollout.router import http_server
from crossfade.rollout.router.http_server import HttpRequest, HttpServerConnection, Responder

pytestmark = pytest.mark.servers

Handler = Callable[[HttpRequest, Responder], Awaitable[None] | None]


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[int]:
    tasks: set[asyncio.Task[Any]] = set()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: HttpServerConnection(handler, tasks), "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def exchange(port: int, data: bytes) -> bytes:
    """Send raw bytes; read until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    received = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return received


def echo(request: HttpRequest, responder: Responder) -> None:
    responder.send_json(200, {"path": request.path, "query": request.query, "n": len(request.body)})


def post(path: str, body: bytes, *headers: str) -> bytes:
    extra = "".join(f"{h}\r\n" for h in headers)
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


def test_pipelined_requests_on_one_connection_are_answered_in_order() -> None:
    async def go() -> bytes:
        async with serving(echo) as port:
            both = post("/one?a=1", b"12") + post("/two", b"345", "Connection: close")
            return await exchange(port, both)

    received = asyncio.run(go())
    first, second = received.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"200 OK\r\n")
    assert b'"path": "/one", "query": "a=1", "n": 2' in first
    assert b"Connection: close" not in first
    assert b'"path": "/two", "query": "", "n": 3' in second
    assert b"Connection: close\r\n" in second  # and the server closed: read() returned


def test_a_client_expecting_100_continue_gets_it_before_sending_the_body() -> None:
    async def go() -> bytes:
        async with serving(echo) as port:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                post("/x", b"", "Expect: 100-continue").replace(b"Length: 0", b"Length: 4")
            )
            interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            writer.write(b"body")
            answer = await asyncio.wait_for(reader.readuntil(b"}"), 5)
            writer.close()
            return interim + answer

    received = asyncio.run(go())
    assert received.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK")
    assert b'"n": 4' in received


@pytest.mark.parametrize(
    ("data", "status", "text"),
    [
        (b"GARBAGE\r\n\r\n", b"400", b"malformed HTTP request"),
        (post("/x", b"0123456789"), b"413", b"larger than 8 bytes"),
    ],
)
def test_bad_http_is_refused_and_the_connection_closed(
    monkeypatch: pytest.MonkeyPatch, data: bytes, status: bytes, text: bytes
) -> None:
    monkeypatch.setattr(http_server, "MAX_BODY", 8)
    seen: list[HttpRequest] = []

    def handler(request: HttpRequest, responder: Responder) -> None:
        seen.append(request)
        echo(request, responder)

    async def go() -> bytes:
        async with serving(handler) as port:
            return await exchange(port, data)

    received = asyncio.run(go())
    assert received.startswith(b"HTTP/1.1 " + status)
    assert text in received
    assert b"Connection: close" in received
    assert seen == []


def send_raw(port: int, head: bytes, filler: bytes = b"", repeat: int = 0) -> tuple[bool, bytes]:
    """On a blocking socket: send `head`, then `filler` `repeat` times, then the end of a
    request; read until the server closes. (Whether all was sent, what came back.) asyncio's
    reader drops what it holds once the connection is reset; a socket returns it first."""
    sent_all, received = True, b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        try:
            conn.sendall(head)
            for _ in range(repeat):
                conn.sendall(filler)
            conn.sendall(b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        except OSError:
            sent_all = False
        try:
            while data := conn.recv(65536):
                received += data
        except OSError:
            pass
    return sent_all, received


@pytest.mark.parametrize(
    ("head", "status", "text"),
    [
        (b"GET /" + b"u" * 9000 + b" HTTP/1.1\r\nX: y", b"414", b"URL is longer than 8192"),
        (b"GET / HTTP/1.1\r\nX-Long: " + b"v" * 17000, b"431", b"'X-Long' is longer than 16384"),
        (
            b"GET / HTTP/1.1\r\n"
            + b"".join(b"X-%d: %s\r\n" % (i, b"v" * 9000) for i in range(8))
            + b"X: y",
            b"431",
            b"headers are longer than 65536",
        ),
    ],
)
def test_a_long_url_header_or_head_is_refused(head: bytes, status: bytes, text: bytes) -> None:
    seen: list[HttpRequest] = []

    def handler(request: HttpRequest, responder: Responder) -> None:
        seen.append(request)
        echo(request, responder)

    async def go() -> tuple[bool, bytes]:
        async with serving(handler) as port:
            return await asyncio.to_thread(send_raw, port, head)

    _, received = asyncio.run(go())
    assert received.startswith(b"HTTP/1.1 " + status)
    assert text in received
    assert seen == []


def test_a_huge_header_is_refused_before_it_is_read_and_the_server_serves_on() -> None:
    # 64 MB in one header, in many reads: httptools would gather all of it (the router once
    # grew by hundreds of MB per such connection). The server answers 431 once the head passes
    # MAX_HEAD and closes, so the client cannot send the rest.
    async def go() -> tuple[bool, bytes, bytes]:
        async with serving(echo) as port:
            head = b"POST /x HTTP/1.1\r\nHost: x\r\nX-Huge: "
            sent_all, received = await asyncio.to_thread(
                send_raw, port, head, b"h" * 1024 * 1024, 64
            )
            after = await exchange(port, post("/next", b"{}", "Connection: close"))
            return sent_all, received, after

    sent_all, received, after = asyncio.run(go())
    assert received.startswith(b"HTTP/1.1 431 ")
    assert not sent_all
    assert after.startswith(b"HTTP/1.1 200 OK")


def test_a_stream_is_chunked_and_a_handler_failure_before_it_is_a_500() -> None:
    async def stream(request: HttpRequest, responder: Responder) -> None:
        if request.path == "/fail":
            raise RuntimeError("a bug")
        responder.start_stream()
        for word in (b"data: a\n\n", b"data: b\n\n"):
            responder.write(word)
            await asyncio.sleep(0.01)
        responder.end(b"data: [DONE]\n\n")

    async def go() -> tuple[list[bytes], str, int]:
        async with serving(stream) as port, aiohttp.ClientSession() as session:
            async with session.post(f"http://127.0.0.1:{port}/s", data=b"{}") as response:
                lines = [line async for line in response.content if line.strip()]
                kind = response.headers["Content-Type"]
            async with session.post(f"http://127.0.0.1:{port}/fail", data=b"{}") as response:
                status = response.status
        return lines, kind, status

    lines, kind, status = asyncio.run(go())
    assert lines == [b"data: a\n", b"data: b\n", b"data: [DONE]\n"]
    assert kind == "text/event-stream"
    assert status == 500


def test_a_failure_mid_stream_cuts_the_connection_without_the_closing_chunk() -> None:
    async def stream(request: HttpRequest, responder: Responder) -> None:
        responder.start_stream()
        responder.write(b"data: a\n\n")
        await asyncio.sleep(0.01)
        raise RuntimeError("a bug after the stream began")

    async def go() -> bytes:
        async with serving(stream) as port:
            return await exchange(port, post("/s", b"{}"))

    received = asyncio.run(go())
    assert b"data: a" in received
    assert not received.endswith(b"0\r\n\r\n")  # incomplete: the client sees a broken stream


def test_the_producer_hears_when_the_client_leaves_mid_stream() -> None:
    gone = asyncio.Event()

    async def stream(request: HttpRequest, responder: Responder) -> None:
        responder.on_gone = gone.set
        responder.start_stream()
        responder.write(b"data: a\n\n")
        await asyncio.wait_for(gone.wait(), 5)
        assert responder.gone
        responder.write(b"data: late\n\n")  # dropped, no error
        responder.end()

    async def go() -> None:
        async with serving(stream) as port:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(post("/s", b"{}"))
            await asyncio.wait_for(reader.readuntil(b"data: a\n\n"), 5)
            writer.close()
            await asyncio.wait_for(gone.wait(), 5)

    asyncio.run(go())
    assert gone.is_set()


def test_a_second_request_waits_until_the_first_is_answered() -> None:
    order: list[str] = []

    async def slow_then_fast(request: HttpRequest, responder: Responder) -> None:
        order.append(f"start {request.path}")
        if request.path == "/slow":
            await asyncio.sleep(0.1)
        order.append(f"end {request.path}")
        responder.send(200, request.path.encode(), b"text/plain")

    async def go() -> bytes:
        async with serving(slow_then_fast) as port:
            both = post("/slow", b"") + post("/fast", b"", "Connection: close")
            return await exchange(port, both)

    received = asyncio.run(go())
    assert order == ["start /slow", "end /slow", "start /fast", "end /fast"]
    assert received.index(b"/slow") < received.index(b"/fast")


def test_an_idle_connection_and_an_unfinished_request_are_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(http_server, "IDLE_TIMEOUT_S", 0.2)

    async def go() -> tuple[bytes, bytes, float]:
        async with serving(echo) as port:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(post("/kept", b"{}"))  # answered, then idle
            started = asyncio.get_running_loop().time()
            answered_then_closed = await asyncio.wait_for(reader.read(), 5)
            idle_for = asyncio.get_running_loop().time() - started
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(post("/slow", b"{}")[:20])  # a request that never completes
            unfinished = await asyncio.wait_for(reader.read(), 5)
            writer.close()
            return answered_then_closed, unfinished, idle_for

    answered_then_closed, unfinished, idle_for = asyncio.run(go())
    assert answered_then_closed.startswith(b"HTTP/1.1 200 OK")
    assert b"Connection: close" not in answered_then_closed  # kept alive, until idle
    assert idle_for >= 0.2
    assert unfinished == b""


def test_many_requests_pipelined_in_one_write_are_all_answered() -> None:
    # Answered at once, each ends inside the dispatch loop: no recursion per request.
    async def go() -> bytes:
        async with serving(echo) as port:
            burst = b"".join(post(f"/{i}", b"") for i in range(1999))
            return await exchange(port, burst + post("/last", b"", "Connection: close"))

    received = asyncio.run(go())
    assert received.count(b"HTTP/1.1 200 OK") == 2000
    assert received.index(b'"/1998"') < received.index(b'"/last"')


def test_a_connection_keeps_no_copy_of_a_request_it_has_passed_on() -> None:
    # The parser and the connection refer to each other, so the connection lives until the
    # cyclic collector runs: a body it kept would stay in memory that long (three 16 MiB bodies
    # once grew the router by 50 MB a round, given back only at a collection).
    connections: list[HttpServerConnection] = []

    def handler(request: HttpRequest, responder: Responder) -> None:
        connections.append(responder._connection)
        echo(request, responder)

    async def go() -> tuple[list[bytes], list[bytes]]:
        async with serving(handler) as port:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(post("/kept-alive", b"x" * 300_000))
            await asyncio.wait_for(reader.readuntil(b"}"), 5)
            while_open = list(connections[0]._body)
            writer.close()
            await asyncio.sleep(0.05)
            return while_open, list(connections[0]._body)

    while_open, after_close = asyncio.run(go())
    assert while_open == []
    assert after_close == []
