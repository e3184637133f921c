"""The ground-truth server itself, in its own process, over real sockets: what it streams, what
it logs, and HTTP/1.1 as clients speak it (keep-alive, bodies split over reads, pipelining)."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import urllib.request
from typing import Any

import aiohttp
import pytest

from crossfade.bench.calibration import LogEntry, parse_log
from crossfade.bench.groundtruth import prompt_key
from tests.support.groundtruth import GroundTruth

MS = 1_000_000


@pytest.fixture
def server(groundtruth: GroundTruth) -> GroundTruth:
    return groundtruth


def flush(server: GroundTruth) -> list[LogEntry]:
    url = f"http://127.0.0.1:{server.port}/groundtruth/flush"
    with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=10) as reply:
        assert json.loads(reply.read()) == {"written": str(server.log)}
    return parse_log(server.log.read_text(encoding="utf-8"))


def events(body: bytes) -> list[str]:
    """The data of every SSE event in a response body."""
    return [e.removeprefix("data: ") for e in body.decode().split("\n\n") if e]


def check_stream(data: list[str], tokens: int) -> None:
    assert len(data) == tokens + 1
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert [c["usage"] for c in chunks] == [
        {"prompt_tokens": 1, "completion_tokens": k} for k in range(1, tokens + 1)
    ]
    assert [c["choices"][0]["text"] for c in chunks] == [" tok"] * tokens
    finish = [c["choices"][0]["finish_reason"] for c in chunks]
    assert finish == [None] * (tokens - 1) + ["length"]


def check_schedule(entry: LogEntry, server: GroundTruth, tokens: int) -> list[int]:
    """Every token written at or after its due time (received + TTFT + k ITL) and not long
    after (writes are a ms or two late: timers are whole ms; late ones do not push the rest
    back); returns the gaps between writes."""
    ttft, itl = int(server.ttft_ms * MS), int(server.itl_ms * MS)
    assert len(entry.sent_ns) == tokens
    late = [t - entry.received_ns - ttft - k * itl for k, t in enumerate(entry.sent_ns)]
    assert min(late) >= 0
    assert max(late) < 25 * MS, late
    return [b - a for a, b in zip(entry.sent_ns, entry.sent_ns[1:], strict=False)]


def check_gaps(gaps: list[int], server: GroundTruth) -> None:
    assert abs(statistics.median(gaps) - server.itl_ms * MS) < 1.5 * MS, gaps


async def post(session: aiohttp.ClientSession, server: GroundTruth, body: Any) -> bytes:
    url = f"http://127.0.0.1:{server.port}/v1/completions"
    async with session.post(url, json=body) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        return await response.read()


def test_a_stream_and_its_log_entry(server: GroundTruth) -> None:
    async def go() -> bytes:
        async with aiohttp.ClientSession() as session:
            return await post(session, server, {"prompt": "one", "max_tokens": 12})

    sent = time.perf_counter_ns()
    check_stream(events(asyncio.run(go())), 12)
    (entry,) = flush(server)
    assert entry.key == prompt_key("one")
    assert sent < entry.received_ns < entry.sent_ns[0]
    check_gaps(check_schedule(entry, server, 12), server)
    assert flush(server) == []  # a flush clears the log


def test_keep_alive_serves_many_requests_on_one_connection(server: GroundTruth) -> None:
    connections: list[object] = []

    async def on_create(*_: object) -> None:
        connections.append(object())

    trace = aiohttp.TraceConfig()
    trace.on_connection_create_end.append(on_create)

    async def go() -> list[bytes]:
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(connector=connector, trace_configs=[trace]) as session:
            bodies = []
            for i in range(4):
                body = {"prompt": f"again {i}", "max_tokens": 3, "stream": True}
                bodies.append(await post(session, server, body))
            async with session.get(f"http://127.0.0.1:{server.port}/v1/models") as reply:
                bodies.append(await reply.read())
            return bodies

    bodies = asyncio.run(go())
    assert len(connections) == 1
    for body in bodies[:4]:
        check_stream(events(body), 3)
    assert json.loads(bodies[4]) == {"object": "list", "data": [{"id": "gt", "object": "model"}]}
    entries = flush(server)
    assert sorted(e.key for e in entries) == sorted(prompt_key(f"again {i}") for i in range(4))
    for entry in entries:
        check_schedule(entry, server, 3)


async def read_response(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One response's head and its body (chunked bodies de-chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    if b"Transfer-Encoding: chunked" not in head:
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        return head, await reader.readexactly(length)
    body = b""
    while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
        body += (await reader.readexactly(size + 2))[:-2]
    assert await reader.readexactly(2) == b"\r\n"
    return head, body


def completion(prompt: str, tokens: int, stream: bool | None = None) -> tuple[bytes, bytes]:
    """A request's head and body, as bytes to write."""
    fields: dict[str, Any] = {"prompt": prompt, "max_tokens": tokens}
    if stream is not None:
        fields["stream"] = stream
    body = json.dumps(fields).encode()
    head = b"POST /v1/completions HTTP/1.1\r\nHost: gt\r\nContent-Type: application/json\r\n"
    return head + b"Content-Length: %d\r\n\r\n" % len(body), body


