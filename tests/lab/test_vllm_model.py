"""The vLLM side of the lab, end to end: crossfade's python-backend model (the vLLM backend's
interface on a real vLLM AsyncLLM) inside a real Triton, through the HTTP generate extension.

The tiny model has random weights, so texts are arbitrary; token counts come from
num_output_tokens, and exact lengths from min_tokens = max_tokens with ignore_eos.
"""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from tests.lab.http import get_text, post_json, post_sse, sse_events_any_status

MODEL = "vllm_model"
PROMPT = "The quick brown fox jumps over the lazy dog"


class Lab(Protocol):
    triton_http: str
    triton_metrics: str
    model_dir: Path


def _exactly(n: int, **extra: Any) -> dict[str, Any]:
    """Sampling parameters for exactly n new tokens."""
    return {"max_tokens": n, "min_tokens": n, "ignore_eos": True, **extra}


def _generate(lab: Lab, payload: dict[str, Any]) -> dict[str, Any]:
    status, body = post_json(f"{lab.triton_http}/v2/models/{MODEL}/generate", payload)
    assert status == 200, body
    assert isinstance(body, dict)
    return body


def _stream(lab: Lab, payload: dict[str, Any]) -> list[dict[str, Any]]:
    url = f"{lab.triton_http}/v2/models/{MODEL}/generate_stream"
    status, events = post_sse(url, {"exclude_input_in_output": True, **payload, "stream": True})
    assert status == 200, events
    assert events, "no streamed response"
    assert not [e for e in events if "error" in e], events
    return events


def _errors(lab: Lab, endpoint: str, payload: dict[str, Any]) -> list[str]:
    """The error messages of a failing request, whether they come as HTTP 4xx or as events."""
    url = f"{lab.triton_http}/v2/models/{MODEL}/{endpoint}"
    if endpoint == "generate":
        status, body = post_json(url, payload)
        assert status >= 400, body
        return [str(body["error"])]
    # The error comes as an SSE event under 200 or 400, not as a JSON body.
    return [str(e["error"]) for e in sse_events_any_status(url, payload) if "error" in e]


