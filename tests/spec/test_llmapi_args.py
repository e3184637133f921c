"""`llmapi_args.check`: model.yaml keys against the generated table of LLM() arguments."""

from __future__ import annotations

from typing import Any

import pytest

from crossfade.spec.llmapi_args import check


@pytest.mark.parametrize(
    ("key", "value", "message", "hint"),
    [
        (
            "tensor_paralel_size",
            2,
            "not an LLM API argument",
            "did you mean 'tensor_parallel_size'",
        ),
        ("engine_dir", "/engines/x", "removed TensorRT engine workflow", "checkpoint named by"),
        ("backend", "tensorrt", "1.3.0rc20 was the last", "remove `backend`"),
        ("sampler_type", "TRTLLMSampler", "was removed from LLM()", "remove 'sampler_type'"),
        (
            "scheduler_config",
            {"capacity_schedular_policy": "MAX_UTILIZATION"},
            "scheduler_config: 'capacity_schedular_policy'",
            "did you mean 'capacity_scheduler_policy'",
        ),
        (
            "cuda_graph_config",
            {"batch_size": [1, 2]},
            "cuda_graph_config: 'batch_size'",
            "did you mean 'batch_sizes'",
        ),
        ("kv_cache_config", None, "must be a mapping", None),
        ("kv_cache_config", {"free_gpu_memory_fraction": 1.5}, "must be in (0, 1]", None),
    ],
)
def test_each_problem_has_its_message_and_fix(
    key: str, value: Any, message: str, hint: str | None
) -> None:
    problem = check(key, value)
    assert problem is not None
    assert message in problem[0]
    assert problem[1] == hint if hint is None else hint in (problem[1] or "")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("model", "/models/llama"),
        ("num_serve_frontends", 2),
        ("cuda_graph_config", None),  # turns CUDA graphs off
        ("cuda_graph_config", {"max_num_token": 4096, "mode": "encode"}),
        ("kv_cache_config", {"enable_block_reuse": False, "max_tokens": 8192}),
        ("attention_dp_config", {"enable_balance": True}),
    ],
)
def test_known_arguments_pass(key: str, value: Any) -> None:
    assert check(key, value) is None
