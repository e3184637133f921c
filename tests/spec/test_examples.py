"""Every YAML file shipped with the project is a spec that validates (or is classified here)."""

from __future__ import annotations

import itertools
import os
import subprocess
from pathlib import Path

import pytest

from crossfade.spec import Spec, load_spec, parse_spec
from crossfade.spec.example import EXAMPLE_SPEC
from crossfade.spec.tensorrtllm import TensorRTLLMApi, TensorRTLLMEngine
from tests.support.paths import ROOT

NOT_SPECS: set[str] = set()  # YAML files that are deliberately something else
# Spec templates with a {model_dir} placeholder, each validated by its own test.
SPEC_TEMPLATES = {"src/crossfade/lab/crossfade.lab.yaml"}  # tests/lab/test_lab_spec.py
# Kubernetes manifests, not specs: fixtures of `crossfade lint`'s manifest checks.
MANIFEST_FOLDERS = {"tests/lint/k8s/manifests"}
# Specs the tests of the legacy engine layout read (loaded by every test that uses them).
SPEC_FIXTURE_FOLDERS = {"tests/support/engine_specs"}


def test_every_example_yaml_is_a_valid_spec() -> None:
    files = sorted((ROOT / "examples").glob("*.yaml"))
    assert len(files) >= 2
    for path in files:
        if path.name in NOT_SPECS:
            continue
        spec = load_spec(path)
        assert spec.tensorrtllm is not None, path
        assert spec.vllm is not None, path


def _examples() -> list[tuple[Path, Spec]]:
    return [(path, load_spec(path)) for path in sorted((ROOT / "examples").glob("*.yaml"))]


def _header(path: Path) -> str:
    """The comment block an example opens with."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return "\n".join(itertools.takewhile(lambda line: line.startswith("#"), lines))


def test_the_examples_lead_with_the_llm_api_model_and_keep_one_legacy_example() -> None:
    layouts = {path.name: spec.tensorrtllm.layout for path, spec in _examples() if spec.tensorrtllm}
    assert layouts == {
        "llama-3-70b-fp8-tp4.yaml": "llmapi",
        "llama-3-8b.yaml": "llmapi",
        "llama-3-8b-engine-legacy.yaml": "engine",
    }


def test_each_example_says_at_the_top_which_layout_it_renders() -> None:
    for path, spec in _examples():
        assert spec.tensorrtllm is not None
        assert "layout" in spec.tensorrtllm.model_fields_set, f"{path.name}: set layout:"
        header = _header(path)
        assert f"layout: {spec.tensorrtllm.layout}" in header, path.name
        if isinstance(spec.tensorrtllm, TensorRTLLMEngine):
            assert "LEGACY" in header
            assert "1.3.0rc20" in header  # why it is legacy
            assert "examples/llama-3-8b.yaml" in header  # and where its LLM API twin is


def test_llmapi_examples_load_their_checkpoint_from_the_weights_claim_and_build_no_engine() -> None:
    for path, spec in _examples():
        trt = spec.tensorrtllm
        if not isinstance(trt, TensorRTLLMApi):
            continue
        assert trt.decoupled, path.name
        assert spec.kubernetes is not None
        weights = spec.kubernetes.storage.weights.mount_path
        assert str(trt.llm_args["model"]).startswith(f"{weights}/"), path.name
        assert spec.kubernetes.engine_build is None, path.name
        assert spec.kubernetes.storage.engines is None, path.name
        for key in ("kv_cache_config", "max_batch_size", "max_num_tokens"):
            assert key in trt.llm_args, (path.name, key)


def test_70b_example_is_tp4_fp8_on_both_backends() -> None:
    spec = load_spec(ROOT / "examples/llama-3-70b-fp8-tp4.yaml")
    assert spec.vllm is not None
    assert isinstance(spec.tensorrtllm, TensorRTLLMApi)
    assert spec.vllm.engine_args["tensor_parallel_size"] == 4
    assert spec.vllm.engine_args["quantization"] == "fp8"
    assert spec.tensorrtllm.llm_args["tensor_parallel_size"] == 4
    assert spec.tensorrtllm.llm_args["model"].endswith("-fp8")  # a pre-quantized checkpoint
    assert spec.tensorrtllm.parallel_size == 4
    assert spec.kubernetes is not None
    assert spec.kubernetes.tensorrtllm is not None
    assert spec.kubernetes.tensorrtllm.gpus == 4


def test_init_template_leads_with_the_llm_api_model() -> None:
    spec = parse_spec(EXAMPLE_SPEC, "init")
    assert spec.model.name == "my-model"
    assert isinstance(spec.tensorrtllm, TensorRTLLMApi)
    assert "layout" in spec.tensorrtllm.model_fields_set


def test_init_templates_legacy_alternative_is_the_engine_layout_once_uncommented() -> None:
    lines = EXAMPLE_SPEC.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("tensorrtllm:"))
    end = start + 1
    while lines[end].startswith(" "):
        end += 1
    legacy = lines.index("# tensorrtllm:\n")
    stop = legacy + 1
    while lines[stop].startswith("#   "):
        stop += 1
    uncommented = [line.removeprefix("# ") for line in lines[legacy:stop]]
    swapped = "".join([*lines[:start], *uncommented, *lines[end:legacy], *lines[stop:]])
    trt = parse_spec(swapped, "init").tensorrtllm
    assert isinstance(trt, TensorRTLLMEngine)
    assert not trt.layout_inferred
    assert trt.engine_dir == "/engines/my-model/tp1"


def test_the_lab_spec_says_it_is_the_legacy_engine_layout() -> None:
    text = (ROOT / "src/crossfade/lab/crossfade.lab.yaml").read_text(encoding="utf-8")
    trt = parse_spec(text.replace("{model_dir}", "/lab/model"), "lab").tensorrtllm
    assert isinstance(trt, TensorRTLLMEngine)
    assert not trt.layout_inferred  # until the lab emulates the LLM API model (issue 15)
    assert trt.emulator is not None


def _project_yaml() -> list[Path]:
    """The project's YAML files: in a git checkout, those tracked or not ignored (what the
    README's commands write, such as the demo's folder, is ignored); elsewhere, every one."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.yaml", "*.yml"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if listed.returncode == 0:
        return sorted(ROOT / line for line in listed.stdout.splitlines())
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if not d.startswith(".") and d != "node_modules"]
        found += [Path(folder, f) for f in files if f.endswith((".yaml", ".yml"))]
    return sorted(found)


@pytest.mark.servers
def test_no_unclassified_yaml() -> None:
    for path in _project_yaml():
        relative = path.relative_to(ROOT)
        classified = (
            relative.as_posix() in SPEC_TEMPLATES
            or path.name in NOT_SPECS
            or relative.parent.as_posix() in MANIFEST_FOLDERS | SPEC_FIXTURE_FOLDERS
        )
        assert relative.parts[0] == "examples" or classified, (
            f"{relative}: classify this YAML (a spec under examples/, or list it in NOT_SPECS)"
        )
