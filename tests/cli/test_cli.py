"""The command line: help for every command, init, lazy imports, errors without tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from crossfade.cli import COMMANDS, main
from crossfade.spec import load_spec


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in COMMANDS:
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert "usage: crossfade" in capsys.readouterr().out


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "render" in capsys.readouterr().out


def test_init_writes_a_valid_spec_and_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "crossfade.yaml"
    assert main(["init", str(path)]) == 0
    assert load_spec(path).model.name == "my-model"
    assert main(["init", str(path)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["init", str(path), "--force"]) == 0


@pytest.mark.servers
def test_bad_spec_is_an_error_message_not_a_traceback(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("model:\n  name: x\n  tokenizr: /t\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "crossfade", "render", "triton", str(spec), "-o", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{spec}:3: model.tokenizr: unknown key (did you mean 'tokenizer'?)" in result.stderr


@pytest.mark.servers
def test_help_imports_no_heavy_modules() -> None:
    code = (
        "import sys; from crossfade.cli import build_parser; build_parser(); "
        "heavy = [m for m in ('pydantic', 'tritonclient', 'google.protobuf', 'yaml', 'grpc') "
        "if m in sys.modules]; print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_bench_usage_errors_are_messages(capsys: pytest.CaptureFixture[str]) -> None:
    target = "openai://127.0.0.1:9/v1?model=x"
    assert main(["bench", target, "--tokenizer", "/nonexistent", "--concurrency", "2"]) == 2
    assert "give --requests, --duration or both" in capsys.readouterr().err
    args = ["bench", target, "--tokenizer", "/nonexistent", "--concurrency", "2", "--requests", "3"]
    assert main(args) == 2
    assert "--tokenizer /nonexistent: no such folder" in capsys.readouterr().err
    assert main([*args[:3], "/tmp", *args[4:], "--slo", "ttft:p99<5zz"]) == 2
    assert "--slo: bad SLO 'ttft:p99<5zz': unknown unit 'zz'" in capsys.readouterr().err
    assert main(["bench", "foo://x", "--concurrency", "2", "--requests", "3"]) == 2
    assert "unknown scheme 'foo'" in capsys.readouterr().err


SPEC_8B = Path(__file__).resolve().parents[2] / "examples/llama-3-8b.yaml"
RENDERS = (
    ["render", "triton", str(SPEC_8B)],
    ["render", "k8s", str(SPEC_8B)],
    ["render", "bench-job", str(SPEC_8B), "--backend", "vllm"],
)


@pytest.mark.parametrize("render", RENDERS, ids=lambda argv: argv[1])
def test_render_to_a_file_or_an_unwritable_folder_is_a_usage_error(
    render: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "taken"
    a_file.write_text("mine\n", encoding="utf-8")
    assert main([*render, "-o", str(a_file)]) == 2
    assert f"-o {a_file}: is a file, not a folder" in capsys.readouterr().err
    assert a_file.read_text(encoding="utf-8") == "mine\n"
    # A folder that cannot be made: below a file, or in /proc (no new folders, even for root).
    assert main([*render, "-o", str(a_file / "below")]) == 2
    assert f"-o {a_file / 'below'}: {a_file} is a file, not a folder" in capsys.readouterr().err
    unwritable = Path("/proc/crossfade-render-test")
    assert main([*render, "-o", str(unwritable)]) == 2
    assert f"-o {unwritable}: cannot write there" in capsys.readouterr().err


@pytest.mark.parametrize("render", RENDERS, ids=lambda argv: argv[1])
def test_render_with_an_empty_output_writes_nothing_here(
    render: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([*render, "-o", ""]) == 2
    assert "-o is empty" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
