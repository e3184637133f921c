"""The router in front of the lab's two Triton backends: clients that know one request shape get
exact answers from both; and a backend killed mid-run.

The lab runs vLLM-on-Triton and the TensorRT-LLM ensemble in ONE tritonserver, without
`--model-control-mode=explicit` (lab/triton_server.py), so neither can be taken away alone and
the session's lab must stay up for the other tests. The failover test therefore kills a backend
of its own: a ground-truth streaming server (its own process) plays the first-priority backend,
the lab's ensemble the other one, and the victim is SIGKILLed while streams are running.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from crossfade.bench.protocol import BenchRequest, ErrorKind, RequestRecord
from crossfade.bench.targets import make_client, parse_target
from crossfade.lab.processes import stop
from crossfade.lab.settings import LabSettings
from crossfade.rollout.router.server import Router
from tests.bench.conftest import free_port, start_groundtruth
from tests.rollout.router.harness import admin, running_router, sample, samples

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


def test_killing_a_backend_mid_run_fails_only_started_streams(lab: Lab, tmp_path: Path) -> None:
    s = lab.settings
    victim = start_groundtruth(tmp_path, free_port(), ttft_ms=5, itl_ms=40)  # ~1 s streams
    config = {
        "backends": [
            {"name": "victim", "target": victim.target, "weight": 1},
            {
                "name": "trtllm-ensemble",
                "target": f"triton-trtllm://{s.host}:{s.http_port}/ensemble",
                "weight": 0,
            },
        ],
        "health": {"interval_s": 0.5, "eject_after_failures": 3, "restore_after_successes": 2},
    }
    records: list[tuple[float, RequestRecord]] = []  # (monotonic start, record)

    async def loop(url: str, until: float) -> None:
        client = make_client(parse_target(url), request_timeout_s=30)
        await client.start()
        try:
            index = 0
            while time.monotonic() < until:
                record = RequestRecord(index, 0, 24, scheduled_ns=0)
                started = time.monotonic()
                await client.send(BenchRequest(index, f"{PROMPT} {index}", 10, 24), record)
                records.append((started, record))
                index += 1
        finally:
            await client.close()

    async def go() -> dict[Any, float]:
        async with running_router(config) as router, aiohttp.ClientSession() as session:
            urls = client_urls(router)
            start = time.monotonic()
            loops = [asyncio.ensure_future(loop(urls[i % 4], start + 5.0)) for i in range(8)]
            await asyncio.sleep(1.5)
            os.killpg(victim.process.pid, signal.SIGKILL)  # mid-run, streams in flight
            killed_at.append(time.monotonic())
            await asyncio.gather(*loops)
            return await samples(session, router)

    killed_at: list[float] = []
    try:
        found = asyncio.run(go())
    finally:
        stop(victim.process, grace_s=1)
    failed = [r for _, r in records if not r.ok]
    not_started = [r for r in failed if not r.chunk_ns]
    assert not_started == []  # zero failures among requests that had not started streaming
    assert failed, "no stream was in flight when the victim died"
    for record in failed:  # reported failed in-band, not silently cut
        assert record.error_kind == ErrorKind.STREAM_ERROR, (record.error_kind, record.error)
        assert "victim failed mid-stream" in (record.error or "")
    after_kill = [r for t, r in records if t > killed_at[0]]
    assert len(after_kill) >= 8
    assert all(r.ok and r.server_output_tokens == 24 for r in after_kill)
    assert sample(found, "crossfade_router_client_failures_total", reason="midstream") == len(
        failed
    )
    assert sample(found, "crossfade_router_backend_healthy", backend="victim") == 0
    served_after = sample(
        found, "crossfade_router_requests_total", backend="trtllm-ensemble", outcome="ok"
    )
    assert served_after >= len(after_kill)
    fallbacks = sample(
        found, "crossfade_router_fallbacks_total", **{"from": "victim", "to": "trtllm-ensemble"}
    )
    print(
        f"router failover: {len(records)} requests, {len(failed)} streams failed mid-stream, "
        f"{len(after_kill)} started after the kill, all served by the ensemble; "
        f"{fallbacks:g} fallbacks"
    )
