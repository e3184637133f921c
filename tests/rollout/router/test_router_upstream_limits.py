"""The router against an upstream that ignores `max_tokens` and one that never finishes, on real
sockets: the stream ends in-band past the output limit, a whole answer gets a clear error, the
whole answer's time is bounded by timeouts.total_s, and each counts against the backend; a
client that stops reading is cut off before its unread answer grows without bound."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager

import aiohttp
import pytest

from crossfade.rollout.router import http_server
from crossfade.rollout.router.upstream import output_limit
from tests.rollout.router.harness import (
    BareTriton,
    admin,
    bare_triton,
    base,
    post_sse,
    running_router,
    sample,
    samples,
)

pytestmark = pytest.mark.servers

GUARD_S = 20  # a router that relays forever fails the test here instead of hanging it


def endless_upstream() -> AbstractAsyncContextManager[BareTriton]:
    """A Triton server that streams until the router hangs up, ignoring max_tokens."""
    return bare_triton(events=None)


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


def test_a_client_that_stops_reading_is_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """An answer that repeats its text so far in every event (the LLM API model's shape) grows
    with the square of its length: a client that stops reading must not make the router keep
    it all. (Plain 4 KB events here: without the bound, the test leaves tens of MB unread.)"""
    monkeypatch.setattr(http_server, "MAX_UNREAD", 1024 * 1024)

    async def go() -> None:
        async with bare_triton(None, every_s=0.0005, text="x" * 4096) as up:
            config = {"backends": [{"name": "endless", "target": up.target()}]}
            async with running_router(config) as router:
                _, writer = await asyncio.open_connection("127.0.0.1", router.data_port)
                body = b'{"text_input": "hi", "max_tokens": 2000000000}'
                writer.write(
                    b"POST /v2/models/m/generate_stream HTTP/1.1\r\nHost: r\r\n"
                    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                    % (len(body), body)
                )  # and never read
                for _ in range(GUARD_S * 20):
                    if router.observations.last_seq:
                        break
                    await asyncio.sleep(0.05)
                _, observed = router.observations.after(0)
                writer.close()
        assert [(o.backend, o.error_kind) for o in observed] == [("endless", "cancelled")]

    asyncio.run(go())
