"""The LLM API model's repository: config.pbtxt through Triton's ModelConfig, model.yaml with the
LLM() arguments and triton_config, and the note of where the model's code comes from."""

from __future__ import annotations

import yaml

from crossfade.render import tensors
from crossfade.render.pbtxt import parse
from crossfade.render.triton import render_triton
from crossfade.render.triton_llmapi import MODEL_FILES_NOTE
from crossfade.spec import parse_spec
from crossfade.spec.llmapi_args import LLM_ARGS, TRITON_CONFIG

SPEC = """\
model: {name: m, tokenizer: /models/m}
tensorrtllm:
  image: 26.11-trtllm-python-py3
  llm_args:
    model: /models/m
    tensor_parallel_size: 2
    kv_cache_config: {free_gpu_memory_fraction: 0.85}
    max_batch_size: 64
  cancellation_check_period_ms: 50
"""


def test_the_repository_is_one_model_with_its_model_yaml_and_note() -> None:
    tree = render_triton(parse_spec(SPEC))
    assert sorted(tree.files) == [
        "tensorrtllm/tensorrt_llm/1/model.yaml",
        f"tensorrtllm/tensorrt_llm/{MODEL_FILES_NOTE}",
        "tensorrtllm/tensorrt_llm/config.pbtxt",
    ]


def test_config_pbtxt_holds_what_upstreams_does_and_nothing_model_yaml_owns() -> None:
    text = render_triton(parse_spec(SPEC)).files["tensorrtllm/tensorrt_llm/config.pbtxt"]
    config = parse(text)
    assert (config.name, config.backend) == ("tensorrt_llm", "python")
    assert config.max_batch_size == 0  # unset: model.yaml's triton_config sets it
    assert not config.HasField("model_transaction_policy")
    assert [(g.count, g.kind) for g in config.instance_group] == [(1, 2)]  # KIND_CPU
    assert [i.name for i in config.input] == [t.name for t in tensors.LLMAPI_INPUTS]
    assert [o.name for o in config.output] == [t.name for t in tensors.LLMAPI_OUTPUTS]
    required = [i.name for i in config.input if not i.optional]
    assert required == ["text_input"]
    assert "max_batch_size" not in text
    assert "decoupled" not in text


def test_model_yaml_is_the_llm_arguments_and_the_triton_config() -> None:
    text = render_triton(parse_spec(SPEC)).files["tensorrtllm/tensorrt_llm/1/model.yaml"]
    data = yaml.safe_load(text)
    assert data.pop(TRITON_CONFIG) == {
        "max_batch_size": 0,
        "decoupled": True,
        "cancellation_check_period_ms": 50,
    }
    assert set(data) <= LLM_ARGS
    assert data["kv_cache_config"] == {"free_gpu_memory_fraction": 0.85}


def test_instances_get_their_gpus_as_the_model_reads_them() -> None:
    spec = parse_spec(SPEC + "  instance_count: 2\n  gpu_device_ids: [[0, 1], [2, 3]]\n")
    config = parse(render_triton(spec).files["tensorrtllm/tensorrt_llm/config.pbtxt"])
    assert config.instance_group[0].count == 2
    assert config.parameters["gpu_device_ids"].string_value == "0,1;2,3"


def test_a_streaming_spec_is_decoupled_and_rendering_is_byte_identical() -> None:
    first = render_triton(parse_spec(SPEC)).files
    assert first == render_triton(parse_spec(SPEC)).files
    quiet = render_triton(parse_spec(SPEC + "  decoupled: false\n")).files
    model_yaml = yaml.safe_load(quiet["tensorrtllm/tensorrt_llm/1/model.yaml"])
    assert model_yaml[TRITON_CONFIG]["decoupled"] is False


def test_the_note_says_where_model_py_and_helpers_py_come_from() -> None:
    note = render_triton(parse_spec(SPEC)).files[f"tensorrtllm/tensorrt_llm/{MODEL_FILES_NOTE}"]
    assert "/app/all_models/llmapi/tensorrt_llm/1" in note
    assert "26.11-trtllm-python-py3" in note
    assert "model.py" in note
    assert "helpers.py" in note
