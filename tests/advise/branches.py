"""One set of facts per branch of the decision flow: (id, facts, leaf, recommendation)."""

from __future__ import annotations

from typing import Any

from crossfade.advise.flow import HIGH_CONCURRENCY
from crossfade.spec.models import BUILD_TIME_FORMATS, PREQUANTIZED_FORMATS

# Facts that pass every operational question, so the speed questions decide.
OPEN = {
    "engine_pipeline": True,
    "model_updates": "monthly",
    "gpu_fleet": "uniform",
    "quantization": "none",
}
FULL = {**OPEN, "expected_concurrency": 64, "ttft_p99_target_ms": 500.0}

BRANCHES: list[tuple[str, dict[str, Any], str, str]] = [
    ("no pipeline", {**FULL, "engine_pipeline": False}, "vllm_no_pipeline", "vllm"),
    ("daily updates", {**FULL, "model_updates": "daily"}, "vllm_frequent_updates", "vllm"),
    ("weekly updates", {**FULL, "model_updates": "weekly"}, "vllm_frequent_updates", "vllm"),
    ("mixed fleet", {**FULL, "gpu_fleet": "mixed"}, "vllm_mixed_fleet", "vllm"),
    *(
        (f"{q} checkpoint", {**FULL, "quantization": q}, "vllm_prequantized", "vllm")
        for q in PREQUANTIZED_FORMATS
    ),
    *(
        (f"{q} at build", {**FULL, "quantization": q}, "trtllm_build_quant", "tensorrtllm")
        for q in BUILD_TIME_FORMATS
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
        "trtllm_throughput",
        "tensorrtllm",
    ),
]