def _metric(page: str, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels` (0 if none)."""
    total = 0.0
    for match in re.finditer(rf"^{re.escape(name)}\{{([^}}]*)\}} (\S+)$", page, re.MULTILINE):
        if all(f'{key}="{value}"' in match.group(1) for key, value in labels.items()):
            total += float(match.group(2))
    return total


def _generated_tokens(lab: Lab) -> float:
    page = get_text(lab.triton_metrics)
    return _metric(page, "vllm:generation_tokens_total", model=MODEL, version="1")


def test_generate_echoes_the_prompt_unless_excluded(lab: Lab) -> None:
    greedy = _exactly(8, temperature=0)
    echoed = _generate(lab, {"text_input": PROMPT, "parameters": greedy})["text_output"]
    plain = _generate(
        lab, {"text_input": PROMPT, "exclude_input_in_output": True, "parameters": greedy}
    )["text_output"]
    assert isinstance(plain, str)
    assert plain
    assert not plain.startswith(PROMPT)
    assert echoed == PROMPT + plain  # greedy: both runs generate the same completion


def test_generate_stream_gives_exactly_n_tokens(lab: Lab) -> None:
    flags = {"return_num_output_tokens": True, "return_finish_reason": True}
    events = _stream(lab, {"text_input": PROMPT, **flags, "parameters": _exactly(24)})
    assert sum(int(e["num_output_tokens"]) for e in events) == 24
    assert events[-1]["finish_reason"] == "length"
    assert not "".join(e["text_output"] for e in events).startswith(PROMPT)


def test_sampling_parameters_as_tensor_and_as_request_parameters(lab: Lab) -> None:
    base = {"text_input": PROMPT, "exclude_input_in_output": True, "return_num_output_tokens": True}
    # The tensor form as genai-perf sends it: a JSON string whose values are strings too.
    tensor = json.dumps({"max_tokens": "5", "min_tokens": "5", "ignore_eos": "true"})
    assert _generate(lab, {**base, "sampling_parameters": tensor})["num_output_tokens"] == 5
    assert _generate(lab, {**base, "parameters": _exactly(7)})["num_output_tokens"] == 7


def test_default_max_tokens_is_16(lab: Lab) -> None:
    payload = {
        "text_input": PROMPT,
        "exclude_input_in_output": True,
        "return_num_output_tokens": True,
        "return_num_input_tokens": True,
        "parameters": {"ignore_eos": True},
    }
    body = _generate(lab, payload)
    assert body["num_output_tokens"] == 16
    assert body["num_input_tokens"] > 0


def test_streaming_with_the_prompt_echoed_is_an_error(lab: Lab) -> None:
    payload = {"text_input": PROMPT, "stream": True, "exclude_input_in_output": False}
    errors = _errors(lab, "generate_stream", payload)
    assert errors == ["When streaming, `exclude_input_in_output` = False is not allowed."]


def test_an_unknown_sampling_key_is_named_in_the_error(lab: Lab) -> None:
    payload = {"text_input": PROMPT, "parameters": {"max_tokenz": 5}}
    (error,) = _errors(lab, "generate", payload)
    assert "max_tokenz" in error


def test_concurrent_streams_each_get_their_tokens(lab: Lab) -> None:
    def one(i: int) -> int:
        payload = {
            "text_input": f"{PROMPT} {i}",
            "return_num_output_tokens": True,
            "parameters": _exactly(32 + i),
        }
        return sum(int(e["num_output_tokens"]) for e in _stream(lab, payload))

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(one, range(8))) == [32 + i for i in range(8)]


def test_a_client_disconnect_aborts_the_request(lab: Lab) -> None:
    requested = 1800
    before = _generated_tokens(lab)
    body = json.dumps(
        {
            "text_input": PROMPT,
            "stream": True,
            "exclude_input_in_output": True,
            "parameters": _exactly(requested),
        }
    ).encode()
    url = urllib.parse.urlsplit(lab.triton_http)
    head = (
        f"POST /v2/models/{MODEL}/generate_stream HTTP/1.1\r\nHost: {url.netloc}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection((url.hostname, url.port), timeout=60) as client:
        client.sendall(head.encode() + body)
        received = b""
        while b"data:" not in received:  # the first token has been streamed
            chunk = client.recv(4096)
            assert chunk, received
            received += chunk
    # Once aborted, the count stops growing long before the requested length.
    time.sleep(2)
    settled = _generated_tokens(lab)
    time.sleep(1)
    assert _generated_tokens(lab) == settled
    assert settled - before < requested / 4, (before, settled)


def test_metrics_show_the_vllm_families_and_request_counts(lab: Lab) -> None:
    labels = {"model": MODEL, "version": "1"}
    before = get_text(lab.triton_metrics)
    _generate(lab, {"text_input": PROMPT, "parameters": _exactly(4)})
    page = get_text(lab.triton_metrics)
    for name in ("nv_inference_request_success", "vllm:prompt_tokens_total"):
        assert _metric(page, name, **labels) > _metric(before, name, **labels), name
    assert _metric(page, "vllm:generation_tokens_total", **labels) >= 4 + _metric(
        before, "vllm:generation_tokens_total", **labels
    )
    for family, top in (
        ("vllm:time_to_first_token_seconds", "10"),
        ("vllm:time_per_output_token_seconds", "2.5"),
        ("vllm:e2e_request_latency_seconds", "60"),
        ("vllm:request_prompt_tokens", "2000"),
        ("vllm:request_generation_tokens", "2000"),
        ("vllm:request_params_n", "20"),
    ):
        assert f"# TYPE {family} histogram" in page, family
        assert _metric(page, f"{family}_count", **labels) >= 1, family
        assert _metric(page, f"{family}_bucket", **labels, le=top) >= 1, family
