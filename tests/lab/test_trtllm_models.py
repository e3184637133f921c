"""The TensorRT-LLM side of the lab, end to end on a real Triton server: preprocessing, the engine
emulator, postprocessing, the ensemble and the BLS, through the HTTP generate extension.

Token counts come from num_output_tokens (or the number of streamed engine responses), never from
re-tokenizing text, which does not round-trip exactly.
"""

from __future__ import annotations

import itertools
import json
import statistics
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import pytest

from tests.lab.http import get_text, post_json, post_sse, sse_events_any_status

ENGINE = "tensorrt_llm_emulator"
ENTRY_POINTS = ["ensemble", "tensorrt_llm_bls"]
PROMPT = "The quick brown fox jumps over the lazy dog"


class Lab(Protocol):
    triton_http: str
    triton_metrics: str
    model_dir: Path


def _payload(n: int, **extra: Any) -> dict[str, Any]:
    """Exactly n tokens: min_tokens = max_tokens = n and end_id -1 (never stop on EOS)."""
    return {"text_input": PROMPT, "max_tokens": n, "min_tokens": n, "end_id": -1, **extra}


def _generate(lab: Lab, model: str, payload: dict[str, Any]) -> dict[str, Any]:
    status, body = post_json(f"{lab.triton_http}/v2/models/{model}/generate", payload)
    assert status == 200, body
    assert isinstance(body, dict)
    return body


