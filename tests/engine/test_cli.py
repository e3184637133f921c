"""`crossfade engine` argument handling, output formats and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import crossfade
from tests.support.cli_result import CliResult

IMAGE = "tritonserver:25.12-trtllm-python-py3"


def test_text_output_is_one_line_per_finding_then_its_hint(
    make_engine: Callable[..., Path], tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    folder = make_engine(tmp_path, version="0.16.0", stamp_gpu="H100")
    result = run_cli("engine", "check", str(folder), "--image", IMAGE)
    assert result.exit_code == 1
    finding, hint, summary = result.out.splitlines()
    assert finding.startswith(f"{folder / 'config.json'}: error engine-version-mismatch: ")
    assert hint.startswith("    hint: rebuild the engine with trtllm-build")
    assert summary == f"{folder}: 1 error(s), 0 warning(s)"


def test_warnings_exit_as_lint_exits_on_the_same_folder(
    make_engine: Callable[..., Path], tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    folder = make_engine(tmp_path)
    targets = ("--image", IMAGE, "--gpu", "H100")
    result = run_cli("engine", "check", str(folder), *targets)
    assert result.exit_code == 1 == run_cli("lint", str(folder), *targets).exit_code
    assert f"{folder}: warning engine-unstamped: " in result.out
    assert result.out.splitlines()[-1] == f"{folder}: 0 error(s), 1 warning(s)"
    errors_only = ("--fail-on", "error")
    assert run_cli("engine", "check", str(folder), *targets, *errors_only).exit_code == 0
    assert run_cli("lint", str(folder), *targets, *errors_only).exit_code == 0


def test_json_output(
    make_engine: Callable[..., Path], tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    folder = make_engine(tmp_path, tp=2, ranks=["rank0.engine"])
    result = run_cli("engine", "check", str(folder), "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.out)
    assert (report["errors"], report["warnings"]) == (1, 1)
    codes = {finding["code"]: finding for finding in report["findings"]}
    assert codes["engine-rank-count"]["severity"] == "error"
    assert codes["engine-rank-count"]["file"] == str(folder)
    assert codes["engine-unstamped"]["severity"] == "warning"


def test_unknown_image_tag_exits_2_with_the_known_tags(
    make_engine: Callable[..., Path], tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    folder = make_engine(tmp_path, stamp_gpu="H100")
    image = "tritonserver:23.10-trtllm-python-py3"
    result = run_cli("engine", "check", str(folder), "--image", image)
    assert result.exit_code == 2
    assert "crossfade engine: unknown image tag '23.10-trtllm-python-py3'" in result.err
    assert "25.12-trtllm-python-py3" in result.err
    assert result.out == ""


def test_vllm_image_exits_2(
    make_engine: Callable[..., Path], tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    folder = make_engine(tmp_path)
    image = "tritonserver:25.12-vllm-python-py3"
    result = run_cli("engine", "check", str(folder), "--image", image)
    assert result.exit_code == 2
    assert "not a Triton TensorRT-LLM image" in result.err


def test_unknown_gpu_exits_2(
    make_engine: Callable[..., Path], tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    result = run_cli("engine", "check", str(make_engine(tmp_path)), "--gpu", "Voodoo 5")
    assert result.exit_code == 2
    assert "unknown GPU 'Voodoo 5'" in result.err


def test_missing_folder_exits_2(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    result = run_cli("engine", "check", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert "not a folder" in result.err


def test_engine_without_subcommand_prints_help(run_cli: Callable[..., CliResult]) -> None:
    result = run_cli("engine")
    assert result.exit_code == 2
    for subcommand in ("inspect", "check", "stamp"):
        assert subcommand in result.err


@pytest.mark.servers
def test_importing_the_cli_module_does_not_load_the_engine_package() -> None:
    # Checked in a fresh interpreter: this test process has long since imported everything.
    source_root = str(Path(crossfade.__file__).parent.parent)
    env = {**os.environ, "PYTHONPATH": source_root}
    probe = (
        "import sys, crossfade.cli.engine; "
        "print(sorted({'crossfade.engine', 'pydantic'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == "[]"