def test_a_body_split_over_two_writes_is_received_when_its_end_arrives(
    server: GroundTruth,
) -> None:
    async def go() -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        head, body = completion("split", 4)
        writer.write(head + body[:5])
        await writer.drain()
        await asyncio.sleep(0.05)
        last_write = time.perf_counter_ns()
        writer.write(body[5:])
        _, data = await read_response(reader)
        writer.close()
        await writer.wait_closed()
        return last_write, data

    last_write, data = asyncio.run(go())
    check_stream(events(data), 4)
    (entry,) = flush(server)
    assert entry.received_ns > last_write  # the read that completed it, not the first one
    check_schedule(entry, server, 4)


def test_pipelined_requests_are_answered_in_order(server: GroundTruth) -> None:
    async def go() -> list[tuple[bytes, bytes]]:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        first, second = completion("first", 3), completion("second", 2, stream=False)
        writer.write(b"".join(first + second) + b"GET /health HTTP/1.1\r\nHost: gt\r\n\r\n")
        replies = [await read_response(reader) for _ in range(3)]
        writer.close()
        await writer.wait_closed()
        return replies

    (_, first), (head, second), (_, health) = asyncio.run(go())
    check_stream(events(first), 3)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    reply = json.loads(second)  # "stream": false gets one JSON body
    assert reply["choices"][0] == {"index": 0, "text": " tok tok", "finish_reason": "length"}
    assert reply["usage"] == {"prompt_tokens": 1, "completion_tokens": 2}
    assert json.loads(health) == {"ok": True}
    entries = {e.key: e for e in flush(server)}
    assert len(entries[prompt_key("first")].sent_ns) == 3
    one_write = entries[prompt_key("second")].sent_ns  # every token in the one write
    assert len(one_write) == 2
    assert len(set(one_write)) == 1


def test_errors_and_a_client_that_leaves(server: GroundTruth) -> None:
    base = f"http://127.0.0.1:{server.port}"

    async def go() -> list[tuple[int, Any]]:
        # a client that hangs up mid-stream: not logged, and the server carries on
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"".join(completion("left", 50)))
        await reader.readuntil(b"\r\n\r\n")
        writer.close()
        await writer.wait_closed()
        replies = []
        async with aiohttp.ClientSession() as session:
            for method, path, data in [
                ("GET", "/nowhere", None),
                ("POST", "/v1/completions", b"{not json"),
                ("POST", "/v1/completions", b'{"max_tokens": "many"}'),
                ("GET", "/v1/completions", None),
                ("GET", "/health", None),
            ]:
                async with session.request(method, base + path, data=data) as reply:
                    replies.append((reply.status, await reply.json()))
        return replies

    replies = asyncio.run(go())
    assert [status for status, _ in replies] == [404, 400, 400, 405, 200]
    assert all("error" in body for _, body in replies[:4])
    assert replies[4][1] == {"ok": True}
    assert flush(server) == []


def test_32_concurrent_streams_complete(server: GroundTruth) -> None:
    async def go() -> list[bytes]:
        async with aiohttp.ClientSession() as session:
            bodies = [{"prompt": f"many {i}", "max_tokens": 8} for i in range(32)]
            return await asyncio.gather(*(post(session, server, b) for b in bodies))

    for body in asyncio.run(go()):
        check_stream(events(body), 8)
    entries = flush(server)
    assert sorted(e.key for e in entries) == sorted(prompt_key(f"many {i}") for i in range(32))
    check_gaps([g for e in entries for g in check_schedule(e, server, 8)], server)
