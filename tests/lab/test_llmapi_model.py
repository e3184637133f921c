"""The lab's emulated LLM API model (`tensorrt_llm_llmapi`) on a real Triton, through raw HTTP
generate and generate_stream: upstream's wire (cumulative text, the four perf timestamps as
digits, upstream's errors and cancellation), the emulated mark, and the engine emulator's timing
model, whose override file can slow this model alone.
"""

from __future__ import annotations

import itertools
import json
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from tokenizers import Tokenizer

from tests.lab.emulator import emulator_overrides
from tests.lab.http import get_text, post_json, post_sse, sse_events_any_status
from tests.support.lab import LabEndpoints

MODEL = "tensorrt_llm_llmapi"
ENGINE = "tensorrt_llm_emulator"
PROMPT = "The quick brown fox jumps over the lazy dog"
PERF = ("arrival_time_ns", "first_scheduled_time_ns", "first_token_time_ns", "last_token_time_ns")


def _url(lab: LabEndpoints, path: str, model: str = MODEL) -> str:
    return f"{lab.triton_http}/v2/models/{model}/{path}"


def _generate(lab: LabEndpoints, **payload: Any) -> dict[str, Any]:
    status, body = post_json(_url(lab, "generate"), {"text_input": PROMPT, **payload})
    assert status == 200, body
    assert isinstance(body, dict)
    return body


def _stream(lab: LabEndpoints, **payload: Any) -> list[dict[str, Any]]:
    body = {"text_input": PROMPT, "streaming": True, **payload}
    status, events = post_sse(_url(lab, "generate_stream"), body)
    assert status == 200, events
    assert events, "no streamed response"
    assert not [e for e in events if "error" in e], events
    return events


def _stamps(event: dict[str, Any]) -> list[int]:
    values = [event[name] for name in PERF]
    assert all(isinstance(v, str) and v.isdigit() for v in values), values  # upstream's digits
    return [int(v) for v in values]


def _tokens(lab: LabEndpoints, text: str) -> int:
    tokenizer = Tokenizer.from_file(str(Path(lab.model_dir) / "tokenizer.json"))
    return len(tokenizer.encode(text, add_special_tokens=False).ids)


def _parameter(lab: LabEndpoints, model: str, key: str) -> str:
    config = json.loads(get_text(_url(lab, "config", model)))
    value: str = config["parameters"][key]["string_value"]
    return value


def test_generate_returns_text_of_max_tokens_and_the_servers_stamps(lab: LabEndpoints) -> None:
    body = _generate(
        lab, sampling_param_max_tokens=12, sampling_param_return_perf_metrics=True,
        return_finish_reason=True,
    )  # fmt: skip
    assert isinstance(body["text_output"], str)
    assert _tokens(lab, body["text_output"]) == 12  # no EOS drawn: it ran to max_tokens
    assert body["finish_reason"] == "length"
    arrival, scheduled, first, last = _stamps(body)
    assert 0 < arrival <= scheduled <= first <= last
    assert int(body["kv_cache_alloc_total_blocks"]) >= 1
    for name in ("acceptance_rate", "total_draft_tokens", "kv_cache_hit_rate"):
        assert name in body


def test_without_perf_metrics_no_stamps_are_sent(lab: LabEndpoints) -> None:
    body = _generate(lab, sampling_param_max_tokens=3)
    assert not [name for name in PERF if name in body]
    assert "finish_reason" not in body  # only when return_finish_reason asks


def test_the_stream_is_cumulative_text_one_response_per_token(lab: LabEndpoints) -> None:
    n = 20
    events = _stream(
        lab, sampling_param_max_tokens=n, sampling_param_return_perf_metrics=True,
        return_finish_reason=True, sampling_param_seed=5,
    )  # fmt: skip
    assert len(events) == n
    texts = [e["text_output"] for e in events]
    assert all(b.startswith(a) and len(b) > len(a) for a, b in itertools.pairwise(texts))
    assert [_tokens(lab, t) for t in texts] == list(range(1, n + 1))
    assert [e["finish_reason"] for e in events] == ["None"] * (n - 1) + ["length"]
    stamps = [_stamps(e) for e in events]
    assert len({tuple(s[:3]) for s in stamps}) == 1  # arrival, scheduled, first token: fixed
    lasts = [s[3] for s in stamps]
    assert lasts[0] == stamps[0][2]
    assert all(a < b for a, b in itertools.pairwise(lasts))
    # The tokens depend on (seed, prompt, position): the whole answer is the stream's last text.
    whole = _generate(lab, sampling_param_max_tokens=n, sampling_param_seed=5)["text_output"]
    assert whole == texts[-1]


