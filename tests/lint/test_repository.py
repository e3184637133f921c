"""`crossfade lint` on model repositories: every planted mistake reported by file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossfade.cli import main
from crossfade.lint.runner import lint_paths
from tests.support.findings import engine_layout_removed
from tests.support.planting import plant


def test_rendered_repositories_lint_clean(rendered: Path) -> None:
    # Clean but for the one warning of the legacy engine layout (the 8B example keeps it).
    findings = lint_paths([rendered])
    assert [(f.code, f.file, f.line) for f in findings] == [engine_layout_removed(rendered)]
    assert main(["lint", "--fail-on", "error", str(rendered)]) == 0


def plant_every_mistake(repos: Path) -> set[tuple[str, str, int | None]]:
    """Plant one of each mistake lint knows; return the (code, file, line) each must produce."""
    trt = repos / "tensorrtllm"
    pre = trt / "preprocessing/config.pbtxt"
    engine = trt / "tensorrt_llm/config.pbtxt"
    post = trt / "postprocessing/config.pbtxt"
    ensemble = trt / "ensemble/config.pbtxt"
    vllm_config = repos / "vllm/ensemble/config.pbtxt"
    model_json = repos / "vllm/ensemble/1/model.json"
    expected = {
        engine_layout_removed(repos),
        (
            "leftover-var-structural",
            str(pre),
            plant(pre, "max_batch_size: 64", "max_batch_size: ${triton_max_batch_size}"),
        ),
        (
            "leftover-var-param",
            str(engine),
            plant(engine, '"max_utilization"', '"${batch_scheduler_policy}"'),
        ),
        (
            "trtllm-invalid-gpt-model-type",
            str(engine),
            plant(engine, '"inflight_fused_batching"', '"inflight_batching_fused"'),
        ),
        ("fraction-out-of-range", str(engine), plant(engine, '"0.9"', '"1.5"')),
        (
            "stream-not-decoupled",
            str(engine),
            plant(engine, "decoupled: true", "decoupled: false"),
        ),
        (
            "ensemble-input-map",
            str(ensemble),
            plant(ensemble, 'key: "QUERY"', 'key: "QUERRY"'),
        ),
        (
            "ensemble-output-map",
            str(ensemble),
            plant(ensemble, 'key: "OUTPUT"', 'key: "OUTPUTS"'),
        ),
        ("pbtxt-invalid", str(post), plant(post, "max_batch_size: 64", "max_batch_szie: 64")),
        ("vllm-kind-gpu-parallel", str(vllm_config), plant(vllm_config, "KIND_MODEL", "KIND_GPU")),
    }
    args = json.loads(model_json.read_text())
    args.update(
        tensor_parallel_size=2,
        gpu_memory_utilization=1.5,
        gpu_memory_utilisation=0.5,
        max_tokens=512,
    )
    model_json.write_text(json.dumps(args, indent=2))
    lines = model_json.read_text().splitlines()

    def json_line(key: str) -> int:
        return next(i for i, line in enumerate(lines, 1) if line.strip().startswith(f'"{key}"'))

    expected |= {
        ("vllm-engine-arg-value", str(model_json), json_line("gpu_memory_utilization")),
        ("vllm-unknown-engine-arg", str(model_json), json_line("gpu_memory_utilisation")),
        ("vllm-max-tokens-default", str(model_json), json_line("max_tokens")),
    }
    return expected


def test_every_planted_mistake_is_reported_by_file_and_line(rendered: Path) -> None:
    expected = plant_every_mistake(rendered)
    found = {(f.code, f.file, f.line) for f in lint_paths([rendered])}
    assert expected <= found
    # Nothing beyond what was planted: the checks are precise, not noisy.
    assert found == expected


def test_cli_exits_1_and_prints_locations(
    rendered: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = plant_every_mistake(rendered)
    assert main(["lint", str(rendered)]) == 1
    out = capsys.readouterr().out
    for code, file, line in expected:
        assert (f"{file}:{line}: " if line else f"{file}: ") in out
        assert code in out
    assert "did you mean 'gpu_memory_utilization'?" in out
    assert "did you mean 'max_batch_size'?" in out
    assert "did you mean 'QUERY'?" in out


def test_json_format(rendered: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plant_every_mistake(rendered)
    assert main(["lint", "--format", "json", str(rendered)]) == 1
    findings = json.loads(capsys.readouterr().out)
    assert {f["severity"] for f in findings} == {"error", "warning"}
    assert all({"code", "file", "line", "message", "hint"} <= f.keys() for f in findings)


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(tmp_path / "absent")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["lint", str(tmp_path)]) == 2
    assert "found no model repository" in capsys.readouterr().err


def test_lint_one_model_folder(rendered: Path) -> None:
    model = rendered / "vllm/ensemble"
    plant(model / "config.pbtxt", "KIND_MODEL", "KIND_GPU")
    assert lint_paths([model]) == []  # tensor_parallel_size is 1: KIND_GPU is fine
