"""A client that speaks only the shape of TensorRT-LLM's LLM API model (`tensorrt_llm` in Triton),
through the router on real sockets, to backends that speak other shapes: the ground-truth server
(OpenAI completions, native vLLM's API) in its own process, and scripted vLLM and ensemble
backends on Triton's generate API. Its answers hold the text so far in every response and end
whole; a failed attempt leaves nothing in the next backend's answer."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from tests.rollout.router.harness import (
    bare_triton,
    base,
    new_parts,
    perf_times,
    post_sse,
    running_router,
    scripted_triton,
)
from tests.support.groundtruth import GroundTruth, running_groundtruth

pytestmark = pytest.mark.servers  # they start servers (tests/support/tiers.py)

MODEL = "tensorrt_llm"


@pytest.fixture(scope="module")
def groundtruth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GroundTruth]:
    with running_groundtruth(tmp_path_factory.mktemp("gt"), ttft_ms=5, itl_ms=2) as server:
        yield server


def llmapi_body(**extra: Any) -> dict[str, Any]:
    return {"text_input": "hello", "streaming": True, "return_finish_reason": True, **extra}


def capped_completion(max_tokens: int, **extra: Any) -> dict[str, Any]:
    """An OpenAI completions body asking for at most `max_tokens`, streamed."""
    return {"model": "m", "prompt": "hello", "max_tokens": max_tokens, "stream": True, **extra}


def test_a_tensorrt_llm_client_gets_complete_answers_from_native_vllms_api(
    groundtruth: GroundTruth,
) -> None:
    async def go() -> None:
        config = {"backends": [{"name": "gt", "target": groundtruth.target}]}
        async with running_router(config) as router, aiohttp.ClientSession() as session:
            url = f"{base(router)}/v2/models/{MODEL}"
            bodies = [llmapi_body(sampling_param_max_tokens=n) for n in range(1, 17)]
            answers = await asyncio.gather(
                *(post_sse(session, f"{url}/generate_stream", body) for body in bodies)
            )
            for tokens, (status, events) in enumerate(answers, start=1):
                assert status == 200
                assert new_parts(events) == [" tok"] * tokens + [""]  # then the reason, alone
                assert events[-1]["text_output"] == " tok" * tokens
                assert [e["finish_reason"] for e in events] == ["None"] * tokens + ["length"]
                assert all(e["model_name"] == MODEL for e in events)
            # asked for the server's clock, from a backend that has none: left out
            asked = llmapi_body(
                sampling_param_max_tokens=3, sampling_param_return_perf_metrics=True
            )
            status, events = await post_sse(session, f"{url}/generate_stream", asked)
            assert status == 200
            assert not any("arrival_time_ns" in event for event in events)
            # without `streaming`: one response with the whole text, as an event or as the body
            single = {"text_input": "hello", "sampling_param_max_tokens": 5}
            status, events = await post_sse(session, f"{url}/generate_stream", single)
            assert (status, events) == (200, [{**events[0], "text_output": " tok" * 5}])
            status, whole = await post_sse(session, f"{url}/generate", single)
            assert (status, whole[0]["text_output"]) == (200, " tok" * 5)
            assert whole[0]["model_name"] == MODEL
            # the model's defaults: 32 tokens
            status, whole = await post_sse(session, f"{url}/generate", {"text_input": "hi"})
            assert whole[0]["text_output"] == " tok" * 32
            # a field the model does not have: refused in the model's error shape
            status, refused = await post_sse(
                session, f"{url}/generate_stream", llmapi_body(max_tokens=4)
            )
            assert status == 400
            assert "sampling_param_max_tokens" in refused[0]["error"]

    asyncio.run(go())


def test_a_tensorrt_llm_client_through_vllm_and_the_ensemble_on_triton() -> None:
    async def go() -> None:
        async with scripted_triton("vllm") as vllm, scripted_triton("trtllm") as ensemble:
            for backend, model in ((vllm, "vllm_model"), (ensemble, "ensemble")):
                config = {"backends": [{"name": "b", "target": backend.target(model)}]}
                async with running_router(config) as router, aiohttp.ClientSession() as session:
                    url = f"{base(router)}/v2/models/{MODEL}/generate_stream"
                    body = llmapi_body(sampling_param_max_tokens=6, sampling_param_top_k=3)
                    status, events = await post_sse(session, url, body)
                assert status == 200
                assert new_parts(events) == [f" t{i}" for i in range(6)] + [""]
                assert events[-1]["finish_reason"] == "length"
                sent = backend.bodies[-1]
                if backend is vllm:  # the vLLM backend's own fields: at most 6, not exactly
                    assert sent["parameters"] == {"top_k": 3, "max_tokens": 6}
                else:
                    assert (sent["max_tokens"], sent["top_k"]) == (6, 3)
                    assert "min_length" not in sent

    asyncio.run(go())


def test_a_model_name_mapped_to_the_llm_api_and_one_that_is_not() -> None:
    async def go() -> None:
        async with scripted_triton("vllm") as vllm:
            config = {
                "backends": [{"name": "b", "target": vllm.target("vllm_model")}],
                "triton_fronts": {"my_llm": "llmapi", MODEL: "generate"},
            }
            async with running_router(config) as router, aiohttp.ClientSession() as session:
                models = f"{base(router)}/v2/models"
                body = llmapi_body(sampling_param_max_tokens=2)
                status, events = await post_sse(session, f"{models}/my_llm/generate_stream", body)
                assert status == 200
                assert events[-1]["text_output"] == " t0 t1"
                status, refused = await post_sse(session, f"{models}/{MODEL}/generate_stream", body)
                assert status == 400
                assert f"triton_fronts: {{'{MODEL}': llmapi}}" in refused[0]["error"]

    asyncio.run(go())


def test_a_failed_attempt_leaves_nothing_in_the_next_backends_answer() -> None:
    """The first backend's text and its error come in one read, so nothing went to the client
    and the request falls back; the text the failed attempt brought must not lead the answer
    (the LLM API shape repeats all of it in every response), nor its state skip the chat
    answer's first chunk (the one with the role)."""

    async def go() -> None:
        async with (
            bare_triton(fail_after=2, text=" bad") as failing,
            bare_triton(3, text=" ok") as good,
        ):
            config = {
                "backends": [
                    {"name": "failing", "target": failing.target(), "weight": 1},
                    {"name": "good", "target": good.target(), "weight": 0},
                ],
                "health": {"eject_after_failures": 100},
            }
            async with running_router(config) as router, aiohttp.ClientSession() as session:
                url = f"{base(router)}/v2/models/{MODEL}/generate_stream"
                status, events = await post_sse(session, url, llmapi_body())
                assert status == 200
                texts = [e["text_output"] for e in events]
                assert texts == [" ok", " ok ok", " ok ok ok", " ok ok ok"]  # the last: its reason
                chat = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
                status, chunks = await post_sse(
                    session, f"{base(router)}/v1/chat/completions", chat
                )
                assert status == 200
                assert chunks[0]["choices"][0]["delta"] == {"content": " ok", "role": "assistant"}
            assert (failing.streams, good.streams) == (2, 2)

    asyncio.run(go())


