"""`crossfade lint` on the LLM API model: a rendered repository is clean, and every planted
mistake is reported with its file, its line and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossfade.cli import main
from crossfade.findings import Severity
from crossfade.lint.runner import lint_paths
from crossfade.render.triton import render_triton
from crossfade.spec import parse_spec
from tests.support.findings import located
from tests.support.planting import plant

SPEC = """\
model: {name: m, tokenizer: /models/m}
tensorrtllm:
  image: 26.07-trtllm-python-py3
  instance_count: 2
  gpu_device_ids: [[0, 1], [2, 3]]
  llm_args:
    model: /models/m
    tensor_parallel_size: 2
    kv_cache_config: {free_gpu_memory_fraction: 0.85, enable_block_reuse: true}
    max_batch_size: 64
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A rendered LLM API repository (`tensorrtllm/`) with 2 instances of tp 2."""
    out = tmp_path / "repos"
    render_triton(parse_spec(SPEC)).write(out)
    return out / "tensorrtllm"


def test_a_rendered_llm_api_repository_lints_clean(repo: Path) -> None:
    assert lint_paths([repo]) == []
    assert main(["lint", str(repo)]) == 0


def test_every_planted_mistake_in_model_yaml_is_located(repo: Path) -> None:
    model_yaml = repo / "tensorrt_llm/1/model.yaml"
    # Planted top to bottom, the inserted line first, so each line stays where it was planted.
    expected = {
        (
            "llmapi-engine-era-key",
            str(model_yaml),
            plant(model_yaml, "model: /models/m", "model: /models/m\ngpt_model_path: /e") + 1,
        ),
        (
            "llmapi-unknown-arg",
            str(model_yaml),
            plant(model_yaml, "max_batch_size: 64", "max_batch_sise: 64"),
        ),
        (
            "llmapi-unknown-arg",  # a nested config's key, located on its own line
            str(model_yaml),
            plant(model_yaml, "  enable_block_reuse: true", "  enable_block_resue: true"),
        ),
        (
            "stream-not-decoupled",
            str(model_yaml),
            plant(model_yaml, "decoupled: true", "decoupled: false"),
        ),
    }
    findings = lint_paths([repo])
    assert located(findings) == expected
    hints = {f.code: f.hint for f in findings}
    assert "did you mean 'max_batch_size'?" in [f.hint for f in findings]
    assert "did you mean 'enable_block_reuse'?" in [f.hint for f in findings]
    assert "checkpoint named by `model`" in str(hints["llmapi-engine-era-key"])
    stream = next(f for f in findings if f.code == "stream-not-decoupled")
    assert stream.severity is Severity.WARNING
    assert "Streaming is only supported in decoupled mode." in stream.message


def test_backend_tensorrt_names_the_removal_and_the_successor(repo: Path) -> None:
    model_yaml = repo / "tensorrt_llm/1/model.yaml"
    line = plant(
        model_yaml, "tensor_parallel_size: 2", "tensor_parallel_size: 2\nbackend: tensorrt"
    )
    [finding] = lint_paths([repo])
    assert (finding.code, finding.line) == ("llmapi-engine-era-key", line + 1)
    assert "1.3.0rc20 was the last release with it" in finding.message
    assert "remove `backend`" in str(finding.hint)


def test_model_yaml_that_does_not_parse_is_located(repo: Path) -> None:
    model_yaml = repo / "tensorrt_llm/1/model.yaml"
    line = plant(model_yaml, "max_batch_size: 64", "max_batch_size: [64")
    [finding] = lint_paths([repo])
    assert finding.code == "llmapi-model-yaml-invalid"
    assert finding.file == str(model_yaml)
    assert finding.line is not None
    assert finding.line >= line
    assert "Failed to parse YAML engine config" in finding.message


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("triton_config:\n  max_batch_size: 0\n  decoupled: true\n", "", "no triton_config"),
        ("  decoupled: true\n", "", "KeyError: 'decoupled'"),
        ("  max_batch_size: 0\n", "", "KeyError: 'max_batch_size'"),
    ],
)
def test_a_missing_triton_config_key_is_the_keyerror_the_load_fails_with(
    repo: Path, old: str, new: str, message: str
) -> None:
    plant(repo / "tensorrt_llm/1/model.yaml", old, new)
    [finding] = lint_paths([repo])
    assert finding.code == "llmapi-triton-config-missing"
    assert message in finding.message


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("max_batch_size", "max_batch_size: 0\n"),
        ("model_transaction_policy", "model_transaction_policy {\n  decoupled: true\n}\n"),
    ],
)
def test_what_model_yaml_owns_is_an_error_in_config_pbtxt(
    repo: Path, field: str, text: str
) -> None:
    config = repo / "tensorrt_llm/config.pbtxt"
    line = plant(config, 'backend: "python"\n', f'backend: "python"\n{text}') + 1
    [finding] = lint_paths([repo])
    assert (finding.code, finding.file, finding.line) == ("llmapi-set-in-pbtxt", str(config), line)
    assert f"remove {field} from config.pbtxt" in str(finding.hint)


def test_model_files_missing_without_the_note_is_an_error(repo: Path) -> None:
    (repo / "tensorrt_llm/MODEL_FILES.md").unlink()
    [finding] = lint_paths([repo])
    assert (finding.code, finding.file) == (
        "llmapi-model-files-missing",
        str(repo / "tensorrt_llm/1"),
    )
    assert "model.py or helpers.py" in finding.message
    assert "/app/all_models/llmapi/tensorrt_llm/1" in str(finding.hint)
    # With upstream's files in place, nothing is missing.
    for name in ("model.py", "helpers.py"):
        (repo / "tensorrt_llm/1" / name).write_text("# upstream's file\n", encoding="utf-8")
    assert lint_paths([repo]) == []


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('"0,1;2,3"', '"0,1"', "names 1 GPU list(s) for 2 instances"),
        ('"0,1;2,3"', '"0;1"', "gives 1, 1"),
        ('"0,1;2,3"', '"0,1;1,2"', "one GPU to more than one instance"),
        ('"0,1;2,3"', '"0,1;two"', "is not GPU ids"),
    ],
)
def test_gpu_device_ids_against_instances_and_tp(
    repo: Path, old: str, new: str, problem: str
) -> None:
    config = repo / "tensorrt_llm/config.pbtxt"
    line = plant(config, old, new)
    [finding] = lint_paths([repo])
    assert (finding.code, finding.line) == ("llmapi-gpu-device-ids", line)
    assert problem in finding.message


def test_instances_without_gpu_device_ids(repo: Path) -> None:
    config = repo / "tensorrt_llm/config.pbtxt"
    text = config.read_text(encoding="utf-8")
    start = text.index("parameters {")
    config.write_text(text[:start] + text[text.index("}\n}\n", start) + 4 :], encoding="utf-8")
    [finding] = lint_paths([repo])
    assert finding.code == "llmapi-gpu-device-ids"
    assert "2 instances and no gpu_device_ids" in finding.message


def test_the_model_is_recognised_by_its_tensors_when_model_yaml_is_gone(repo: Path) -> None:
    (repo / "tensorrt_llm/1/model.yaml").unlink()
    [finding] = lint_paths([repo])
    assert (finding.code, finding.file) == (
        "llmapi-model-yaml-missing",
        str(repo / "tensorrt_llm/1"),
    )
    assert "LLM_CONFIG_PATH" in str(finding.hint)


def test_lint_a_model_yaml_file(repo: Path, tmp_path: Path) -> None:
    model_yaml = repo / "tensorrt_llm/1/model.yaml"
    plant(model_yaml, "max_batch_size: 64", "max_num_token: 8192")
    config = repo / "tensorrt_llm/config.pbtxt"
    plant(config, '"0,1;2,3"', '"0,1"')
    # Named, it is linted with the model it belongs to (its config.pbtxt too).
    assert {f.code for f in lint_paths([model_yaml])} == {
        "llmapi-unknown-arg",
        "llmapi-gpu-device-ids",
    }
    # On its own: its arguments and triton_config.
    loose = tmp_path / "model.yaml"
    loose.write_text("model: /m\nbackend: tensorrt\ntriton_config: {decoupled: false}\n")
    assert located(lint_paths([loose])) == {
        ("llmapi-engine-era-key", str(loose), 2),
        ("llmapi-triton-config-missing", str(loose), 3),
        ("stream-not-decoupled", str(loose), 3),
    }
