"""The measured HTTP exchange (http1 + exchange) against scripted servers on real sockets: each
test's server writes exact bytes, so framing, end markers and breaks are what the test says."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
import uvloop

from crossfade.bench.clients.exchange import MAX_BODY_BYTES, decode_event, post_and_record
from crossfade.bench.clients.http1 import MAX_RESPONSE_HEAD, Http1Pool
from crossfade.bench.dialects.openai import OpenAICompletions
from crossfade.bench.protocol import ErrorKind, RequestRecord
from crossfade.bench.sse import MAX_EVENT_BYTES


def on_uvloop(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test on uvloop, the loop `crossfade bench` runs on."""

    @functools.wraps(test)
    def run(*args: object, **kwargs: object) -> None:
        uvloop.run(test(*args, **kwargs))

    return run


Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[bool]]


def event(completion_tokens: int, finish: str | None = None) -> bytes:
    chunk = {
        "choices": [{"index": 0, "text": " t", "finish_reason": finish}],
        "usage": {"prompt_tokens": 3, "completion_tokens": completion_tokens},
    }
    return f"data: {json.dumps(chunk)}\n\n".encode()


def chunked(*pieces: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces)


STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
)
END = b"0\r\n\r\n"


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    return await reader.readexactly(length)


class Scripted:
    """A server that answers request n (counted over all connections) with `script`; it counts
    connections so tests can see reuse."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.connections = 0
        self.requests = 0
        self.bodies: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    self.bodies.append(await read_request(reader))
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                self.requests += 1
                if not await self.script(reader, writer, self.requests):
                    return
        finally:
            writer.close()


@asynccontextmanager
async def serve(script: Script) -> AsyncIterator[tuple[Scripted, Http1Pool]]:
    scripted = Scripted(script)
    server = await asyncio.start_server(scripted.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pool = Http1Pool("127.0.0.1", port)
    try:
        yield scripted, pool
    finally:
        await pool.close()
        server.close()
        await server.wait_closed()


async def send(
    pool: Http1Pool,
    *,
    tokens: int = 3,
    stream: bool = True,
    clean_end_is_final: bool = False,
    timeout_s: float | None = 5.0,
) -> RequestRecord:
    record = RequestRecord(0, 3, tokens, scheduled_ns=0)
    await post_and_record(
        pool,
        "/v1/completions",
        b'{"prompt": "x"}',
        record,
        stream=stream,
        parse=OpenAICompletions("m").parse,
        clean_end_is_final=clean_end_is_final,
        timeout_s=timeout_s,
    )
    return record


async def well_formed_stream(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int
) -> bool:
    writer.write(STREAM_HEAD + chunked(event(1), event(2), event(3, "length"), b"data: [DONE]\n\n"))
    writer.write(END)
    await writer.drain()
    return True


@pytest.mark.servers
@on_uvloop
async def test_a_stream_gives_one_chunk_per_event_and_ends_at_its_final_response() -> None:
    async with serve(well_formed_stream) as (server, pool):
        record = await send(pool)
    assert record.ok, record.error
    assert record.chunk_tokens == [1, 1, 1]
    assert record.server_output_tokens == 3
    assert record.server_input_tokens == 3
    assert 0 < record.sent_ns <= record.first_byte_ns <= record.chunk_ns[0] <= record.end_ns
    assert server.bodies == [b'{"prompt": "x"}']


@pytest.mark.servers
@on_uvloop
async def test_events_split_across_reads_and_merged_in_one_read_are_all_counted() -> None:
    stream = event(2) + event(3) + event(5, "length") + b"data: [DONE]\n\n"

    async def split(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(STREAM_HEAD)
        body = chunked(stream[:7], stream[7:150], stream[150:])  # cuts inside events
        for i in range(0, len(body), 41):  # and TCP writes cutting the chunk framing
            writer.write(body[i : i + 41])
            await writer.drain()
            await asyncio.sleep(0.002)
        writer.write(END)
        return True

    async with serve(split) as (_, pool):
        record = await send(pool, tokens=5)
    assert record.ok, record.error
    assert sum(record.chunk_tokens) == 5
    assert record.chunk_tokens[0] == 2
    assert record.chunk_ns == sorted(record.chunk_ns)


@pytest.mark.servers
@on_uvloop
async def test_keep_alive_reuses_one_connection_for_sequential_requests() -> None:
    async with serve(well_formed_stream) as (server, pool):
        records = [await send(pool) for _ in range(5)]
    assert all(r.ok for r in records)
    assert server.requests == 5
    assert server.connections == 1


@pytest.mark.servers
@on_uvloop
async def test_a_connection_the_server_closed_while_idle_is_not_used() -> None:
    async def once_per_connection(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int
    ) -> bool:
        await well_formed_stream(reader, writer, n)
        return False  # close after one answer, without announcing it (as an idle timeout does)

    async with serve(once_per_connection) as (server, pool):
        first = await send(pool)
        await asyncio.sleep(0.2)  # the close has reached the client
        second = await send(pool)
    assert first.ok, first.error
    assert second.ok, second.error
    assert second.ok, second.error
    assert server.connections == 2
    assert server.requests == 2


@pytest.mark.servers
@on_uvloop
async def test_a_request_the_server_dropped_unread_on_a_reused_connection_is_sent_again() -> None:
    async def drop_second(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int
    ) -> bool:
        if n == 2:  # the idle close racing the request: no byte of an answer
            return False
        return await well_formed_stream(reader, writer, n)

    async with serve(drop_second) as (server, pool):
        first = await send(pool)
        second = await send(pool)
    assert first.ok, first.error
    assert second.ok, second.error
    assert server.connections == 2
    assert server.requests == 3


@pytest.mark.servers
@on_uvloop
async def test_a_fresh_connection_dropped_before_any_answer_is_a_connect_failure() -> None:
    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        return False

    async with serve(drop) as (server, pool):
        record = await send(pool)
    assert record.error_kind is ErrorKind.CONNECT
    assert server.requests == 1  # not sent twice


@pytest.mark.servers
@on_uvloop
async def test_a_whole_json_body_is_one_answer() -> None:
    body = json.dumps(
        {
            "choices": [{"index": 0, "text": " a b c", "finish_reason": "length"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 3},
        }
    ).encode()

    async def whole(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
        writer.write(head + body)
        return True

    async with serve(whole) as (_, pool):
        record = await send(pool, stream=False)
    assert record.ok, record.error
    assert record.server_output_tokens == 3
    assert record.end_ns >= record.first_byte_ns


@pytest.mark.servers
@on_uvloop
async def test_an_error_status_is_recorded_with_the_servers_message() -> None:
    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        body = b'{"error": "model busy"}'
        writer.write(b"HTTP/1.1 503 Busy\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        return True

    async with serve(refuse) as (server, pool):
        record = await send(pool)
        again = await send(pool)
    assert record.error_kind is ErrorKind.HTTP_STATUS
    assert record.http_status == 503
    assert record.error == "HTTP 503: model busy"
    assert again.error_kind is ErrorKind.HTTP_STATUS
    assert server.connections == 1  # an error answer read to its end leaves the connection usable


@pytest.mark.servers
@on_uvloop
async def test_a_break_mid_stream_is_truncated_and_keeps_the_chunks_before_it() -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(STREAM_HEAD + chunked(event(1), event(2)))
        await writer.drain()
        return False

    async with serve(cut) as (_, pool):
        record = await send(pool)
    assert record.error_kind is ErrorKind.TRUNCATED
    assert record.chunk_tokens == [1, 1]
    assert record.end_ns >= record.chunk_ns[-1]


@pytest.mark.servers
@on_uvloop
async def test_a_clean_end_without_final_event_is_truncated_unless_it_is_the_end_marker() -> None:
    async def no_final(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(STREAM_HEAD + chunked(event(1), event(2), event(3)) + END)
        return True

    async with serve(no_final) as (_, pool):
        openai_rules = await send(pool)
        trtllm_rules = await send(pool, clean_end_is_final=True)
    assert openai_rules.error_kind is ErrorKind.TRUNCATED
    assert trtllm_rules.ok, trtllm_rules.error
    assert sum(trtllm_rules.chunk_tokens) == 3


@pytest.mark.servers
@on_uvloop
async def test_a_body_delimited_by_the_close_of_the_connection_completes_at_eof() -> None:
    async def until_close(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int
    ) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
        writer.write(event(1) + event(2) + event(3))  # no end marker but the close itself
        await writer.drain()
        return False

    async with serve(until_close) as (_, pool):
        record = await send(pool, clean_end_is_final=True)
    assert record.ok, record.error
    assert record.chunk_tokens == [1, 1, 1]
    assert record.end_ns >= record.chunk_ns[-1]


@pytest.mark.servers
@on_uvloop
async def test_nothing_listening_is_a_connect_failure() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    pool = Http1Pool("127.0.0.1", port)
    record = await send(pool)
    await pool.close()
    assert record.error_kind is ErrorKind.CONNECT
    assert record.first_byte_ns == 0
    assert record.end_ns > 0


@pytest.mark.servers
@on_uvloop
async def test_a_deadline_records_a_timeout_and_drops_the_connection() -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        if n == 1:
            writer.write(STREAM_HEAD + chunked(event(1)))
            await asyncio.sleep(1.0)
            return False
        return await well_formed_stream(reader, writer, n)

    async with serve(stall) as (server, pool):
        late = await send(pool, timeout_s=0.2)
        fine = await send(pool)
    assert late.error_kind is ErrorKind.TIMEOUT
    assert late.chunk_tokens == [1]
    assert fine.ok
    assert server.connections == 2


@pytest.mark.servers
@on_uvloop
async def test_connection_close_from_the_server_is_honoured() -> None:
    async def closing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        body = event(1) + event(2) + event(3, "length") + b"data: [DONE]\n\n"
        head = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
        writer.write(head + body)
        await writer.drain()
        await asyncio.sleep(0.5)  # the client must not wait for the close to finish
        return True

    async with serve(closing) as (server, pool):
        records = [await send(pool) for _ in range(2)]
    assert all(r.ok for r in records), [r.error for r in records]
    assert server.connections == 2


@pytest.mark.servers
@pytest.mark.parametrize("count", [1, 8])
@on_uvloop
async def test_warm_opens_connections_that_requests_then_use(count: int) -> None:
    async with serve(well_formed_stream) as (server, pool):
        await pool.warm(count)
        await asyncio.sleep(0.05)
        opened = server.connections
        records = await asyncio.gather(*(send(pool) for _ in range(count)))
    assert opened == count
    assert all(r.ok for r in records)
    assert server.connections == count


@pytest.mark.parametrize(
    "text", ['{"a": [1, 2.5, "x", null, true]}', ' {"a": 1} ', '{"a": 1}\n', "[]", '"s"', "3"]
)
def test_the_event_decoder_agrees_with_json_loads(text: str) -> None:
    assert decode_event(text) == json.loads(text)


@pytest.mark.parametrize("text", ["", "{", '{"a": 1} x', "nope"])
def test_the_event_decoder_raises_what_json_loads_raises(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        decode_event(text)


@pytest.mark.servers
@on_uvloop
async def test_an_endless_response_header_fails_the_request_instead_of_filling_memory() -> None:
    async def endless_header(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int
    ) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nX-Filler: ")
        for _ in range(64):  # 4 MiB of one header, never ended; the client must stop reading
            if writer.is_closing():
                return False
            writer.write(b"a" * 65536)
            try:
                await writer.drain()
            except ConnectionError:
                return False
        return False

    async with serve(endless_header) as (_, pool):
        record = await send(pool)
    assert record.error_kind is ErrorKind.TRUNCATED
    assert record.error is not None
    assert f"over {MAX_RESPONSE_HEAD} bytes" in record.error


@pytest.mark.servers
@on_uvloop
async def test_a_whole_answer_over_the_body_limit_fails_and_is_not_kept() -> None:
    size = MAX_BODY_BYTES + 1

    async def huge_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        for start in range(0, size, 1 << 20):
            writer.write(b" " * min(1 << 20, size - start))
            await writer.drain()
        return True

    async with serve(huge_body) as (_, pool):
        record = await send(pool, stream=False)
    assert record.error_kind is ErrorKind.OTHER
    assert record.error == f"the answer's body is {size} bytes, over {MAX_BODY_BYTES}"


@pytest.mark.servers
@on_uvloop
async def test_a_stream_line_past_the_parsers_bound_fails_the_record_and_is_not_held() -> None:
    async def endless_line(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int
    ) -> bool:
        writer.write(STREAM_HEAD + chunked(event(1)))
        piece = chunked(b"x" * (1024 * 1024))
        writer.write(chunked(b"data: "))
        for _ in range(MAX_EVENT_BYTES // (1024 * 1024) + 1):
            writer.write(piece)
            await writer.drain()
        writer.write(END)
        return True

    async with serve(endless_line) as (_, pool):
        record = await send(pool)
    assert record.error_kind is ErrorKind.OTHER
    assert record.error == "unreadable stream: a line of over 8,388,608 bytes without its end"
    assert record.chunk_tokens == [1]  # what came before is kept


@pytest.mark.servers
@on_uvloop
async def test_an_event_nested_past_jsons_depth_is_an_unreadable_response() -> None:
    async def deep(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(STREAM_HEAD + chunked(event(1), b"data: " + b"[" * 100_000 + b"\n\n") + END)
        await writer.drain()
        return True

    async with serve(deep) as (_, pool):
        record = await send(pool)
    assert record.error_kind is ErrorKind.OTHER
    assert record.error is not None
    assert record.error.startswith("unreadable response: RecursionError(")
