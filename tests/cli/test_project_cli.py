"""`crossfade project`'s input errors, each naming its flag, before any projection runs; and a
missing projection environment told with the fix (the projections themselves:
tests/project/test_projection_env.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossfade.cli import main
from crossfade.project.environment import PYTHON_VARIABLE
from tests.support.paths import ROOT

SPEC = str(ROOT / "examples" / "llama-3-70b-fp8-tp4.yaml")
WORKLOAD = ["--input-len", "1024", "--output-len", "256"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--concurrency", "1,x"], "--concurrency 1,x: 'x' is not a number"),
        (["--concurrency", "0"], "--concurrency 0: '0': a concurrency is a whole number"),
        (["--concurrency", "8", "--quantization", "int8"], "--quantization 'int8': give one of"),
        (["--concurrency", "8", "--kv-cache-dtype", "fp16"], "--kv-cache-dtype 'fp16': give"),
        (["--concurrency", "8", "--gpu", "V100"], "--gpu 'V100': no projection system"),
        (["--concurrency", "8", "--model-config", "/nowhere"], "--model-config /nowhere: no"),
    ],
)
def test_bad_input_is_a_message_naming_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code = main(["project", SPEC, *WORKLOAD, *args, "-o", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"crossfade project: {message}")
    assert not (tmp_path / "projection.json").exists()


def test_a_folder_holding_a_projection_is_not_overwritten_unasked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "projection.json").write_text("{}")
    code = main(["project", SPEC, *WORKLOAD, "--concurrency", "8", "-o", str(tmp_path)])
    assert code == 2
    assert "already holds a projection (projection.json)" in capsys.readouterr().err
    assert (tmp_path / "projection.json").read_text() == "{}"


def test_a_missing_projection_environment_says_how_to_set_it_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PYTHON_VARIABLE, str(tmp_path / "no-venv" / "bin" / "python"))
    code = main(["project", SPEC, *WORKLOAD, "--concurrency", "8", "-o", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "no projection environment at" in err
    assert "scripts/setup --projection" in err
