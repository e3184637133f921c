"""The router on real sockets in front of ground-truth OpenAI servers (their own processes):
weights, sticky sessions, fallback, no retry after the first byte, the admin API, shadow mode and
the metrics; and clients of every shape (the bench's own clients) through it."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from crossfade.bench.clients import make_client
from crossfade.bench.protocol import BenchRequest, RequestRecord
from crossfade.bench.targets import parse_target
from crossfade.lab.processes import stop
from crossfade.rollout.router.server import Router
from tests.rollout.router.harness import (
    admin,
    base,
    completion,
    post_sse,
    running_router,
    sample,
    samples,
)
from tests.support.groundtruth import GroundTruth, start_groundtruth
from tests.support.ports import free_port

pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GroundTruth, GroundTruth]]:
    servers = []
    try:
        for name in ("a", "b"):
            folder = tmp_path_factory.mktemp(name)
            servers.append(start_groundtruth(folder, free_port(), ttft_ms=5, itl_ms=2))
        yield servers[0], servers[1]
    finally:
        for server in servers:
            stop(server.process, grace_s=5)


def backends(a: GroundTruth, b: GroundTruth, wa: float, wb: float) -> list[dict[str, object]]:
    return [
        {"name": "a", "target": a.target, "weight": wa},
        {"name": "b", "target": b.target, "weight": wb},
    ]


def served_by(router: Router) -> Counter[str]:
    _, found = router.observations.after(0)
    return Counter(o.backend for o in found if o.ok and not o.shadow)


def test_weights_split_the_traffic(pair: tuple[GroundTruth, GroundTruth]) -> None:
    async def go() -> None:
        async with running_router({"backends": backends(*pair, 80, 20)}) as router:
            async with aiohttp.ClientSession() as session:
                url = f"{base(router)}/v1/completions"
                for _ in range(10):  # 200 requests, 20 at a time
                    replies = await asyncio.gather(
                        *(post_sse(session, url, completion(2)) for _ in range(20))
                    )
                    assert all(status == 200 for status, _ in replies)
                found = await samples(session, router)
            counts = served_by(router)
            assert counts["a"] + counts["b"] == 200
            assert 23 <= counts["b"] <= 57  # 40 expected; +-3 sd of a binomial(200, 0.2)
            ok_b = sample(found, "crossfade_router_requests_total", backend="b", outcome="ok")
            assert ok_b == counts["b"]

    asyncio.run(go())


def test_sticky_sessions_stay_on_one_backend(pair: tuple[GroundTruth, GroundTruth]) -> None:
    async def go() -> None:
        config = {"backends": backends(*pair, 50, 50), "sticky": {"header": "x-session-id"}}
        async with running_router(config) as router, aiohttp.ClientSession() as session:
            url = f"{base(router)}/v1/completions"
            for session_id in range(20):
                headers = {"x-session-id": f"session-{session_id}"}
                for _ in range(4):
                    status, _ = await post_sse(session, url, completion(2), headers)
                    assert status == 200
            _, found = router.observations.after(0)
            per_session = [found[i : i + 4] for i in range(0, 80, 4)]
            assert all(len({o.backend for o in group}) == 1 for group in per_session)
            assert {group[0].backend for group in per_session} == {"a", "b"}

    asyncio.run(go())


def test_sticky_by_a_body_field(pair: tuple[GroundTruth, GroundTruth]) -> None:
    async def go() -> None:
        config = {"backends": backends(*pair, 50, 50), "sticky": {"field": "user"}}
        async with running_router(config) as router, aiohttp.ClientSession() as session:
            url = f"{base(router)}/v1/completions"
            for user in ("ann", "bob", "cid", "dee", "eve", "fay"):
                for _ in range(3):
                    assert (await post_sse(session, url, completion(2, user=user)))[0] == 200
            _, found = router.observations.after(0)
            assert all(len({o.backend for o in found[i : i + 3]}) == 1 for i in range(0, 18, 3))

    asyncio.run(go())


def test_fallback_past_a_closed_port_fails_no_request(
    pair: tuple[GroundTruth, GroundTruth],
) -> None:
    async def go() -> None:
        dead = f"openai://127.0.0.1:{free_port()}/v1?model=gt"
        config = {
            "backends": [
                {"name": "dead", "target": dead, "weight": 100},
                {"name": "a", "target": pair[0].target, "weight": 0},
            ],
            "health": {"interval_s": 60},  # only the requests' failures eject it here
        }
        async with running_router(config) as router, aiohttp.ClientSession() as session:
            url = f"{base(router)}/v1/completions"
            for stream in (True, False) * 5:
                status, events = await post_sse(session, url, completion(3, stream=stream))
                assert status == 200
                if stream:
                    assert events[-1] == "[DONE]"
                else:
                    assert events[0]["usage"]["completion_tokens"] == 3
            found = await samples(session, router)
            fallbacks = sample(
                found, "crossfade_router_fallbacks_total", **{"from": "dead", "to": "a"}
            )
            assert fallbacks == 3  # until three connect failures ejected it
            assert (
                sample(found, "crossfade_router_errors_total", backend="dead", kind="connect") == 3
            )
            assert sample(found, "crossfade_router_backend_healthy", backend="dead") == 0
            assert (
                sum(
                    v
                    for (name, _), v in found.items()
                    if name == "crossfade_router_client_failures_total"
                )
                == 0
            )
            _, listing = await admin(session, router, "GET", "/admin/backends")
            assert listing["backends"][0]["healthy"] is False
            assert listing["backends"][0]["consecutive_failures"] == 3

    asyncio.run(go())


def test_no_retry_after_the_first_byte(
    tmp_path: Path, pair: tuple[GroundTruth, GroundTruth]
) -> None:
    victim = start_groundtruth(tmp_path, free_port(), ttft_ms=5, itl_ms=50)

    async def go() -> None:
        config = {
            "backends": [
                {"name": "victim", "target": victim.target, "weight": 1},
                {"name": "a", "target": pair[0].target, "weight": 0},
            ],
            "health": {"interval_s": 0.2, "eject_after_failures": 1},
        }
        async with running_router(config) as router, aiohttp.ClientSession() as session:
            url = f"{base(router)}/v1/completions"
            async with session.post(url, json=completion(40)) as response:
                first = await response.content.readline()
                assert first.startswith(b"data: {")
                os.killpg(victim.process.pid, signal.SIGKILL)  # the backend dies mid-stream
                rest = (await response.read()).decode()
            last = [line for line in rest.splitlines() if line.startswith("data: ")][-1]
            assert '"error"' in last
            assert "victim failed mid-stream" in last
            assert "[DONE]" not in rest
            for _ in range(5):  # new requests go to the other backend, none fails
                status, events = await post_sse(session, url, completion(3))
                assert (status, events[-1]) == (200, "[DONE]")
            found = await samples(session, router)
            assert sample(found, "crossfade_router_client_failures_total", reason="midstream") == 1
            assert (
                sample(found, "crossfade_router_errors_total", backend="victim", kind="truncated")
                == 1
            )
            _, observed = router.observations.after(0)
            on_a = [o for o in observed if o.backend == "a"]
            assert len(on_a) == 5  # the broken stream was not sent again
            assert all(o.ok for o in on_a)

    try:
        asyncio.run(go())
    finally:
        stop(victim.process, grace_s=1)


def test_admin_api_needs_the_token_and_its_changes_take_effect(
    pair: tuple[GroundTruth, GroundTruth],
) -> None:
    async def go() -> None:
        async with (
            running_router({"backends": backends(*pair, 100, 0)}) as router,
            aiohttp.ClientSession() as session,
        ):
            for method, path in (
                ("GET", "/admin/backends"),
                ("PUT", "/admin/weights"),
                ("PUT", "/admin/shadow"),
                ("POST", "/admin/backends/a/eject"),
                ("POST", "/admin/backends/a/restore"),
                ("GET", "/admin/observations"),
            ):
                for headers in ({}, {"Authorization": "Bearer wrong"}):
                    status, _ = await admin(session, router, method, path, {}, headers)
                    assert status == 401
            url = f"{base(router)}/v1/completions"
            status, body = await admin(
                session, router, "PUT", "/admin/weights", {"weights": {"c": 1}}
            )
            assert (status, "no backend named 'c'" in body["error"]) == (400, True)
            status, body = await admin(
                session, router, "PUT", "/admin/weights", {"weights": {"a": 0, "b": 5}}
            )
            assert status == 200
            assert [b["weight"] for b in body["backends"]] == [0, 5]
            for _ in range(10):
                await post_sse(session, url, completion(2))
            assert served_by(router) == {"b": 10}
            status, body = await admin(session, router, "POST", "/admin/backends/b/eject")
            assert [b["ejected"] for b in body["backends"]] == [False, True]
            for _ in range(5):
                await post_sse(session, url, completion(2))
            assert served_by(router) == {"b": 10, "a": 5}  # a: weight 0, but the only one
            await admin(session, router, "POST", "/admin/backends/b/restore")
            await post_sse(session, url, completion(2))
            assert served_by(router)["b"] == 11
            status, page = await admin(session, router, "GET", "/admin/observations?after=14")
            assert (status, page["next"], [o["seq"] for o in page["observations"]]) == (
                200,
                16,
                [15, 16],
            )
            keys = set(page["observations"][0])
            assert keys == {
                    "seq", "backend", "shadow", "ok", "error_kind", "ttft_ms", "itl_ms",
                    "output_tokens", "requested_tokens", "end_unix", "tpot_ms",
                }  # fmt: skip
            first = page["observations"][0]
            assert len(first["itl_ms"]) == 1  # 2 tokens: one ITL
            # and one TPOT: (end - first token) / 1, the end being [DONE], at or after token 2
            assert first["tpot_ms"] >= first["itl_ms"][0] > 0
            status, _ = await admin(session, router, "GET", "/admin/observations?after=x")
            assert status == 400

    asyncio.run(go())


def test_shadow_mirrors_discards_and_records_both(pair: tuple[GroundTruth, GroundTruth]) -> None:
    async def go() -> None:
        config = {"backends": backends(*pair, 1, 0), "shadow": {"backend": "b", "share": 1.0}}
        async with running_router(config) as router, aiohttp.ClientSession() as session:
            url = f"{base(router)}/v1/completions"
            for _ in range(5):
                status, events = await post_sse(session, url, completion(3))
                assert status == 200
                assert len([e for e in events if e != "[DONE]" and e["choices"]]) == 4  # 3 + end
            for _ in range(100):  # the mirrors finish on their own
                if router.shadows.in_flight == 0:
                    break
                await asyncio.sleep(0.02)
            _, observed = router.observations.after(0)
            assert Counter((o.backend, o.shadow) for o in observed) == {
                ("a", False): 5,
                ("b", True): 5,
            }
            assert all(o.ok and o.output_tokens == 3 for o in observed)
            status, page = await admin(session, router, "GET", "/admin/shadow/comparisons")
            assert status == 200
            assert len(page["comparisons"]) == 5
            first = page["comparisons"][0]
            assert (first["primary"]["backend"], first["shadow"]["backend"]) == ("a", "b")
            assert first["same_text"] is True
            assert first["shadow"]["ttft_ms"] > 0
            await admin(session, router, "PUT", "/admin/shadow", {"backend": None})
            await post_sse(session, url, completion(3))
            assert router.observations.last_seq == 11  # one more, not mirrored

    asyncio.run(go())


def test_metrics_expose_every_series(pair: tuple[GroundTruth, GroundTruth]) -> None:
    async def go() -> None:
        async with (
            running_router({"backends": backends(*pair, 1, 0)}) as router,
            aiohttp.ClientSession() as session,
        ):
            for _ in range(3):
                await post_sse(session, f"{base(router)}/v1/completions", completion(5))
            found = await samples(session, router)
        assert sample(found, "crossfade_router_requests_total", backend="a", outcome="ok") == 3
        assert sample(found, "crossfade_router_ttft_seconds_count", backend="a") == 3
        assert sample(found, "crossfade_router_itl_seconds_count", backend="a") == 12  # 3 x 4
        itl_sum = sample(found, "crossfade_router_itl_seconds_sum", backend="a")
        assert 3 * 4 * 0.0015 < itl_sum < 3 * 4 * 0.05  # the server's 2 ms, seen at the router
        assert sample(found, "crossfade_router_backend_weight", backend="a") == 1
        assert sample(found, "crossfade_router_backend_weight", backend="b") == 0
        assert sample(found, "crossfade_router_backend_healthy", backend="b") == 1
        names = {name for name, _ in found}
        assert {
            "crossfade_router_ttft_seconds_bucket",
            "crossfade_router_itl_seconds_bucket",
        } <= names

    asyncio.run(go())


def test_clients_of_every_shape_get_exact_lengths(pair: tuple[GroundTruth, GroundTruth]) -> None:
    """The bench's own clients, pointed at the router, verify lengths by the counts it returns."""

    async def go() -> None:
        async with running_router({"backends": backends(*pair, 1, 1)}) as router:
            address = f"127.0.0.1:{router.data_port}"
            for url in (
                f"openai://{address}/v1?model=any",
                f"openai-chat://{address}/v1?model=any",
                f"triton-vllm://{address}/vllm_model",
                f"triton-trtllm://{address}/ensemble",
            ):
                client = make_client(parse_target(url))
                await client.start()
                try:
                    for stream in (True, False):
                        request = BenchRequest(0, "hello", 1, 7, stream=stream)
                        record = RequestRecord(0, 1, 7, scheduled_ns=0)
                        await client.send(request, record)
                        assert record.ok, (url, stream, record.error)
                        assert record.server_output_tokens == 7, (url, stream)
                finally:
                    await client.close()

    asyncio.run(go())
