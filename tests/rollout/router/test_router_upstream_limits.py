"""The router against an upstream that ignores `max_tokens` and one that never finishes, on real
sockets: the stream ends in-band past the output limit, a whole answer gets a clear error, the
whole answer's time is bounded by timeouts.total_s, and each counts against the backend."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

import aiohttp

from crossfade.rollout.router.upstream import output_limit
from tests.rollout.router.harness import admin, base, post_sse, running_router, sample, samples

GUARD_S = 20  # a router that relays forever fails the test here instead of hanging it


@dataclass
class Endless:
    """A Triton (vLLM dialect) server that streams `text` every `every_s` until the reader
    leaves, whatever max_tokens said. GETs (the router's readiness probes) get 200."""

    port: int = 0
    every_s: float = 0.0005
    text: str = " x"
    streams: int = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await self._answer(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the router hung up
        finally:
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        if head.startswith(b"GET "):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            return
        self.streams += 1
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        event = b"data: " + json.dumps({"text_output": self.text}).encode() + b"\n\n"
        chunk = b"%x\r\n%s\r\n" % (len(event), event)
        while True:  # until the router hangs up: drain raises
            writer.write(chunk)
            await writer.drain()
            await asyncio.sleep(self.every_s)

    def target(self) -> str:
        return f"triton-vllm://127.0.0.1:{self.port}/m"


@asynccontextmanager
async def endless_upstream() -> AsyncIterator[Endless]:
    upstream = Endless()
    server = await asyncio.start_server(upstream.serve, "127.0.0.1", 0)
    upstream.port = server.sockets[0].getsockname()[1]
    try:
        yield upstream
    finally:
        server.close()
        with suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 1)


def test_an_upstream_that_ignores_max_tokens_is_stopped_past_the_limit() -> None:
    async def go() -> None:
        async with endless_upstream() as up:
            config = {"backends": [{"name": "a", "target": up.target()}]}
            async with running_router(config) as router, aiohttp.ClientSession() as s:
                url = f"{base(router)}/v2/models/m/generate_stream"
                streamed = post_sse(s, url, {"text_input": "hi", "max_tokens": 5})
                status, events = await asyncio.wait_for(streamed, GUARD_S)
                assert status == 200
                texts = [e["text_output"] for e in events if "text_output" in e]
                assert texts == [" x"] * output_limit(5)
                assert "ignores max_tokens" in events[-1]["error"]
                whole_url = f"{base(router)}/v1/completions"
                whole = post_sse(s, whole_url, {"prompt": "hi", "max_tokens": 3})
                status, answer = await asyncio.wait_for(whole, GUARD_S)
                assert status == 502
                assert "ignores max_tokens" in answer[0]["error"]["message"]
                found = await samples(s, router)
                _, listing = await admin(s, router, "GET", "/admin/backends")
        assert sample(found, "crossfade_router_errors_total", backend="a", kind="other") == 2
        assert listing["backends"][0]["consecutive_failures"] == 2

    asyncio.run(go())


def test_a_whole_answer_that_takes_too_long_ends_at_total_s() -> None:
    async def go() -> None:
        async with endless_upstream() as up:
            up.every_s = 0.02  # output keeps coming (idle_s never fires), far below the limit
            backends = [{"name": "a", "target": up.target()}, {"name": "b", "target": up.target()}]
            config = {"backends": backends, "timeouts": {"total_s": 0.5}}
            async with running_router(config) as router, aiohttp.ClientSession() as s:
                body = {"prompt": "hi", "max_tokens": 100_000}
                whole = post_sse(s, f"{base(router)}/v1/completions", body)
                status, answer = await asyncio.wait_for(whole, GUARD_S)
                assert status == 504
                assert "timeouts.total_s" in answer[0]["error"]["message"]
                streamed = post_sse(s, f"{base(router)}/v1/completions", {**body, "stream": True})
                status, events = await asyncio.wait_for(streamed, GUARD_S)
                assert status == 200
                assert "timeouts.total_s" in events[-1]["error"]["message"]
                assert "[DONE]" not in events
        assert up.streams == 2  # no fallback once the answer's time is spent

    asyncio.run(go())