def test_an_llm_api_model_as_the_backend_for_clients_of_every_shape() -> None:
    async def go() -> None:
        async with scripted_triton("llmapi") as llmapi:
            config = {"backends": [{"name": "b", "target": llmapi.target(MODEL)}]}
            async with running_router(config) as router, aiohttp.ClientSession() as session:
                url = f"{base(router)}/v2/models/{MODEL}/generate_stream"
                body = llmapi_body(sampling_param_max_tokens=4)
                body["sampling_param_return_perf_metrics"] = True
                status, events = await post_sse(session, url, body)
                assert status == 200
                assert new_parts(events) == [" t0", " t1", " t2", " t3", ""]
                # the backend's own clock, passed through as it sent it
                for position, event in enumerate(events[:4]):
                    assert {k: v for k, v in event.items() if k.endswith("_ns")} == (
                        perf_times(position)
                    )
                assert events[-1]["last_token_time_ns"] == perf_times(3)["last_token_time_ns"]
                sent = llmapi.bodies[-1]
                assert (sent["streaming"], sent["sampling_param_max_tokens"]) == (True, 4)
                # clients of other shapes get each step's new text only
                status, chunks = await post_sse(
                    session, f"{base(router)}/v1/completions", capped_completion(3)
                )
                assert status == 200
                texts = [c["choices"][0]["text"] for c in chunks[:-1] if c["choices"]]
                assert "".join(texts) == " t0 t1 t2"
                assert texts[:3] == [" t0", " t1", " t2"]
                vllm_style = {"text_input": "hi", "parameters": {"max_tokens": 2}, "stream": True}
                status, events = await post_sse(
                    session, f"{base(router)}/v2/models/vllm_model/generate_stream", vllm_style
                )
                assert [e["text_output"] for e in events] == [" t0", " t1"]

    asyncio.run(go())


def test_a_field_one_backend_cannot_carry_is_refused_whichever_backend_is_drawn() -> None:
    """The LLM API model has no input for repetition_penalty (nor min_tokens, nor ignore_eos):
    a request asking for it is refused even when the draw picks the backend that has one, so
    the answer never depends on the draw (and a canary's two sides see the same requests)."""

    async def go() -> None:
        async with scripted_triton("vllm") as vllm, scripted_triton("llmapi") as llmapi:
            config = {
                "backends": [
                    {"name": "vllm", "target": vllm.target("vllm_model"), "weight": 1},
                    {"name": "llmapi", "target": llmapi.target(MODEL), "weight": 0},
                ]
            }
            async with running_router(config) as router, aiohttp.ClientSession() as session:
                assert router.may_refuse == {"repetition_penalty", "min_tokens", "ignore_eos"}
                url = f"{base(router)}/v1/completions"
                asked = capped_completion(2, repetition_penalty=1.2)
                status, refused = await post_sse(session, url, asked)
                assert status == 400
                message = refused[0]["error"]["message"]
                assert "backend llmapi: repetition_penalty=1.2" in message
                assert vllm.bodies == llmapi.bodies == []
                for harmless in ({"repetition_penalty": 1.0}, {"min_tokens": 1}, {}):
                    body = capped_completion(2, **harmless)
                    assert (await post_sse(session, url, body))[0] == 200
                assert len(vllm.bodies) == 3

    asyncio.run(go())
