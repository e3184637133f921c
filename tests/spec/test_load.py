"""The spec loader: valid specs load, and every kind of bad input names file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossfade.errors import SpecError
from crossfade.spec import load_spec, parse_spec

MINIMAL = """\
model:
  name: tiny
  tokenizer: /models/tiny
vllm:
  image: 25.12-vllm-python-py3
  engine_args:
    model: /models/tiny
"""


def problems(text: str) -> list[tuple[int | None, str, str, str | None]]:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "spec.yaml")
    return [(p.line, p.field, p.message, p.hint) for p in caught.value.problems]


def test_minimal_spec_loads_with_defaults() -> None:
    spec = parse_spec(MINIMAL)
    assert spec.vllm is not None
    assert spec.tensorrtllm is None
    assert spec.vllm.triton_model_name == "vllm_model"
    assert spec.vllm.report_custom_metrics is True
    assert spec.model.client_name == "tiny"


def test_unknown_key_names_line_field_and_nearest_key() -> None:
    text = MINIMAL.replace("  tokenizer:", "  tokenizer:").replace(
        "vllm:\n", "vllm:\n  report_custom_metric: true\n"
    )
    [(line, field, message, hint)] = problems(text)
    assert (line, field, message) == (5, "vllm.report_custom_metric", "unknown key")
    assert hint == "did you mean 'report_custom_metrics'?"


def test_nested_unknown_key_suggests_from_the_right_model() -> None:
    text = MINIMAL + (
        "tensorrtllm:\n  image: 25.12-trtllm-python-py3\n  engine_dir: /e\n"
        "  instances:\n    preprocesing: 2\n"
    )
    [(line, field, message, hint)] = problems(text)
    assert (line, field, message) == (12, "tensorrtllm.instances.preprocesing", "unknown key")
    assert hint == "did you mean 'preprocessing'?"


def test_wrong_type_names_field_and_value() -> None:
    text = MINIMAL + (
        "tensorrtllm:\n  image: 25.12-trtllm-python-py3\n  engine_dir: /e\n"
        "  triton_max_batch_size: lots\n"
    )
    [(line, field, message, _)] = problems(text)
    assert line == 11
    assert field == "tensorrtllm.triton_max_batch_size"
    assert "integer" in message
    assert "'lots'" in message


def test_bad_yaml_gives_line_not_traceback() -> None:
    [(line, field, message, _)] = problems("model:\n  name: [unclosed\n  tokenizer: x\n")
    assert line == 3
    assert field == ""
    assert message.startswith("invalid YAML")


def test_duplicate_keys_are_reported() -> None:
    text = MINIMAL.replace("  tokenizer: /models/tiny\n", "  tokenizer: /a\n  tokenizer: /b\n")
    [(line, field, message, _)] = problems(text)
    assert (line, field) == (4, "model.tokenizer")
    assert "first at line 3" in message


def test_unknown_vllm_engine_argument_points_at_its_own_line() -> None:
    text = MINIMAL + "    gpu_memory_utilisation: 0.5\n"
    [(line, field, message, hint)] = problems(text)
    assert (line, field) == (8, "vllm.engine_args.gpu_memory_utilisation")
    assert "not a vLLM engine argument" in message
    assert hint == "did you mean 'gpu_memory_utilization'?"


@pytest.mark.parametrize("value", ["0", "1.5", "-0.1"])
def test_gpu_memory_utilization_outside_unit_interval(value: str) -> None:
    [(_, field, message, _)] = problems(MINIMAL + f"    gpu_memory_utilization: {value}\n")
    assert field == "vllm.engine_args.gpu_memory_utilization"
    assert "(0, 1]" in message


def test_max_tokens_in_engine_args_explains_the_16_token_default() -> None:
    [(_, _, _, hint)] = problems(MINIMAL + "    max_tokens: 512\n")
    assert hint is not None
    assert "16" in hint


def test_kind_gpu_with_tensor_parallelism_is_rejected() -> None:
    text = MINIMAL + "    tensor_parallel_size: 2\n  instance_kind: KIND_GPU\n"
    [(_, field, message, _)] = problems(text)
    assert field == "vllm"
    assert "KIND_MODEL" in message


def test_fraction_bounds_on_tensorrtllm() -> None:
    text = MINIMAL + (
        "tensorrtllm:\n  image: 25.12-trtllm-python-py3\n  engine_dir: /e\n"
        "  kv_cache_free_gpu_mem_fraction: 1.2\n"
    )
    [(line, field, _, _)] = problems(text)
    assert (line, field) == (11, "tensorrtllm.kv_cache_free_gpu_mem_fraction")


def test_unknown_tensorrt_llm_parameter_suggests_nearest() -> None:
    text = MINIMAL + (
        "tensorrtllm:\n  image: 25.12-trtllm-python-py3\n  engine_dir: /e\n"
        "  parameters:\n    max_beam_widht: 1\n"
    )
    [(line, field, _, hint)] = problems(text)
    assert (line, field) == (12, "tensorrtllm.parameters.max_beam_widht")
    assert hint == "did you mean 'max_beam_width'?"


def test_image_tag_must_match_backend() -> None:
    text = MINIMAL.replace("25.12-vllm-python-py3", "25.12-trtllm-python-py3")
    [(line, field, message, _)] = problems(text)
    assert (line, field) == (5, "vllm.image")
    assert "vllm" in message


def test_missing_required_key_says_what_to_add() -> None:
    [(line, field, message, hint)] = problems(MINIMAL.replace("  tokenizer: /models/tiny\n", ""))
    assert (line, field, message) == (1, "model.tokenizer", "Field required")
    assert hint == "add 'tokenizer:'"


def test_spec_without_backend_is_rejected() -> None:
    [(_, _, message, _)] = problems("model:\n  name: x\n  tokenizer: /t\n")
    assert "at least one backend" in message


def test_missing_file_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such file"):
        load_spec(tmp_path / "absent.yaml")
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(SpecError, match="empty"):
        load_spec(empty)


def test_error_text_carries_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "crossfade.yaml"
    path.write_text(MINIMAL.replace("name: tiny", "name: tiny\n  nmae: x"), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value).startswith(f"{path}:3: model.nmae: unknown key")
