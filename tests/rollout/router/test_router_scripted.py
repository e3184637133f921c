"""The router against scripted Triton backends (vLLM and TensorRT-LLM dialects) on real sockets:
each backend's payload, fallback before the first byte on in-band errors, 5xx and 429, a 4xx
passed on, a stream cut mid-way, passive ejection and return, and a client that leaves."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from tests.rollout.router.harness import (
    AUTH,
    ScriptedTriton,
    admin,
    base,
    completion,
    post_sse,
    running_router,
    sample,
    samples,
    scripted_triton,
)

pytestmark = pytest.mark.servers


def pair_config(a: ScriptedTriton, b: ScriptedTriton, **extra: Any) -> dict[str, Any]:
    backends = [
        {"name": "a", "target": a.target("vllm_model"), "weight": 1},
        {"name": "b", "target": b.target("ensemble"), "weight": 0},
    ]
    return {"backends": backends, **extra}


def test_each_backend_gets_its_own_dialect_and_the_client_its_own() -> None:
    async def go() -> None:
        async with scripted_triton("vllm") as a, scripted_triton("trtllm") as b:
            router_context = running_router(pair_config(a, b))
            async with router_context as router, aiohttp.ClientSession() as s:
                url = f"{base(router)}/v1/completions"
                exact = completion(5)
                capped = {"prompt": "hi", "max_tokens": 6, "temperature": 0.5, "stream": True}
                for body in (exact, capped):
                    status, events = await post_sse(s, url, body)
                    assert status == 200
                await admin(s, router, "PUT", "/admin/weights", {"weights": {"a": 0, "b": 1}})
                for body in (exact, capped):
                    status, events = await post_sse(s, url, body)
                    assert status == 200
                    usage = events[-2]["usage"] if body is exact else None
                    text = "".join(e["choices"][0]["text"] for e in events[:-1] if e["choices"])
                    assert text == "".join(f" t{i}" for i in range(body["max_tokens"]))
                    if usage:
                        assert (usage["completion_tokens"], usage["prompt_tokens"]) == (5, 3)
                _, observed = router.observations.after(0)
                # the exact length is checked, a cap is not
                assert [o.requested_tokens for o in observed] == [5, None, 5, None]
                assert [o.output_tokens for o in observed] == [5, 6, 5, 6]
        assert a.bodies[0]["parameters"] == {"max_tokens": 5, "min_tokens": 5, "ignore_eos": True}
        assert a.bodies[1]["parameters"] == {"temperature": 0.5, "max_tokens": 6}
        assert (b.bodies[0]["max_tokens"], b.bodies[0]["min_tokens"], b.bodies[0]["end_id"]) == (
            5,
            5,
            -1,
        )
        assert "end_id" not in b.bodies[1]
        assert "min_tokens" not in b.bodies[1]
        assert b.bodies[1]["temperature"] == 0.5
        assert all(body["stream"] is True for body in a.bodies + b.bodies)

    asyncio.run(go())


def test_errors_before_the_first_byte_fall_back_and_a_4xx_is_passed_on() -> None:
    async def go() -> None:
        async with scripted_triton("vllm") as a, scripted_triton("trtllm") as b:
            config = pair_config(a, b, health={"interval_s": 60, "eject_after_failures": 100})
            async with running_router(config) as router, aiohttp.ClientSession() as s:
                url = f"{base(router)}/v2/models/m/generate_stream"
                body = {"text_input": "hi", "max_tokens": 3, "end_id": -1}
                for mode in ("inband_error", "status:503", "status:500", "status:429"):
                    a.mode = mode
                    status, events = await post_sse(s, url, body)
                    assert status == 200, mode
                    assert "".join(e["text_output"] for e in events) == " t0 t1 t2"
                a.mode = "status:400"
                status, events = await post_sse(s, url, body)
                assert status == 400
                assert "scripted 400" in events[0]["error"]  # Triton's error shape
                assert len(b.bodies) == 4  # not retried
                b.mode = "status:503"
                a.mode = "status:502"
                status, events = await post_sse(s, url, body)
                assert status == 502
                assert "a: HTTP 502" in events[0]["error"]
                assert "b: HTTP 503" in events[0]["error"]
                a.mode = "status:429"
                b.mode = "status:429"
                assert (await post_sse(s, url, body))[0] == 429
                found = await samples(s, router)
                _, listing = await admin(s, router, "GET", "/admin/backends")
        fallbacks = sample(found, "crossfade_router_fallbacks_total", **{"from": "a", "to": "b"})
        assert fallbacks == 6
        for kind, count in (("stream_error", 1), ("http_status", 6)):
            assert sample(found, "crossfade_router_errors_total", backend="a", kind=kind) == count
        assert sample(found, "crossfade_router_client_failures_total", reason="rejected") == 1
        assert sample(found, "crossfade_router_client_failures_total", reason="no_backend") == 2
        # a 429 or a 4xx says nothing of health, neither failure nor success: the streak is the
        # in-band error, the 503, the 500 and the 502
        assert listing["backends"][0]["consecutive_failures"] == 4

    asyncio.run(go())


def test_a_stream_cut_after_the_first_byte_fails_in_band_and_is_not_retried() -> None:
    async def go() -> None:
        async with scripted_triton("vllm") as a, scripted_triton("trtllm") as b:
            a.mode = "break:2"
            async with running_router(pair_config(a, b)) as router, aiohttp.ClientSession() as s:
                url = f"{base(router)}/v2/models/m/generate_stream"
                status, events = await post_sse(s, url, {"text_input": "hi", "max_tokens": 5})
                assert status == 200
                assert [e.get("text_output") for e in events[:2]] == [" t0", " t1"]
                assert "a failed mid-stream" in events[-1]["error"]
                status, events = await post_sse(s, f"{base(router)}/v1/completions", completion(5))
                assert "failed mid-stream" in events[-1]["error"]["message"]
                assert "[DONE]" not in events
                found = await samples(s, router)
        assert b.bodies == []
        assert sample(found, "crossfade_router_client_failures_total", reason="midstream") == 2
        assert sample(found, "crossfade_router_errors_total", backend="a", kind="truncated") == 2

    asyncio.run(go())


def test_a_silent_backend_times_out_before_its_first_token_and_after() -> None:
    """Silent before any output: the next backend answers. Silent after some: the client's
    stream fails in-band. Both count against the silent backend."""

    async def go() -> None:
        async with scripted_triton("vllm") as a, scripted_triton("trtllm") as b:
            config = pair_config(a, b, timeouts={"first_token_s": 0.3, "idle_s": 0.3})
            async with running_router(config) as router, aiohttp.ClientSession() as s:
                url = f"{base(router)}/v2/models/m/generate_stream"
                a.mode = "hang:0"
                status, events = await post_sse(s, url, {"text_input": "hi", "max_tokens": 3})
                assert status == 200
                assert "".join(e["text_output"] for e in events) == " t0 t1 t2"  # from b
                a.mode = "hang:2"
                status, events = await post_sse(s, url, {"text_input": "hi", "max_tokens": 5})
                assert [e.get("text_output") for e in events[:2]] == [" t0", " t1"]
                assert (
                    "no more output for 0.3 s (the router's timeouts.idle_s)"
                    in (events[-1]["error"])
                )
                found = await samples(s, router)
                _, listing = await admin(s, router, "GET", "/admin/backends")
        assert len(b.bodies) == 1
        assert sample(found, "crossfade_router_errors_total", backend="a", kind="timeout") == 2
        assert sample(found, "crossfade_router_fallbacks_total", **{"from": "a", "to": "b"}) == 1
        assert listing["backends"][0]["consecutive_failures"] == 2

    asyncio.run(go())


def test_passive_ejection_and_return_after_good_probes() -> None:
    async def go() -> None:
        async with scripted_triton("vllm") as a, scripted_triton("trtllm") as b:
            health = {"interval_s": 0.1, "eject_after_failures": 2, "restore_after_successes": 2}
            config = pair_config(a, b, health=health)
            async with running_router(config) as router, aiohttp.ClientSession() as s:
                url = f"{base(router)}/v1/completions"
                a.mode = "status:503"
                a.ready = True  # ready by its probes, failing its requests
                for _ in range(2):
                    assert (await post_sse(s, url, completion(2)))[0] == 200
                assert not router.state.by_name["a"].health.healthy
                served_by_a = len(a.bodies)
                a.mode = "ok"
                await asyncio.sleep(0.6)  # two good probes bring it back
                assert router.state.by_name["a"].health.healthy
                assert (await post_sse(s, url, completion(2)))[0] == 200
                assert len(a.bodies) == served_by_a + 1
                a.ready = False  # probes alone eject a backend that says it is not ready
                await asyncio.sleep(0.6)
                assert not router.state.by_name["a"].health.healthy
                assert (await post_sse(s, url, completion(2)))[0] == 200
                assert len(a.bodies) == served_by_a + 1  # b took it

    asyncio.run(go())


def test_a_client_that_leaves_cancels_the_backend_request_without_blaming_it() -> None:
    async def go() -> None:
        async with scripted_triton("vllm") as a, scripted_triton("trtllm") as b:
            a.itl_s = 0.05
            async with running_router(pair_config(a, b)) as router, aiohttp.ClientSession() as s:
                url = f"{base(router)}/v1/completions"
                async with s.post(url, json=completion(40)) as response:
                    await response.content.readline()
                    response.close()  # gone after the first chunk
                for _ in range(100):
                    if router.observations.last_seq:
                        break
                    await asyncio.sleep(0.02)
                _, observed = router.observations.after(0)
                found = await samples(s, router)
        assert [(o.backend, o.error_kind) for o in observed] == [("a", "cancelled")]
        assert (
            sample(found, "crossfade_router_requests_total", backend="a", outcome="cancelled") == 1
        )
        assert router.state.by_name["a"].health.consecutive_failures == 0
        assert b.bodies == []

    asyncio.run(go())


def test_bad_requests_are_refused_in_the_clients_api_and_reach_no_backend() -> None:
    async def go() -> None:
        async with scripted_triton("vllm") as a, scripted_triton("trtllm") as b:
            router_context = running_router(pair_config(a, b))
            async with router_context as router, aiohttp.ClientSession() as s:
                root = base(router)
                async with s.post(f"{root}/v1/completions", data=b"{not json") as response:
                    assert response.status == 400
                    assert (await response.json())["error"]["type"] == "invalid_request_error"
                chat = {"messages": [{"role": "user", "content": "x"}], "logit_bias": {"1": 2}}
                status, events = await post_sse(s, f"{root}/v1/chat/completions", chat)
                assert status == 400
                assert "'logit_bias' is not translated" in events[0]["error"]["message"]
                # a wrong type is the client's mistake, not the backend's: refused here
                typed = {"prompt": "x", "temperature": "hot"}
                status, events = await post_sse(s, f"{root}/v1/completions", typed)
                assert (status, "temperature must be a number" in str(events[0])) == (400, True)
                triton = {"text_input": "x", "beam_width": 2}
                status, events = await post_sse(s, f"{root}/v2/models/m/generate", triton)
                assert (status, "beam_width" in events[0]["error"]) == (400, True)
                async with s.get(f"{root}/v2/health/ready") as response:
                    assert response.status == 200
                for name in ("a", "b"):
                    await admin(s, router, "POST", f"/admin/backends/{name}/eject")
                async with s.get(f"{root}/v2/health/ready") as response:
                    assert response.status == 503
                status, events = await post_sse(s, f"{root}/v1/completions", completion(2))
                assert status == 503
                assert "no backend in rotation" in events[0]["error"]["message"]
        assert a.bodies == b.bodies == []

    asyncio.run(go())


def test_a_sticky_field_that_is_not_a_string_or_number_is_refused() -> None:
    async def go() -> None:
        async with scripted_triton("vllm") as a, scripted_triton("trtllm") as b:
            config = pair_config(a, b, sticky={"field": "user"})
            async with running_router(config) as router, aiohttp.ClientSession() as s:
                url = f"{base(router)}/v1/completions"
                status, events = await post_sse(s, url, {"prompt": "x", "user": {"id": [1]}})
                assert status == 400
                assert "user (the sticky key) must be a string or a number" in str(events[0])
                assert (await post_sse(s, url, completion(2, user=7)))[0] == 200
        assert len(a.bodies) == 1

    asyncio.run(go())


def test_the_admin_api_refuses_a_body_nested_too_deep() -> None:
    async def go() -> tuple[int, str]:
        deep = b"[" * 100_000 + b"]" * 100_000
        async with (
            scripted_triton("vllm") as a,
            scripted_triton("trtllm") as b,
            running_router(pair_config(a, b)) as router,
            aiohttp.ClientSession() as s,
        ):
            url = f"http://127.0.0.1:{router.admin_port}/admin/weights"
            async with s.put(url, data=deep, headers=AUTH) as response:
                return response.status, await response.text()

    status, text = asyncio.run(go())
    assert (status, "the body is not JSON" in text) == (400, True)
