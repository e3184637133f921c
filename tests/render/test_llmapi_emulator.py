"""The lab's emulated LLM API model: upstream's tensors and a name of its own, marked emulated,
decoupled, the lab spec's timing model, and the batching core the engine emulator runs too."""

from __future__ import annotations

import pytest

from crossfade.render import tensors
from crossfade.render.pbtxt import parse
from crossfade.render.triton import render_triton
from crossfade.render.triton_llmapi import llmapi_config, render_llmapi
from crossfade.render.triton_llmapi_emulator import EMULATED_LLMAPI, render_llmapi_emulator
from crossfade.spec import parse_spec
from crossfade.spec.tensorrtllm import TensorRTLLMApi

ENGINE_SPEC = """\
model: {name: m, tokenizer: /models/m}
tensorrtllm:
  layout: engine
  image: 25.12-trtllm-python-py3
  engine_dir: /models/m
  triton_backend: python
  emulator: {decode_step_ms: 2.5, max_batch_size: 8, seed: 7}
"""
FOLDER = EMULATED_LLMAPI


def test_the_model_is_upstreams_config_with_the_emulated_mark_and_timing() -> None:
    tree = render_llmapi_emulator(parse_spec(ENGINE_SPEC))
    assert sorted(tree.files) == [
        f"{FOLDER}/1/emulated_batching.py",
        f"{FOLDER}/1/model.py",
        f"{FOLDER}/config.pbtxt",
    ]
    config = parse(tree.files[f"{FOLDER}/config.pbtxt"])
    assert (config.name, config.backend) == ("tensorrt_llm_llmapi", "python")
    assert config.model_transaction_policy.decoupled is True
    assert [(i.name, i.data_type) for i in config.input] == [
        (i.name, i.data_type) for i in llmapi_config("x", 1).input
    ]
    assert [o.name for o in config.output] == [t.name for t in tensors.LLMAPI_OUTPUTS]
    parameters = {key: value.string_value for key, value in config.parameters.items()}
    assert parameters["crossfade_emulated"] == "true"
    assert parameters["tokenizer_dir"] == "/models/m"
    assert parameters["emulator_decode_step_ms"] == "2.5"
    assert parameters["emulator_max_batch_size"] == "8"
    assert parameters["emulator_seed"] == "7"


def test_the_real_llmapi_model_keeps_the_same_tensors() -> None:
    """One table for both: the emulated twin never drifts from what crossfade renders for GPUs."""
    real = TensorRTLLMApi(image="26.11-trtllm-python-py3", llm_args={"model": "/m"})
    text = render_llmapi(real).files["tensorrt_llm/config.pbtxt"]
    emulated = render_llmapi_emulator(parse_spec(ENGINE_SPEC)).files[f"{FOLDER}/config.pbtxt"]
    assert parse(text).input == parse(emulated).input
    assert parse(text).output == parse(emulated).output


def test_both_emulators_run_one_batching_core() -> None:
    spec = parse_spec(ENGINE_SPEC)
    engine = render_triton(spec).files
    llmapi = render_llmapi_emulator(spec).files
    core = engine["tensorrtllm/tensorrt_llm_emulator/1/emulated_batching.py"]
    assert llmapi[f"{FOLDER}/1/emulated_batching.py"] == core
    for model in (
        engine["tensorrtllm/tensorrt_llm_emulator/1/model.py"],
        llmapi[f"{FOLDER}/1/model.py"],
    ):
        assert "import emulated_batching as core" in model
        assert "class Engine" not in model  # the scheduler is the core's, not forked


def test_a_spec_without_an_emulator_has_no_emulated_llmapi_model() -> None:
    with pytest.raises(ValueError, match="emulator"):
        render_llmapi_emulator(parse_spec(ENGINE_SPEC.replace("  emulator:", "  # emulator:")))
