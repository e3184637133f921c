"""`crossfade advise` end to end: a spec file and a results folder with a comparison.json,
in each output format (the article's matrix rows in each); a spec with engines gets the
migration, one without never an engine question; bad input is a message naming the file, not a
traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from crossfade.advise.matrix import ROWS
from crossfade.cli import COMMANDS, main
from tests.advise.comparisons import make_comparison, write_comparison

SPEC = """\
model:
  name: tiny
  tokenizer: /models/tiny
gpu: H100
tensorrtllm:
  image: 26.11-trtllm-python-py3
  llm_args:
    model: /models/tiny
vllm:
  image: 25.12-vllm-python-py3
  engine_args:
    model: /models/tiny
deployment:
  model_support: both
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
    assert "crossfade render triton " in out
    assert "flowchart TD" in out
    # No engine question, step or node: only the article's side of the matrix names engines.
    outside_matrix = out.split("The article says / today")[0] + out.split("What would change")[1]
    assert "engine" not in outside_matrix.lower()


def test_an_engine_spec_is_advised_to_migrate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "legacy.yaml"
    engine = "tensorrtllm:\n  image: 25.12-trtllm-python-py3\n  engine_dir: /engines/tiny\n"
    llmapi = SPEC[SPEC.index("tensorrtllm:") : SPEC.index("vllm:")]
    spec.write_text(SPEC.replace(llmapi, engine), encoding="utf-8")
    assert main(["advise", str(spec)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "Recommendation: TensorRT-LLM\n"
        "Move the engine ensemble to TensorRT-LLM's LLM API model (no engine build).\n"
    )
    assert "(rule:migrate_llmapi)" in out
    assert "releases/tag/v1.3.0rc20" in out
    assert "tensorrt-backend-removal.md" in out
    flat = " ".join(out.split())
    assert f"crossfade render triton {tmp_path}/legacy-llmapi.yaml -o model_repos_llmapi" in flat
    assert "crossfade canary --help" in flat
    assert "class engines,engine_model,migrate_llmapi taken" in out


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_the_article_s_matrix_rows_are_in_every_format(
    spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["advise", str(spec_file)]) == 0
    text = _flat(capsys.readouterr().out)
    assert main(["advise", str(spec_file), "--format", "markdown"]) == 0
    markdown = capsys.readouterr().out
    assert main(["advise", str(spec_file), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(ROWS) == 6
    assert [row.topic for row in ROWS] == [
        "setup time",
        "model swap",
        "quantization",
        "tensor parallel",
        "GPU portability",
        "Hugging Face models",
    ]
    for row in ROWS:
        assert (
            f"{row.topic}: the article says {row.article}; today {row.today} ({row.source})."
            in text
        )
        assert f"| {row.topic} | {row.article} | {row.today} | {row.source} |" in markdown
    assert "## The article says / today (TensorRT-LLM)" in markdown
    assert data["matrix"] == [asdict(row) for row in ROWS]


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


@pytest.mark.servers
def test_bad_deployment_value_names_file_and_line(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(SPEC.replace("model_support: both", "model_support: hybrid"), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "crossfade", "advise", str(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    line = SPEC.splitlines().index("  model_support: both") + 1
    assert f"{spec}:{line}: deployment.model_support:" in result.stderr


def test_a_retired_fact_is_a_message_with_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "old.yaml"
    spec.write_text(SPEC + "  engine_pipeline: true\n", encoding="utf-8")
    assert main(["advise", str(spec)]) == 2
    error = capsys.readouterr().err
    line = len(SPEC.splitlines()) + 1
    assert f"{spec}:{line}: deployment.engine_pipeline: 'engine_pipeline' is no longer" in error
    assert "tensorrtllm_runs_engines: true" in error
