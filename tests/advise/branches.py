"""One set of facts per branch of the decision flow: (id, facts, leaf, recommendation)."""

from __future__ import annotations

from typing import Any

from crossfade.advise.flow import HIGH_CONCURRENCY
from crossfade.spec.models import SHARED_FORMATS, VLLM_ONLY_FORMATS

# Facts that pass every operational question, so the speed questions decide.
OPEN = {"model_support": "both", "quantization": "none"}
FULL = {**OPEN, "expected_concurrency": 64, "ttft_p99_target_ms": 500.0}
# A team that serves engines today.
ENGINES = {**FULL, "tensorrtllm_runs_engines": True}

BRANCHES: list[tuple[str, dict[str, Any], str, str]] = [
    ("engines, both support the model", ENGINES, "migrate_llmapi", "tensorrtllm"),
    (
        "engines, only TensorRT-LLM supports the model",
        {**ENGINES, "model_support": "tensorrtllm_only"},
        "migrate_llmapi",
        "tensorrtllm",
    ),
    (
        "engines, only vLLM supports the model",
        {**ENGINES, "model_support": "vllm_only"},
        "legacy_to_vllm",
        "vllm",
    ),
    ("only vLLM supports the model", {**FULL, "model_support": "vllm_only"}, "vllm_only", "vllm"),
    (
        "only TensorRT-LLM supports the model",
        {**FULL, "model_support": "tensorrtllm_only"},
        "trtllm_only",
        "tensorrtllm",
    ),
    *(
        (f"{q} checkpoint", {**FULL, "quantization": q}, "vllm_awq_gptq", "vllm")
        for q in VLLM_ONLY_FORMATS
    ),
    *(
        (f"{q} checkpoint, high load", {**FULL, "quantization": q}, "trtllm_latency", "tensorrtllm")
        for q in SHARED_FORMATS
    ),
    (
        "no engines, said so",
        {**FULL, "tensorrtllm_runs_engines": False},
        "trtllm_latency",
        "tensorrtllm",
    ),
    ("low load", {**FULL, "expected_concurrency": 8}, "either_low_load", "either"),
    (
        "just below the threshold",
        {**FULL, "expected_concurrency": HIGH_CONCURRENCY - 1},
        "either_low_load",
        "either",
    ),
    (
        "high load, TTFT target",
        {**OPEN, "expected_concurrency": HIGH_CONCURRENCY, "ttft_p99_target_ms": 300.0},
        "trtllm_latency",
        "tensorrtllm",
    ),
    (
        "high load, ITL target",
        {**OPEN, "expected_concurrency": 128, "itl_p99_target_ms": 40.0},
        "trtllm_latency",
        "tensorrtllm",
    ),
    (
        "high load, no target",
        {**OPEN, "expected_concurrency": 128},
        "either_throughput",
        "either",
    ),
]
