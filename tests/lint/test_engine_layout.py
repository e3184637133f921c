"""The one warning a repository of the legacy engine layout gets, and the LLM API model beside
a vLLM engine on the same GPUs."""

from __future__ import annotations

import shutil
from pathlib import Path

from crossfade.findings import Severity
from crossfade.lint.runner import lint_paths
from crossfade.render.triton import render_triton
from crossfade.spec import parse_spec
from tests.support.engine_folders import make_engine
from tests.support.planting import plant

CODE = "trtllm-engine-layout-removed"


def test_one_warning_per_repository_naming_the_last_release_and_image(rendered: Path) -> None:
    repository = rendered / "tensorrtllm"
    [finding] = [f for f in lint_paths([rendered]) if f.code == CODE]  # 4 models, 1 finding
    assert (finding.severity, finding.file, finding.line) == (
        Severity.WARNING,
        str(repository),
        None,
    )
    assert "postprocessing, preprocessing, tensorrt_llm, tensorrt_llm_bls" in finding.message
    assert "after 1.3.0rc20" in finding.message
    assert "26.07-trtllm-python-py3 is the newest Triton image known to ship one" in (
        finding.message
    )
    assert f"--from-repository {repository} && crossfade render triton" in str(finding.hint)
    # The vLLM repository beside it is not of that layout.
    assert lint_paths([rendered / "vllm"]) == []


def test_an_engine_folder_in_a_repository_is_the_engine_layout(tmp_path: Path) -> None:
    repository = tmp_path / "repo"
    model = repository / "custom"
    (model / "1").mkdir(parents=True)
    (model / "config.pbtxt").write_text('name: "custom"\nbackend: "python"\n', encoding="utf-8")
    make_engine(model / "1", name="engine", stamp_gpu="H100")
    [finding] = lint_paths([repository])  # the engine itself is checked too, and is fine
    assert finding.code == CODE
    assert "engine folder(s) custom/1/engine" in finding.message


def test_the_llm_api_model_beside_a_vllm_engine_on_the_same_gpus(tmp_path: Path) -> None:
    spec = """\
model: {name: m, tokenizer: /models/m}
tensorrtllm:
  image: 26.07-trtllm-python-py3
  llm_args: {model: /models/m}
vllm:
  image: 26.07-vllm-python-py3
  engine_args: {model: /models/m}
"""
    out = tmp_path / "repos"
    render_triton(parse_spec(spec)).write(out)
    assert lint_paths([out]) == []
    # A vLLM model left in the LLM API repository (a render without cleanup leaves one).
    vllm_model = out / "tensorrtllm/vllm_model"
    shutil.copytree(out / "vllm/vllm_model", vllm_model)
    plant(vllm_model / "config.pbtxt", 'name: "vllm_model"', 'name: "vllm_model"')
    [finding] = lint_paths([out / "tensorrtllm"])
    assert finding.code == "models-share-gpu"
    assert "'tensorrt_llm' (TensorRT-LLM: weights, then most of the free memory)" in (
        finding.message
    )