def _stream(lab: Lab, model: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    url = f"{lab.triton_http}/v2/models/{model}/generate_stream"
    status, events = post_sse(url, {**payload, "stream": True})
    assert status == 200, events
    assert events, "no streamed response"
    assert not [e for e in events if "error" in e], events
    return events


def _emulator_parameter(lab: Lab, key: str) -> float:
    """A timing-model parameter, as the running emulator's config has it."""
    config = json.loads(get_text(f"{lab.triton_http}/v2/models/{ENGINE}/config"))
    return float(config["parameters"][f"emulator_{key}"]["string_value"])


def _token_gaps_ms(events: list[dict[str, Any]]) -> list[float]:
    """Gaps between successive tokens, from the emulator's own last_token_time_ns stamps."""
    stamps = [int(e["last_token_time_ns"]) for e in events if "last_token_time_ns" in e]
    return [(b - a) / 1e6 for a, b in itertools.pairwise(stamps)]


@pytest.mark.parametrize("model", ENTRY_POINTS)
def test_generate_returns_exactly_n_tokens(lab: Lab, model: str) -> None:
    body = _generate(lab, model, _payload(12, return_num_output_tokens=True))
    assert isinstance(body["text_output"], str)
    assert body["text_output"]
    assert body["num_output_tokens"] == 12


@pytest.mark.parametrize("model", ENTRY_POINTS)
def test_generate_stream_returns_exactly_n_tokens(lab: Lab, model: str) -> None:
    events = _stream(lab, model, _payload(20, return_num_output_tokens=True))
    assert sum(int(e.get("num_output_tokens", 0)) for e in events) == 20
    assert "".join(e.get("text_output", "") for e in events)
    if model == "ensemble":  # the ensemble passes on one engine response per token
        assert len(events) == 20


def test_bls_stream_joins_to_the_non_streamed_text(lab: Lab) -> None:
    # The emulator's tokens depend on (seed, prompt, position) only, so both runs agree and the
    # BLS (accumulate_tokens) must not lose spaces or split characters between pieces.
    payload = _payload(40, exclude_input_in_output=True, seed=7)
    whole = _generate(lab, "tensorrt_llm_bls", payload)["text_output"]
    assert _generate(lab, "tensorrt_llm_bls", payload)["text_output"] == whole
    pieces = _stream(lab, "tensorrt_llm_bls", payload)
    assert "".join(e.get("text_output", "") for e in pieces) == whole


@pytest.mark.parametrize("model", ENTRY_POINTS)
def test_exclude_input_in_output(lab: Lab, model: str) -> None:
    echoed = _generate(lab, model, _payload(8, exclude_input_in_output=False))["text_output"]
    plain = _generate(lab, model, _payload(8, exclude_input_in_output=True))["text_output"]
    assert echoed.startswith(PROMPT)
    assert echoed.endswith(plain)
    assert not plain.startswith(PROMPT)
    counts = _generate(lab, model, _payload(8, return_num_input_tokens=True))
    assert counts["num_input_tokens"] > 0


@pytest.mark.parametrize("model", ENTRY_POINTS)
def test_missing_max_tokens_is_an_error(lab: Lab, model: str) -> None:
    status, body = post_json(
        f"{lab.triton_http}/v2/models/{model}/generate", {"text_input": PROMPT}
    )
    assert status >= 400
    assert "max_tokens" in body["error"]


def test_bls_stream_without_max_tokens_is_an_error(lab: Lab) -> None:
    # The error may come as an SSE event under 200 or 400, not as a JSON body.
    events = sse_events_any_status(
        f"{lab.triton_http}/v2/models/tensorrt_llm_bls/generate_stream",
        {"text_input": PROMPT, "stream": True},
    )
    errors = [str(e["error"]) for e in events if "error" in e]
    assert errors, events
    assert "max_tokens" in errors[0]


def test_metrics_show_the_emulated_engine(lab: Lab) -> None:
    _generate(lab, "ensemble", _payload(4))
    page = get_text(lab.triton_metrics)
    for family, label, values in (
        ("nv_trt_llm_request_metrics", "request_type", ("active", "max", "waiting")),
        ("nv_trt_llm_kv_cache_block_metrics", "kv_cache_block_type", ("max", "free", "used")),
    ):
        lines = [line for line in page.splitlines() if line.startswith(family + "{")]
        assert lines, f"{family} missing from the metrics page"
        assert all(f'model="{ENGINE}"' in line and 'version="1"' in line for line in lines)
        for value in values:
            assert any(f'{label}="{value}"' in line for line in lines), (family, value)
    kv_max = [
        line
        for line in page.splitlines()
        if "nv_trt_llm_kv_cache_block_metrics{" in line and 'kv_cache_block_type="max"' in line
    ]
    blocks = _emulator_parameter(lab, "kv_cache_tokens") / _emulator_parameter(
        lab, "tokens_per_block"
    )
    assert float(kv_max[0].rsplit(" ", 1)[1]) == blocks


def _median_gap_ms(lab: Lab, concurrency: int, n: int) -> float:
    payload = _payload(n, return_perf_metrics=True)

    def one(i: int) -> list[float]:
        return _token_gaps_ms(_stream(lab, "ensemble", {**payload, "text_input": f"{PROMPT} {i}"}))

    with ThreadPoolExecutor(concurrency) as pool:
        gaps = [g for result in pool.map(one, range(concurrency)) for g in result]
    assert len(gaps) >= concurrency * (n - 1) * 0.9
    return statistics.median(gaps)


def test_token_gap_at_concurrency_1_is_the_decode_step(lab: Lab) -> None:
    step = _emulator_parameter(lab, "decode_step_ms")
    gap = _median_gap_ms(lab, 1, 64)
    # A shared 2-core machine: a generous band around the timing model.
    assert 0.5 * step <= gap <= 3 * step, (gap, step)


def test_step_time_grows_with_concurrency(lab: Lab) -> None:
    step = _emulator_parameter(lab, "decode_step_ms")
    per_request = _emulator_parameter(lab, "decode_step_ms_per_request")
    alone = _median_gap_ms(lab, 1, 64)
    # Long streams, so the eight overlap for most of their life even when a busy machine
    # staggers their start; the bound allows for the ends that do not overlap.
    together = _median_gap_ms(lab, 8, 256)
    expected = step + 7 * per_request  # eight running requests per iteration
    assert together > alone + 0.3 * (expected - step), (alone, together, expected)
    assert together <= 3 * expected, (together, expected)
