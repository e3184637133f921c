"""The router in front of the lab's two Triton backends: clients that know one request shape get
exact answers from both; a client of TensorRT-LLM's LLM API model gets vLLM's own greedy text;
and the vLLM engine behind vLLM-on-Triton killed mid-run.

Both models run in one tritonserver. The kill is of the vLLM engine-core process that serves
`vllm_model` (SIGKILL, streams in flight); the ensemble in the same server carries on. Triton
then ends that model's open streams with an in-band error and answers its new requests with
HTTP 400 "EngineCore encountered an issue", while its ready endpoint still says 200. (Killing
the model's python-backend stub instead was tried: Triton left its streams silent, and later
aborted on a shared-memory lock the stub had held, taking the whole server down.) Afterwards the
model is unloaded and loaded again (the lab runs Triton with explicit model control).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import pytest

from crossfade.bench.clients import make_client
from crossfade.bench.protocol import BenchRequest, ErrorKind, RequestRecord
from crossfade.bench.targets import parse_target
from crossfade.lab.settings import LabSettings
from crossfade.rollout.router.server import Router
from tests.lab.http import post_json, post_sse
from tests.rollout.router.harness import admin, base, new_parts, running_router, sample, samples
from tests.rollout.router.harness import post_sse as post_sse_async

N = 16
PROMPT = "The quick brown fox jumps over the lazy dog"


class Lab(Protocol):
    settings: LabSettings


def client_urls(router: Router) -> list[str]:
    """One per request shape: OpenAI completions and chat, Triton generate as a vLLM-backend
    client writes it (parameters, finish reason) and as an ensemble client does (end_id)."""
    address = f"127.0.0.1:{router.data_port}"
    return [
        f"openai://{address}/v1?model=tiny-llama",
        f"openai-chat://{address}/v1?model=tiny-llama",
        f"triton-vllm://{address}/vllm_model",
        f"triton-trtllm://{address}/ensemble",
    ]


async def send(url: str, requests: list[BenchRequest]) -> list[RequestRecord]:
    client = make_client(parse_target(url), request_timeout_s=60)
    await client.start()
    try:
        records = [RequestRecord(r.index, 0, r.output_tokens, scheduled_ns=0) for r in requests]
        for request, record in zip(requests, records, strict=True):
            await client.send(request, record)
        return records
    finally:
        await client.close()


def test_one_request_shape_gets_exact_answers_from_both_triton_backends(lab: Lab) -> None:
    s = lab.settings
    config: dict[str, Any] = {
        "backends": [
            {"name": "vllm-triton", "target": f"triton-vllm://{s.host}:{s.http_port}/vllm_model"},
            {
                "name": "trtllm-ensemble",
                "target": f"triton-trtllm://{s.host}:{s.http_port}/ensemble",
            },
        ]
    }

    async def go() -> None:
        async with running_router(config) as router, aiohttp.ClientSession() as session:
            for backend, weights in (
                ("vllm-triton", {"vllm-triton": 1, "trtllm-ensemble": 0}),
                ("trtllm-ensemble", {"vllm-triton": 0, "trtllm-ensemble": 1}),
            ):
                await admin(session, router, "PUT", "/admin/weights", {"weights": weights})
                first = router.observations.last_seq
                for url in client_urls(router):
                    requests = [
                        BenchRequest(i, f"{PROMPT} {i}", 10, N, stream=i == 0) for i in (0, 1)
                    ]
                    for record in await send(url, requests):
                        assert record.ok, (backend, url, record.error_kind, record.error)
                        assert record.server_output_tokens == N, (backend, url)
                        assert record.output_chars > 0
                _, observed = router.observations.after(first)
                assert Counter(o.backend for o in observed) == {backend: 8}
                assert all(o.ok and o.output_tokens == N for o in observed)
                assert all(len(o.itl_ms) == N - 1 for o in observed)

    asyncio.run(go())


def test_a_tensorrt_llm_client_gets_vllms_own_greedy_text_through_the_router(lab: Lab) -> None:
    """A client that knows only the LLM API model's shape (`tensorrt_llm`: text_input,
    streaming, sampling_param_*, the text so far in each response), routed to vLLM on Triton:
    each answer streams whole and ends with the very text vLLM gives that prompt asked
    directly (greedy decoding is deterministic here: asked twice, the same text)."""
    s = lab.settings
    direct = f"http://{s.host}:{s.http_port}/v2/models/vllm_model/generate"
    tokens = 24
    prompts = [f"{PROMPT} {i}" for i in range(6)]

    def vllm_text(prompt: str) -> str:
        body = {
            "text_input": prompt,
            "exclude_input_in_output": True,
            "return_finish_reason": True,
            "return_num_output_tokens": True,
            "parameters": {"max_tokens": tokens, "temperature": 0},
        }
        status, answer = post_json(direct, body)
        assert status == 200, answer
        # the whole cap: the final "length" below then is vLLM's own reason too
        assert (answer["finish_reason"], answer["num_output_tokens"]) == ("length", tokens)
        return str(answer["text_output"])

    expected = [vllm_text(p) for p in prompts]
    assert expected == [vllm_text(p) for p in prompts]  # deterministic, or nothing to compare
    assert len(set(expected)) > 1  # the prompt matters: no fixed text passes by chance
    target = f"triton-vllm://{s.host}:{s.http_port}/vllm_model"
    config = {"backends": [{"name": "vllm-triton", "target": target}]}

    async def go() -> list[tuple[int, list[Any]]]:
        async with running_router(config) as router, aiohttp.ClientSession() as session:
            url = f"{base(router)}/v2/models/tensorrt_llm/generate_stream"
            bodies = [
                {
                    "text_input": prompt,
                    "streaming": True,
                    "sampling_param_max_tokens": tokens,
                    "sampling_param_temperature": 0.0,
                    "return_finish_reason": True,
                }
                for prompt in prompts
            ]
            return await asyncio.gather(*(post_sse_async(session, url, b) for b in bodies))

    for want, (status, events) in zip(expected, asyncio.run(go()), strict=True):
        assert status == 200, events
        parts = new_parts(events)  # no error event; each response holds the one before
        assert sum(1 for part in parts if part) > 1  # streamed, not one lump
        assert events[-1]["text_output"] == want
        assert events[-1]["finish_reason"] == "length"
        assert all(e["model_name"] == "tensorrt_llm" for e in events)


def engine_processes(settings: LabSettings, model: str) -> list[int]:
    """The pids of the children of `model`'s python-backend stub in the lab's Triton: the vLLM
    engine core."""
    marker = f"/{model}/1/model.py"
    stubs, parents = [], {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            parents[int(entry.name)] = int(
                (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
            )
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        if any(marker in part.decode(errors="replace") for part in command) and any(
            str(settings.repos) in part.decode(errors="replace") for part in command
        ):
            stubs.append(int(entry.name))
    return [pid for pid, parent in parents.items() if parent in stubs]


@pytest.fixture
def vllm_model_reloaded_after(lab: Lab) -> Iterator[None]:
    """Load vllm_model again after the test (its engine was killed), and check it answers."""
    yield
    s = lab.settings
    # Triton still lists the broken model as READY, so a load alone would change nothing: an
    # unload first, then a load, which returns once a new stub and engine are up.
    for action in ("unload", "load"):
        url = f"http://{s.host}:{s.http_port}/v2/repository/models/vllm_model/{action}"
        request = urllib.request.Request(url, b"{}", {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=300) as response:
            assert response.status == 200
    generate = f"http://{s.host}:{s.http_port}/v2/models/vllm_model/generate_stream"
    status, events = post_sse(generate, {"text_input": PROMPT, "stream": True}, timeout=120)
    assert status == 200, events


AFTER_KILL_EACH = 2  # requests each client loop finishes after the kill before it stops


@pytest.mark.usefixtures("vllm_model_reloaded_after")
def test_killing_vllm_on_triton_mid_run_fails_only_started_streams(lab: Lab) -> None:
    s = lab.settings
    triton = f"{s.host}:{s.http_port}"
    config = {
        "backends": [
            {"name": "vllm-triton", "target": f"triton-vllm://{triton}/vllm_model", "weight": 1},
            {
                "name": "trtllm-ensemble",
                "target": f"triton-trtllm://{triton}/ensemble",
                "weight": 0,
            },
        ],
        "health": {"interval_s": 0.5, "eject_after_failures": 3, "restore_after_successes": 2},
        # Should a stream go silent instead of failing, the router gives up after this long.
        "timeouts": {"first_token_s": 5, "idle_s": 3},
    }
    # The tiny model generates faster than the python backend streams: an answer can be wholly
    # generated and only still streaming out, and then it completes whatever the engine does.
    # So: long answers, and the kill as soon as two streams have begun.
    tokens = 1024
    records: list[tuple[float, RequestRecord]] = []  # (monotonic start, record)
    active: list[RequestRecord] = []  # being sent; their chunks arrive as they stream
    killed_at: list[float] = []
    streaming: list[int] = []  # how many streams were midway at the kill

    async def loop(url: str, delay: float, ceiling: float) -> None:
        """Send requests one after another until this loop has finished `AFTER_KILL_EACH`
        requests that began after the kill: a count of events, not a wall-clock span, since
        1024-token answers take from 0.3 s to several seconds on a loaded 2-core runner."""
        client = make_client(parse_target(url), request_timeout_s=30)
        await client.start()
        await asyncio.sleep(delay)  # staggered: some streams are always midway
        try:
            index, done_after_kill = 0, 0
            while done_after_kill < AFTER_KILL_EACH and time.monotonic() < ceiling:
                record = RequestRecord(index, 0, tokens, scheduled_ns=0)
                started = time.monotonic()
                active.append(record)
                await client.send(BenchRequest(index, f"{PROMPT} {index}", 10, tokens), record)
                active.remove(record)
                records.append((started, record))
                done_after_kill += bool(killed_at) and started > killed_at[0]
                index += 1
        finally:
            await client.close()

    async def go() -> dict[Any, float]:
        async with running_router(config) as router, aiohttp.ClientSession() as session:
            urls = client_urls(router)
            start = time.monotonic()
            loops = [
                asyncio.ensure_future(loop(urls[i % 4], i * 0.15, start + 90.0)) for i in range(8)
            ]
            while sum(1 for r in active if r.chunk_ns) < 2:  # streams in flight, some tokens in
                assert time.monotonic() < start + 6, "no stream got going through the router"
                await asyncio.sleep(0.02)
            streaming.append(sum(1 for r in active if r.chunk_ns))
            for pid in victims:  # mid-run, streams in flight
                os.kill(pid, signal.SIGKILL)
            killed_at.append(time.monotonic())
            await asyncio.gather(*loops)
            return await samples(session, router)

    victims = engine_processes(s, "vllm_model")
    assert victims, "found no vLLM engine serving vllm_model"
    found = asyncio.run(go())
    failed = [r for _, r in records if not r.ok]
    not_started = [r for r in failed if not r.chunk_ns]
    assert not_started == []  # zero failures among requests that had not started streaming
    served = {k: v for k, v in found.items() if "requests_total" in str(k)}
    assert failed, f"{streaming[0]} streams midway at the kill, none failed; {served}"
    for record in failed:  # reported failed in-band, not silently cut
        assert record.error_kind == ErrorKind.STREAM_ERROR, (record.error_kind, record.error)
        assert "vllm-triton failed mid-stream" in (record.error or ""), record.error
    after_kill = [r for t, r in records if t > killed_at[0]]
    # Each of the 8 loops stops after AFTER_KILL_EACH such requests; fewer means the ceiling
    # (90 s) was reached first.
    assert len(after_kill) >= 8 * AFTER_KILL_EACH, (len(after_kill), len(records))
    assert all(r.ok and r.server_output_tokens == tokens for r in after_kill)
    midstream = sample(found, "crossfade_router_client_failures_total", reason="midstream")
    assert midstream == len(failed)
    served_after = sample(
        found, "crossfade_router_requests_total", backend="trtllm-ensemble", outcome="ok"
    )
    assert served_after >= len(after_kill)
    fallbacks = sample(
        found,
        "crossfade_router_fallbacks_total",
        **{"from": "vllm-triton", "to": "trtllm-ensemble"},
    )
    print(
        f"router failover: {len(records)} requests, {streaming[0]} streaming at the kill, "
        f"{len(failed)} failed mid-stream, "
        f"{len(after_kill)} started after the kill, all served by the ensemble; "
        f"{fallbacks:g} fallbacks"
    )
