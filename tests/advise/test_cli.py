"""`crossfade advise` end to end: a spec file and a results folder with a comparison.json,
in each output format; bad input is a message naming the file, not a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crossfade.cli import COMMANDS, main
from tests.advise.comparisons import make_comparison, write_comparison

SPEC = """\
model:
  name: tiny
  tokenizer: /models/tiny
gpu: H100
tensorrtllm:
  image: 25.12-trtllm-python-py3
  engine_dir: /engines/tiny
vllm:
  image: 25.12-vllm-python-py3
  engine_args:
    model: /models/tiny
deployment:
  engine_pipeline: true
  model_updates: monthly
  gpu_fleet: uniform
  quantization: none
  expected_concurrency: 48
  itl_p99_target_ms: 30
"""
# At 32 (the level nearest 48) vLLM is ahead: it contradicts the high-load rule of thumb.
VLLM_AHEAD = {
    "output_token_throughput": (900.0, 1000.0, True),
    "itl_p99": (28.0, 24.0, True),
}


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "crossfade.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return path


@pytest.fixture
def results(tmp_path: Path) -> Path:
    comparison = make_comparison({8: VLLM_AHEAD, 32: VLLM_AHEAD, 128: VLLM_AHEAD})
    return write_comparison(tmp_path / "sweep", comparison)


def test_advise_is_registered() -> None:
    assert COMMANDS["advise"][0] == "advise"


def test_text_without_results_follows_the_rules(
    spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["advise", str(spec_file)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Recommendation: TensorRT-LLM\n")
    assert "(rule:trtllm_latency)" in out
    assert "What would change the answer:" in out
    assert "crossfade engine stamp /engines/tiny --gpu H100" in " ".join(out.split())
    assert "flowchart TD" in out


def test_text_with_contradicting_results_follows_the_evidence(
    spec_file: Path, results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["advise", str(spec_file), str(results)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Recommendation: vLLM\n")
    assert "Measured evidence contradicts the rule of thumb" in out
    assert f"  {results}: trt vs vllm at concurrency 32 (counts as evidence)\n" in out
    assert "vLLM ahead" in out


def test_json_and_markdown_outputs(
    spec_file: Path, results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["advise", str(spec_file), str(results), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["recommendation"] == "vllm"
    assert data["rule_recommendation"] == "tensorrtllm"
    assert data["overridden"] is True
    assert data["evidence"]["verdict"] == "vllm"
    assert data["evidence"]["pairs"][0]["level"] == 32
    assert data["mermaid"].startswith("flowchart TD")
    assert {r["source"].split(":")[0] for r in data["reasons"]} == {"rule", "measurement"}

    output = tmp_path / "advice.md"
    args = ["advise", str(spec_file), str(results), "--format", "markdown", "-o", str(output)]
    assert main(args) == 0
    assert str(output) in capsys.readouterr().out
    markdown = output.read_text(encoding="utf-8")
    assert markdown.startswith("# Recommendation: vLLM")
    assert "```mermaid\nflowchart TD" in markdown
    assert "| metric | TensorRT-LLM | vLLM |" in markdown


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("/proc/advice.md", "-o /proc/advice.md: cannot write there (No such file or directory)"),
        ("{tmp}", "-o {tmp}: is a folder; give the file name to write"),
        (
            "{tmp}/crossfade.yaml/advice.md",
            "-o {tmp}/crossfade.yaml/advice.md: {tmp}/crossfade.yaml is a file, not a folder",
        ),
    ],
)
def test_an_output_that_cannot_be_written_is_a_message(
    output: str, message: str, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = spec_file.parent
    assert main(["advise", str(spec_file), "-o", output.format(tmp=folder)]) == 2
    error = capsys.readouterr().err
    assert f"crossfade advise: {message.format(tmp=folder)}" in error
    assert "Traceback" not in error


def test_missing_results_folder_is_a_message(
    spec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["advise", str(spec_file), str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "nowhere" in err
    assert "crossfade compare" in err


def test_bad_deployment_value_names_file_and_line(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(SPEC.replace("gpu_fleet: uniform", "gpu_fleet: hybrid"), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "crossfade", "advise", str(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    line = SPEC.splitlines().index("  gpu_fleet: uniform") + 1
    assert f"{spec}:{line}: deployment.gpu_fleet:" in result.stderr