def test_a_stop_string_ends_the_answer_and_is_left_out(lab: LabEndpoints) -> None:
    text = _generate(lab, sampling_param_max_tokens=10, sampling_param_seed=3)["text_output"]
    word = text.split(" ")[4]  # the fourth generated word (the text starts with a space)
    body = _generate(
        lab, sampling_param_max_tokens=10, sampling_param_seed=3, sampling_param_stop=[f" {word}"],
        return_finish_reason=True, return_stop_reason=True,
    )  # fmt: skip
    assert body["finish_reason"] == "stop"
    assert body["stop_reason"] == f" {word}"
    assert text.startswith(body["text_output"])
    assert _tokens(lab, body["text_output"]) < 4


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"sampling_param_max_tokens": 4}, "text_input is missing from the request"),
        (
            {"text_input": "x", "sampling_param_max_tokens": 0},
            "sampling_param_max_tokens must be at least 1",
        ),
        (
            {"text_input": "x", "sampling_param_best_of": 2},
            "the LLM API emulator supports sampling_param_best_of 1 only",
        ),
        (
            {"text_input": "x", "image_url": "http://img"},
            "image_url: not emulated by crossfade's LLM API emulator",
        ),
    ],
)
def test_errors_are_upstreams_in_band_error(
    lab: LabEndpoints, payload: dict[str, Any], message: str
) -> None:
    events = sse_events_any_status(_url(lab, "generate_stream"), {"streaming": True, **payload})
    assert len(events) == 1, events
    assert events[0]["error"] == f"Error generating request: {message}"


def test_a_stop_request_cancels_the_request_with_its_id(lab: LabEndpoints) -> None:
    result: dict[str, Any] = {}

    def long_stream() -> None:
        result["events"] = _stream(
            lab, id="stop-me", sampling_param_max_tokens=20000, return_finish_reason=True
        )

    runner = threading.Thread(target=long_stream)
    runner.start()
    time.sleep(0.5)
    status, body = post_json(
        _url(lab, "generate"), {"id": "stop-me", "text_input": "", "stop": True}
    )
    runner.join(timeout=30)
    assert not runner.is_alive()
    assert status >= 400
    assert body["error"] == "Request cancelled by client"
    events = result["events"]
    assert events[-1]["finish_reason"] == "cancelled"
    assert 1 < len(events) < 20000


def test_marked_emulated_and_on_the_engine_emulators_timing_model(lab: LabEndpoints) -> None:
    assert _parameter(lab, MODEL, "crossfade_emulated") == "true"
    config = json.loads(get_text(_url(lab, "config")))
    assert config["model_transaction_policy"]["decoupled"] is True
    timing = [k for k in config["parameters"] if k.startswith("emulator_")]
    assert len(timing) == 7
    for key in timing:
        assert _parameter(lab, MODEL, key) == _parameter(lab, ENGINE, key), key


def test_metrics_are_tritons_own_and_no_engine_families(lab: LabEndpoints) -> None:
    """Upstream's LLM API model exports no nv_trt_llm_* families (they were the C++
    backend's): Triton's nv_inference_* count its requests."""
    _generate(lab, sampling_param_max_tokens=2)
    page = get_text(lab.triton_metrics).splitlines()
    label = f'model="{MODEL}"'
    assert [
        line for line in page if line.startswith("nv_inference_request_success{") and label in line
    ]
    assert not [line for line in page if line.startswith("nv_trt_llm_") and label in line]


def _median_gap_ms(lab: LabEndpoints, concurrency: int, n: int) -> float:
    def one(i: int) -> list[float]:
        events = _stream(
            lab, text_input=f"{PROMPT} {i}", sampling_param_max_tokens=n,
            sampling_param_return_perf_metrics=True,
        )  # fmt: skip
        lasts = [_stamps(e)[3] for e in events]
        return [(b - a) / 1e6 for a, b in itertools.pairwise(lasts)]

    with ThreadPoolExecutor(concurrency) as pool:
        gaps = [g for result in pool.map(one, range(concurrency)) for g in result]
    assert len(gaps) >= concurrency * (n - 1) * 0.9
    return statistics.median(gaps)


def test_token_gap_follows_the_timing_model(lab: LabEndpoints) -> None:
    step = float(_parameter(lab, MODEL, "emulator_decode_step_ms"))
    per_request = float(_parameter(lab, MODEL, "emulator_decode_step_ms_per_request"))
    alone = _median_gap_ms(lab, 1, 64)
    assert 0.5 * step <= alone <= 3 * step, (alone, step)  # a shared 2-core machine
    together = _median_gap_ms(lab, 8, 256)
    expected = step + 7 * per_request
    assert together > alone + 0.3 * (expected - step), (alone, together, expected)
    assert together <= 3 * expected, (together, expected)


def test_an_override_under_the_models_name_slows_it_alone(lab: LabEndpoints) -> None:
    step = float(_parameter(lab, MODEL, "emulator_decode_step_ms"))
    with emulator_overrides(lab.settings, {MODEL: {"decode_step_ms": step * 8}}):
        slowed = _median_gap_ms(lab, 1, 32)
        status, events = post_sse(
            _url(lab, "generate_stream", "ensemble"),
            {"text_input": PROMPT, "max_tokens": 32, "min_tokens": 32, "end_id": -1,
             "return_perf_metrics": True, "stream": True},
        )  # fmt: skip
    assert status == 200, events
    lasts = [int(e["last_token_time_ns"]) for e in events if "last_token_time_ns" in e]
    engine = statistics.median((b - a) / 1e6 for a, b in itertools.pairwise(lasts))
    assert slowed >= 4 * step, (slowed, step)
    assert engine <= 3 * step, (engine, step)
