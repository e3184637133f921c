"""The ground-truth server's LLM API wire, over real sockets: the text so far in every response,
no token counts, the stream's clean end, and the server's four perf timestamps on a clock whose
truth the log gives (perf_counter_ns of the server plus a known offset)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from crossfade.bench.calibration import groundtruth_server
from crossfade.bench.groundtruth import prompt_key
from crossfade.bench.groundtruth_llmapi import DEFAULT_SERVER_CLOCK_OFFSET_NS as OFFSET
from crossfade.bench.groundtruth_llmapi import PERF_TIMESTAMPS
from tests.bench.conftest import GroundTruth

MS = 1_000_000
MODEL = "/v2/models/tensorrt_llm"


def flush(address: str) -> list[dict[str, Any]]:
    url = f"http://{address}/groundtruth/flush"
    with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=10) as reply:
        log = Path(json.loads(reply.read())["written"])
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def post(address: str, path: str, body: Any) -> tuple[int, str, bytes]:
    async def go() -> tuple[int, str, bytes]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"http://{address}{MODEL}/{path}", json=body) as response,
        ):
            return response.status, response.headers["Content-Type"], await response.read()

    return asyncio.run(go())


def events(body: bytes) -> list[dict[str, Any]]:
    text = body.decode()
    assert text.endswith("\n\n")
    return [json.loads(e.removeprefix("data: ")) for e in text.split("\n\n") if e]


def asked(tokens: int, streaming: bool = True, perf: bool = True, **more: Any) -> dict[str, Any]:
    return {
        "text_input": "ask",
        "streaming": streaming,
        "sampling_param_max_tokens": tokens,
        "sampling_param_return_perf_metrics": perf,
        **more,
    }


def stamps(event: dict[str, Any]) -> list[int]:
    assert all(isinstance(event[key], str) for key in PERF_TIMESTAMPS)  # upstream's BYTES
    return [int(event[key]) for key in PERF_TIMESTAMPS]


def test_a_stream_carries_the_text_so_far_and_the_servers_clock(groundtruth: GroundTruth) -> None:
    address = f"127.0.0.1:{groundtruth.port}"
    status, kind, body = post(address, "generate_stream", asked(5))
    assert (status, kind) == (200, "text/event-stream")
    responses = events(body)
    assert [r["text_output"] for r in responses] == [" tok" * k for k in range(1, 6)]
    assert all("num_output_tokens" not in r and "finish_reason" not in r for r in responses)
    assert "[DONE]" not in body.decode()  # the body's clean end is the only end marker
    (entry,) = flush(address)
    assert entry["key"] == prompt_key("ask")
    received, sent = entry["received_ns"], entry["sent_ns"]
    for k, response in enumerate(responses):
        # arrival when read; scheduled at once (no --queue-ms); first token and the response's
        # own last token when written: the log's times, plus the offset
        assert stamps(response) == [
            received + OFFSET,
            received + OFFSET,
            sent[0] + OFFSET,
            sent[k] + OFFSET,
        ]
    assert entry["server_times"] == stamps(responses[-1])
    assert sent[0] - received >= groundtruth.ttft_ms * MS


def test_not_streamed_and_without_perf_metrics(groundtruth: GroundTruth) -> None:
    address = f"127.0.0.1:{groundtruth.port}"
    status, kind, body = post(address, "generate", asked(3, streaming=False))
    assert (status, kind) == (200, "application/json")
    whole = json.loads(body)
    assert whole["text_output"] == " tok tok tok"
    (entry,) = flush(address)
    first_due = entry["received_ns"] + groundtruth.ttft_ms * MS
    # its first token stamped when due, its last when the one answer was written
    assert stamps(whole) == [
        entry["received_ns"] + OFFSET,
        entry["received_ns"] + OFFSET,
        first_due + OFFSET,
        entry["sent_ns"][-1] + OFFSET,
    ]
    _, _, body = post(address, "generate_stream", asked(3, streaming=False, perf=False))
    (single,) = events(body)  # generate_stream, not streaming: one response at the end
    assert single == {"model_name": "tensorrt_llm", "model_version": "1", "text_output": " tok" * 3}
    (entry,) = flush(address)
    assert "server_times" not in entry


def test_inputs_the_model_does_not_declare_are_refused_as_triton_does(
    groundtruth: GroundTruth,
) -> None:
    address = f"127.0.0.1:{groundtruth.port}"
    status, _, body = post(address, "generate_stream", asked(3, min_tokens=3))
    assert status == 400
    assert json.loads(body) == {
        "error": "unexpected inference input 'min_tokens' for model 'tensorrt_llm'"
    }
    with urllib.request.urlopen(f"http://{address}{MODEL}", timeout=10) as reply:
        inputs = {tensor["name"] for tensor in json.loads(reply.read())["inputs"]}
    assert {"text_input", "streaming", "sampling_param_return_perf_metrics"} <= inputs
    assert not inputs & {"min_tokens", "ignore_eos"}
    with urllib.request.urlopen(f"http://{address}{MODEL}/config", timeout=10) as reply:
        config = json.loads(reply.read())
    assert (config["max_batch_size"], config["model_transaction_policy"]) == (
        0,
        {"decoupled": True},
    )


@pytest.mark.parametrize(("queue_ms", "scheduled_ms"), [(4.0, 4), (500.0, 20)])
def test_a_modelled_queue_at_most_the_ttft(
    tmp_path: Path, queue_ms: float, scheduled_ms: int
) -> None:
    with groundtruth_server(20, 5, tmp_path / "log.jsonl", queue_ms=queue_ms) as address:
        before = time.perf_counter_ns()
        (response,) = events(post(address, "generate_stream", asked(1))[2])
        (entry,) = flush(address)
    arrival, scheduled, first, _ = stamps(response)
    assert scheduled - arrival == scheduled_ms * MS
    assert first - OFFSET == entry["sent_ns"][0] > arrival - OFFSET > before
