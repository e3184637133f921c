"""Helpers for router tests on real sockets: a router on free ports, admin calls, SSE reading,
Prometheus samples, a scripted Triton backend whose behaviour each test sets, and a bare one on
asyncio streams that answers any POST alike (a few events, or endlessly)."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from crossfade.rollout.router.config import parse_router_config
from crossfade.rollout.router.server import Router

TOKEN = "test-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@asynccontextmanager
async def running_router(config: dict[str, Any], seed: int = 1) -> AsyncIterator[Router]:
    data = {"version": 1, "listen": {"port": 0}, "admin": {"port": 0}, **config}
    router = Router(parse_router_config(data), TOKEN, rng=random.Random(seed))
    await router.start()
    try:
        yield router
    finally:
        await router.stop()


def base(router: Router) -> str:
    return f"http://127.0.0.1:{router.data_port}"


async def admin(
    session: aiohttp.ClientSession,
    router: Router,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    url = f"http://127.0.0.1:{router.admin_port}{path}"
    async with session.request(
        method, url, json=body, headers=AUTH if headers is None else headers
    ) as r:
        return r.status, await r.json()


def new_parts(events: list[Any]) -> list[str]:
    """What a client of the LLM API model reads from its responses (each one's `text_output` is
    the text so far): each one's text beyond the last. Asserts no error and that each holds the
    one before."""
    have, parts = "", []
    for event in events:
        assert "error" not in event, event
        text = event["text_output"]
        assert text.startswith(have), (have, text)
        parts.append(text[len(have) :])
        have = text
    return parts


async def post_sse(
    session: aiohttp.ClientSession, url: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, list[Any]]:
    """(status, each `data:` payload parsed as JSON, or the string "[DONE]")."""
    async with session.post(url, json=body, headers=headers) as response:
        raw = await response.read()
    if not response.content_type.startswith("text/event-stream"):
        return response.status, [json.loads(raw)]
    events: list[Any] = []
    for line in raw.decode().splitlines():
        if line.startswith("data: "):
            data = line[6:]
            events.append(data if data == "[DONE]" else json.loads(data))
    return response.status, events


async def samples(
    session: aiohttp.ClientSession, router: Router
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of /metrics by (sample name, labels)."""
    async with session.get(f"{base(router)}/metrics") as response:
        text = await response.text()
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def sample(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def completion(max_tokens: int = 4, stream: bool = True, **extra: Any) -> dict[str, Any]:
    """An OpenAI completions body asking for exactly `max_tokens` (vLLM's way)."""
    n = max_tokens
    body = {"model": "any", "prompt": "hello", "max_tokens": n, "min_tokens": n}
    body |= {"ignore_eos": True, "stream": stream, **extra}
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body


@dataclass
class ScriptedTriton:
    """An in-process Triton generate_stream server speaking the vLLM or TensorRT-LLM ensemble
    dialect, or the LLM API model's ("llmapi": the text so far in every event, and the perf
    timestamps `perf_times` gives for each position when asked).

    `mode`: "ok", "inband_error" (200 then an error event), "status:N" (an HTTP error),
    "break:K" (K events, then the connection is cut), "hang:K" (K events, then silence with
    the connection left open, as Triton does when a model's stub process is killed). `ready`
    drives its readiness answers.
    """

    dialect: str = "vllm"
    mode: str = "ok"
    ready: bool = True
    itl_s: float = 0.002
    bodies: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0

    async def generate_stream(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.bodies.append(body)
        if self.mode.startswith("status:"):
            status = int(self.mode.split(":")[1])
            return web.json_response({"error": f"scripted {status}"}, status=status)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        if self.mode == "inband_error":
            await response.write(b'data: {"error": "scripted in-band error"}\n\n')
            return response
        limit = int(
            body.get("max_tokens")
            or body.get("parameters", {}).get("max_tokens")
            or body["sampling_param_max_tokens"]
        )
        so_far = ""
        cut = int(self.mode.split(":")[1]) if self.mode.startswith(("break:", "hang:")) else None
        for position in range(limit):
            if cut is not None and position == cut and self.mode.startswith("hang:"):
                await asyncio.sleep(3600)  # cancelled when the router gives up and disconnects
            if cut is not None and position == cut:
                assert request.transport is not None
                request.transport.abort()  # the backend dies mid-stream
                return response
            event: dict[str, Any] = {"text_output": f" t{position}", "num_output_tokens": 1}
            if position == 0:
                event["num_input_tokens"] = 3
            if self.dialect == "llmapi":  # no counts, the text so far
                so_far += f" t{position}"
                event = {"model_name": "tensorrt_llm", "model_version": "1", "text_output": so_far}
                if body.get("sampling_param_return_perf_metrics"):
                    event |= perf_times(position)
            if self.dialect == "vllm":
                event["finish_reason"] = "length" if position == limit - 1 else "None"
            await response.write(f"data: {json.dumps(event)}\n\n".encode())
            await asyncio.sleep(self.itl_s)
        return response

    async def readiness(self, request: web.Request) -> web.Response:
        return web.json_response({}, status=200 if self.ready else 503)

    def target(self, model: str = "m") -> str:
        scheme = {"vllm": "triton-vllm", "llmapi": "triton-llmapi"}.get(self.dialect)
        return f"{scheme or 'triton-trtllm'}://127.0.0.1:{self.port}/{model}"


def perf_times(position: int) -> dict[str, str]:
    """A scripted LLM API model's timestamps at a position, as upstream sends them (digits)."""
    last = 3_000_000 + position * 100_000
    return {
        "arrival_time_ns": "1000000",
        "first_scheduled_time_ns": "2000000",
        "first_token_time_ns": "3000000",
        "last_token_time_ns": str(last),
    }


@asynccontextmanager
async def scripted_triton(dialect: str = "vllm") -> AsyncIterator[ScriptedTriton]:
    server = ScriptedTriton(dialect)
    app = web.Application()
    app.router.add_post("/v2/models/{model}/generate_stream", server.generate_stream)
    app.router.add_get("/v2/health/ready", server.readiness)
    app.router.add_get("/v2/models/{model}/ready", server.readiness)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.port = runner.addresses[0][1]
    try:
        yield server
    finally:
        await runner.cleanup()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """Read one HTTP request (its head and its Content-Length body); the head."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)
    return head


@dataclass
class BareTriton:
    """A Triton (vLLM dialect) server on asyncio streams that answers every POST with `events`
    events of `text`, the last one final, `every_s` apart; `events=None`: endlessly, until the
    reader leaves, whatever max_tokens said; `fail_after=K`: K events and an error event, all in
    one write. GETs (the router's readiness probes) get 200."""

    events: int | None = 2
    every_s: float = 0.0
    text: str = " x"
    port: int = 0
    streams: int = 0
    fail_after: int | None = None

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await self._answer(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the router hung up
        finally:
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await read_request(reader)
        if head.startswith(b"GET "):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            return
        self.streams += 1
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        if self.fail_after is not None:
            event = b'data: {"text_output": %s, "finish_reason": "None"}\n\n'
            data = event % json.dumps(self.text).encode() * self.fail_after
            data += b'data: {"error": "scripted in-band error"}\n\n'
            writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))
            return
        sent = 0
        while self.events is None or sent < self.events:  # endless: until drain raises
            sent += 1
            final = "length" if sent == self.events else "None"
            event = {"text_output": self.text, "finish_reason": final}
            data = b"data: " + json.dumps(event).encode() + b"\n\n"
            writer.write(b"%x\r\n%s\r\n" % (len(data), data))
            await writer.drain()
            await asyncio.sleep(self.every_s)
        writer.write(b"0\r\n\r\n")

    def target(self) -> str:
        return f"triton-vllm://127.0.0.1:{self.port}/m"


@asynccontextmanager
async def bare_triton(events: int | None = 2, **settings: Any) -> AsyncIterator[BareTriton]:
    upstream = BareTriton(events, **settings)
    server = await asyncio.start_server(upstream.serve, "127.0.0.1", 0)
    upstream.port = server.sockets[0].getsockname()[1]
    try:
        yield upstream
    finally:
        server.close()
        with suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 1)
