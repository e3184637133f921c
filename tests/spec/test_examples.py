"""Every YAML file shipped with the project is a spec that validates (or is classified here)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from crossfade.spec import load_spec, parse_spec
from crossfade.spec.example import EXAMPLE_SPEC

ROOT = Path(__file__).resolve().parents[2]
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


def test_70b_example_is_tp4_fp8_on_both_backends() -> None:
    spec = load_spec(ROOT / "examples/llama-3-70b-fp8-tp4.yaml")
    assert spec.vllm is not None
    assert spec.tensorrtllm is not None
    assert spec.vllm.engine_args["tensor_parallel_size"] == 4
    assert spec.vllm.engine_args["quantization"] == "fp8"
    assert spec.tensorrtllm.gpu_device_ids == [0, 1, 2, 3]


def test_init_template_is_a_valid_spec() -> None:
    spec = parse_spec(EXAMPLE_SPEC, "init")
    assert spec.model.name == "my-model"


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
