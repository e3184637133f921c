"""The router's subtlest fallback rule, on a real socket: output taken from a backend but not yet
flushed to the client, then an error in the same read, still falls back. The scripted backend
writes a good event and an error event in one TCP write (with the body's end in the same write,
or later), and the client must get the fallback's answer only."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import aiohttp
import pytest

from tests.rollout.router.harness import (
    base,
    post_sse,
    read_request,
    running_router,
    sample,
    samples,
    scripted_triton,
)

pytestmark = pytest.mark.servers

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
GOOD = {"text_output": " early", "num_output_tokens": 1, "finish_reason": "None"}
ERROR = {"error": "scripted failure in the same read"}


def _chunk(event: dict[str, object]) -> bytes:
    data = b"data: " + json.dumps(event).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


@asynccontextmanager
async def good_then_error(end_later: bool) -> AsyncIterator[int]:
    """A Triton (vLLM dialect) backend that answers a POST with the head, one good event and
    an error event in a single write; the body's end goes in that write too, or 0.2 s later."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await read_request(reader)
                if head.startswith(b"GET "):  # a readiness probe
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                    continue
                both = HEAD + _chunk(GOOD) + _chunk(ERROR)
                writer.write(both if end_later else both + b"0\r\n\r\n")  # one TCP write
                await writer.drain()
                if end_later:
                    await asyncio.sleep(0.2)
                    writer.write(b"0\r\n\r\n")
                    await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        with suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 1)


@pytest.mark.parametrize("end_later", [False, True], ids=["end-in-that-read", "end-later"])
def test_output_and_an_error_in_one_read_still_fall_back(end_later: bool) -> None:
    async def go() -> None:
        async with good_then_error(end_later) as port, scripted_triton("vllm") as b:
            backends = [
                {"name": "a", "target": f"triton-vllm://127.0.0.1:{port}/m", "weight": 1},
                {"name": "b", "target": b.target("m"), "weight": 0},
            ]
            router_context = running_router({"backends": backends})
            async with router_context as router, aiohttp.ClientSession() as s:
                url = f"{base(router)}/v2/models/m/generate_stream"
                status, events = await post_sse(s, url, {"text_input": "hi", "max_tokens": 3})
                found = await samples(s, router)
        assert status == 200
        assert [e.get("text_output") for e in events] == [" t0", " t1", " t2"]  # b's only
        assert not any("error" in e for e in events)
        assert len(b.bodies) == 1
        assert sample(found, "crossfade_router_fallbacks_total", **{"from": "a", "to": "b"}) == 1
        assert sample(found, "crossfade_router_errors_total", backend="a", kind="stream_error") == 1

    asyncio.run(go())
