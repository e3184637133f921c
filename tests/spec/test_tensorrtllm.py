"""The `tensorrtllm:` section's two layouts: the LLM API model (the default) and the legacy
engine ensemble, chosen by `layout` or, in a spec written before layouts, by `engine_dir`."""

from __future__ import annotations

import pytest

from crossfade.errors import SpecError
from crossfade.spec import parse_spec
from crossfade.spec.tensorrtllm import TensorRTLLMApi, TensorRTLLMEngine

BASE = """\
model: {name: m, tokenizer: /models/m}
tensorrtllm:
  image: 26.11-trtllm-python-py3
"""
LLMAPI = (
    BASE
    + """\
  llm_args:
    model: /models/m
    tensor_parallel_size: 2
    kv_cache_config: {free_gpu_memory_fraction: 0.9}
    max_batch_size: 64
"""
)


def problem(text: str) -> tuple[int | None, str, str, str | None]:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "spec.yaml")
    [found] = caught.value.problems
    return found.line, found.field, found.message, found.hint


def test_the_llm_api_model_is_the_default_layout() -> None:
    trt = parse_spec(LLMAPI).tensorrtllm
    assert isinstance(trt, TensorRTLLMApi)
    assert (trt.layout, trt.triton_model_name, trt.parallel_size) == ("llmapi", "tensorrt_llm", 2)
    assert trt.model_yaml() == {
        "model": "/models/m",
        "tensor_parallel_size": 2,
        "kv_cache_config": {"free_gpu_memory_fraction": 0.9},
        "max_batch_size": 64,
        "triton_config": {"max_batch_size": 0, "decoupled": True},
    }


def test_a_spec_written_before_layouts_keeps_the_engine_layout() -> None:
    trt = parse_spec(BASE + "  engine_dir: /engines/m\n").tensorrtllm
    assert isinstance(trt, TensorRTLLMEngine)
    assert trt.layout_inferred
    said = parse_spec(BASE + "  layout: engine\n  engine_dir: /engines/m\n").tensorrtllm
    assert isinstance(said, TensorRTLLMEngine)
    assert not said.layout_inferred


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("max_batch_size: 64", "max_batch_szie: 64"),
            (8, "tensorrtllm.llm_args.max_batch_szie", "did you mean 'max_batch_size'?"),
        ),
        (
            ("free_gpu_memory_fraction", "free_gpu_mem_fraction"),
            (7, "tensorrtllm.llm_args.kv_cache_config", "did you mean 'free_gpu_memory_fraction'?"),
        ),
        (
            ("max_batch_size: 64", "backend: tensorrt"),
            (8, "tensorrtllm.llm_args.backend", "remove `backend` (pytorch is the default)"),
        ),
        (
            ("max_batch_size: 64", "gpt_model_path: /engines/m"),
            (8, "tensorrtllm.llm_args.gpt_model_path", "the LLM API model loads the Hugging Face"),
        ),
        (
            ("  llm_args:", "  engine_dir: /engines/m\n  llm_args:"),
            (4, "tensorrtllm.engine_dir", "to keep serving an engine, set layout: engine"),
        ),
        (
            ("  llm_args:", "  decoupeld: true\n  llm_args:"),
            (4, "tensorrtllm.decoupeld", "did you mean 'decoupled'?"),
        ),
        (
            ("max_batch_size: 64", "triton_config: {decoupled: true}"),
            (8, "tensorrtllm.llm_args.triton_config", "set tensorrtllm.decoupled"),
        ),
    ],
)
def test_a_bad_llm_api_key_is_located_with_its_fix(
    change: tuple[str, str], expected: tuple[int, str, str]
) -> None:
    line, field, message, hint = problem(LLMAPI.replace(*change))
    assert (line, field) == expected[:2], message
    assert expected[2] in (hint or ""), (message, hint)


def test_a_misspelled_key_of_the_engine_layout_is_suggested_from_that_layout() -> None:
    text = BASE + "  engine_dir: /engines/m\n  triton_max_batch_szie: 3\n"
    assert problem(text)[1:] == (
        "tensorrtllm.triton_max_batch_szie",
        "unknown key",
        "did you mean 'triton_max_batch_size'?",
    )


def test_an_unknown_layout_names_the_two_there_are() -> None:
    line, field, message, _ = problem(LLMAPI.replace("  llm_args:", "  layout: engin\n  llm_args:"))
    assert (line, field) == (2, "tensorrtllm")
    assert "layout must be 'llmapi' (the LLM API model, the default) or 'engine'" in message


def test_instances_need_their_gpus() -> None:
    text = LLMAPI + "  instance_count: 2\n"
    assert "needs gpu_device_ids with one GPU list per instance" in problem(text)[2]
    text += "  gpu_device_ids: [[0], [1]]\n"
    assert "must list tensor_parallel_size x pipeline_parallel_size = 2" in problem(text)[2]
    spec = parse_spec(text.replace("[[0], [1]]", "[[0, 1], [2, 3]]"))
    assert isinstance(spec.tensorrtllm, TensorRTLLMApi)
    assert spec.tensorrtllm.gpu_device_ids == [[0, 1], [2, 3]]
