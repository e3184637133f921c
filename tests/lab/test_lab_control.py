"""The lab itself: targets, native vLLM over OpenAI, Triton metrics, failure with a reason."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from crossfade.cli import main
from crossfade.lab.control import down, status, up
from crossfade.lab.readiness import LabStartError
from crossfade.lab.settings import LabSettings
from tests.lab.http import get_text, post_json, post_sse
from tests.support.lab import LabEndpoints

N = 24


def metric_value(text: str, family: str, **labels: str) -> float:
    """Sum of the samples of `family` whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(family + "{") and not line.startswith(family + " "):
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_status_json_lists_every_target(
    lab: LabEndpoints, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lab", "status", "--json", "--dir", str(lab.settings.folder)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["running"] is True
    urls = {t["name"]: t["url"] for t in data["targets"]}
    http, grpc = lab.triton_http.removeprefix("http://"), lab.triton_grpc
    assert urls["vllm-triton"] == f"triton-vllm://{http}/vllm_model"
    assert urls["vllm-triton-grpc"] == f"triton-grpc-vllm://{grpc}/vllm_model"
    assert urls["trtllm-emulated-ensemble"] == f"triton-trtllm://{http}/ensemble"
    assert urls["trtllm-emulated-bls"] == f"triton-trtllm://{http}/tensorrt_llm_bls"
    assert urls["trtllm-emulated-llmapi"] == f"triton-llmapi://{http}/tensorrt_llm_llmapi"
    assert urls["trtllm-emulated-llmapi-grpc"] == f"triton-grpc-llmapi://{grpc}/tensorrt_llm_llmapi"
    assert (
        urls["vllm-native"]
        == f"openai://{lab.vllm_http.removeprefix('http://')}/v1?model=tiny-llama"
    )
    emulated = {t["name"] for t in data["targets"] if t["emulated"]}
    assert emulated == {n for n in urls if n.startswith("trtllm-")}
    assert all(t["metrics_url"].endswith("/metrics") for t in data["targets"])


def test_native_vllm_streams_exact_lengths_over_openai(lab: LabEndpoints) -> None:
    status_code, events = post_sse(
        f"{lab.vllm_http}/v1/completions",
        {
            "model": "tiny-llama",
            "prompt": "Tell me about the lab",
            "max_tokens": N,
            "min_tokens": N,
            "ignore_eos": True,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    )
    assert status_code == 200
    text = "".join(e["choices"][0]["text"] for e in events if e.get("choices"))
    assert text
    usage = [e["usage"] for e in events if e.get("usage")]
    assert usage[-1]["completion_tokens"] == N


def test_triton_metrics_count_requests_and_show_both_families(lab: LabEndpoints) -> None:
    before = get_text(lab.triton_metrics)
    for model, payload in (
        ("vllm_model", {"text_input": "count me", "parameters": {"max_tokens": 4}}),
        ("ensemble", {"text_input": "count me", "max_tokens": 4}),
    ):
        code, body = post_json(f"{lab.triton_http}/v2/models/{model}/generate", payload)
        assert code == 200, body
    # A decoupled model's success is counted when its last response is released, which can
    # come a moment after the client has read the answer: poll, briefly.
    deadline = time.monotonic() + 10
    while True:
        after = get_text(lab.triton_metrics)
        grew = {
            model: metric_value(after, "nv_inference_request_success", model=model)
            - metric_value(before, "nv_inference_request_success", model=model)
            for model in ("vllm_model", "ensemble")
        }
        if all(value >= 1 for value in grew.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert all(value >= 1 for value in grew.values()), grew
    assert re.search(r'^vllm:generation_tokens_total\{[^}]*model="vllm_model"', after, re.M)
    assert re.search(
        r'^nv_trt_llm_request_metrics\{[^}]*model="tensorrt_llm_emulator"', after, re.M
    )


def test_emulated_models_say_so_in_their_config(lab: LabEndpoints) -> None:
    for model in ("tensorrt_llm_emulator", "ensemble", "tensorrt_llm_bls", "tensorrt_llm_llmapi"):
        config = json.loads(get_text(f"{lab.triton_http}/v2/models/{model}/config"))
        assert config["parameters"]["crossfade_emulated"]["string_value"] == "true", model


def test_a_model_error_fails_up_with_tritons_reason(tmp_path: Path) -> None:
    """A value only vLLM can reject (the spec check passes) must surface as Triton's reason."""
    packaged = Path(__file__).resolve().parents[2] / "src/crossfade/lab/crossfade.lab.yaml"
    broken = tmp_path / "broken.lab.yaml"
    broken.write_text(packaged.read_text().replace("dtype: bfloat16", "dtype: bfloat17"))
    settings = LabSettings(
        tmp_path / "lab",
        http_port=18700,
        grpc_port=18701,
        metrics_port=18702,
        vllm_port=18800,
        ready_timeout_s=240,
    )
    with pytest.raises(LabStartError) as caught:
        up(settings, progress=lambda _: None, spec_file=broken)
    message = str(caught.value)
    assert "model 'vllm_model'" in message
    assert "bfloat17" in message
    assert "not ready in time" not in message
    # Everything it started is stopped, and nothing is left recorded.
    assert not settings.state_file.exists()
    assert status(settings).processes == []
    assert down(settings) == []
    assert list(Path("/dev/shm").glob(f"{settings.shm_prefix}*")) == []


def test_server_survives_many_finished_requests(lab: LabEndpoints) -> None:
    """Regression: polling is_cancelled() on a sender after its final response crashed Triton
    (SIGSEGV in TRITONBACKEND_ResponseFactoryIsCancelled)."""
    for _ in range(15):
        for model, length in (
            ("tensorrt_llm_bls", "max_tokens"),
            ("ensemble", "max_tokens"),
            ("tensorrt_llm_llmapi", "sampling_param_max_tokens"),
        ):
            code, body = post_json(
                f"{lab.triton_http}/v2/models/{model}/generate",
                {"text_input": "again", length: 3},
            )
            assert code == 200, body
    assert get_text(f"{lab.triton_http}/v2/health/ready") == ""
    assert lab.status.processes[0].alive()
