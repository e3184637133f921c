"""Two models of one repository that would each load an engine onto the same GPUs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from crossfade.findings import Finding
from crossfade.lint.runner import lint_paths
from tests.support.planting import plant


def gpu_findings(path: Path) -> list[Finding]:
    return [f for f in lint_paths([path]) if f.code == "models-share-gpu"]


def copy_model(repository: Path, source: str, name: str) -> Path:
    """A second model folder, as a rename followed by a render without cleanup leaves one."""
    target = repository / name
    shutil.copytree(repository / source, target)
    plant(target / "config.pbtxt", f'name: "{source}"', f'name: "{name}"')
    return target


def set_utilization(model: Path, share: float) -> None:
    path = model / "1/model.json"
    args = json.loads(path.read_text(encoding="utf-8"))
    args["gpu_memory_utilization"] = share
    path.write_text(json.dumps(args, indent=2), encoding="utf-8")


def test_two_vllm_engines_reserving_more_than_the_gpu(rendered: Path) -> None:
    repository = rendered / "vllm"
    copy_model(repository, "ensemble", "llama")
    (finding,) = gpu_findings(rendered)
    assert finding.severity == "error"
    assert finding.file == str(repository / "llama/config.pbtxt")
    assert "'ensemble' (vLLM: 0.90 of each GPU) and 'llama' (vLLM: 0.90 of each GPU)" in (
        finding.message
    )
    assert "together they reserve 1.80 of each GPU" in finding.message
    assert "remove the stale one of 'ensemble' or 'llama'" in str(finding.hint)
    # Linting one of them names the pair too; shares that fit beside each other are fine.
    assert gpu_findings(repository / "ensemble") == [finding]
    set_utilization(repository / "ensemble", 0.45)
    set_utilization(repository / "llama", 0.45)
    assert gpu_findings(rendered) == []


def test_vllm_beside_a_tensorrt_llm_engine(rendered: Path) -> None:
    vllm = rendered / "vllm/ensemble"
    shutil.copytree(vllm, rendered / "tensorrtllm/vllm_model")
    plant(
        rendered / "tensorrtllm/vllm_model/config.pbtxt", 'name: "ensemble"', 'name: "vllm_model"'
    )
    set_utilization(rendered / "tensorrtllm/vllm_model", 0.2)
    (finding,) = gpu_findings(rendered / "tensorrtllm")
    assert "'tensorrt_llm' (TensorRT-LLM: weights, then most of the free memory)" in (
        finding.message
    )
    assert "depends on load order" in finding.message


def test_models_pinned_to_different_gpus_do_not_clash(rendered: Path) -> None:
    repository = rendered / "vllm"
    copy_model(repository, "ensemble", "llama")
    for name, gpu in (("ensemble", 0), ("llama", 1)):
        plant(
            repository / name / "config.pbtxt", "kind: KIND_MODEL", f"kind: KIND_GPU gpus: [{gpu}]"
        )
    assert gpu_findings(rendered) == []
    plant(repository / "llama/config.pbtxt", "gpus: [1]", "gpus: [0]")
    assert len(gpu_findings(rendered)) == 1
