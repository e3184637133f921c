"""The router in front of the ground-truth server's LLM API model (its own process, real
sockets): an OpenAI client's stream relays only the new text of each response (the model sends
the text so far), and sampling the model has no input for is refused with a 400 that says so,
before anything is sent to it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import aiohttp
import pytest

from tests.rollout.router.harness import base, completion, post_sse, running_router
from tests.support.groundtruth import GroundTruth, running_groundtruth

pytestmark = pytest.mark.servers  # they start servers (tests/support/tiers.py)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GroundTruth]:
    with running_groundtruth(tmp_path_factory.mktemp("groundtruth"), ttft_ms=5, itl_ms=2) as server:
        yield server


def config(server: GroundTruth) -> dict[str, object]:
    target = f"triton-llmapi://127.0.0.1:{server.port}/tensorrt_llm"
    return {"backends": [{"name": "llmapi", "target": target}]}


def test_the_text_so_far_reaches_the_client_as_new_text(server: GroundTruth) -> None:
    async def go() -> tuple[int, list[object]]:
        async with running_router(config(server)) as router, aiohttp.ClientSession() as s:
            return await post_sse(s, f"{base(router)}/v1/completions", completion(5))

    status, events = asyncio.run(go())
    assert status == 200
    texts = [e["choices"][0]["text"] for e in events if isinstance(e, dict) and e["choices"]]
    assert "".join(texts) == " tok" * 5  # each response's new part once, not the text so far
    assert events[-1] == "[DONE]"


def test_sampling_the_model_cannot_take_is_refused_clearly(server: GroundTruth) -> None:
    async def go() -> tuple[int, list[object]]:
        async with running_router(config(server)) as router, aiohttp.ClientSession() as s:
            body = completion(5, repetition_penalty=1.3)
            return await post_sse(s, f"{base(router)}/v1/completions", body)

    status, (answer,) = asyncio.run(go())
    assert status == 400
    assert isinstance(answer, dict)
    message = answer["error"]["message"]
    assert "repetition_penalty=1.3: the LLM API model has no repetition_penalty input" in message
