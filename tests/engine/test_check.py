"""Each verdict of `check_engine`, once through the function and once through the CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from crossfade.engine import compat
from crossfade.engine.check import check_engine, engine_backend_finding
from crossfade.findings import Finding, Severity
from tests.support.cli_result import CliResult

IMAGE = "tritonserver:25.12-trtllm-python-py3"  # TensorRT-LLM 1.1.0, TensorRT 10.13.3
ERROR, WARNING = Severity.ERROR, Severity.WARNING


@dataclass(frozen=True)
class Case:
    id: str
    engine: dict[str, Any]
    expected: list[tuple[str, Severity]]
    exit_code: int
    image: str | None = IMAGE
    gpu: str | None = "H100"
    extra: list[str] = field(default_factory=list)


CASES = [
    Case("matching", {"stamp_gpu": "H100"}, [], 0),
    Case("matching-without-targets", {"stamp_gpu": "H100"}, [], 0, image=None, gpu=None),
    Case("version-mismatch", {"version": "0.16.0", "stamp_gpu": "H100"},
         [("engine-version-mismatch", ERROR)], 1),
    Case("post-release-only", {"version": "0.17.0", "stamp_gpu": "H100"},
         [("engine-version-mismatch", WARNING)], 1,
         image="tritonserver:25.02-trtllm-python-py3"),
    Case("tensorrt-mismatch", {"version": "0.9.0", "stamp_gpu": "H100", "stamp_tensorrt": "9.3"},
         [("engine-version-mismatch", ERROR)], 1, image="tritonserver:24.05-trtllm-python-py3"),
    Case("tensorrt-same-release", {"version": "0.9.0", "stamp_gpu": "H100",
                                   "stamp_tensorrt": "10.0.1.6"},
         [], 0, image="tritonserver:24.05-trtllm-python-py3"),
    Case("gpu-mismatch", {"stamp_gpu": "L40S"}, [("engine-gpu-mismatch", ERROR)], 1,
         gpu="NVIDIA H100 80GB HBM3"),
    Case("rank-count", {"tp": 2, "ranks": ["rank0.engine"], "stamp_gpu": "H100"},
         [("engine-rank-count", ERROR)], 1),
    Case("rank-gap", {"tp": 2, "ranks": ["rank0.engine", "rank2.engine"], "stamp_gpu": "H100"},
         [("engine-rank-count", ERROR)], 1),
    Case("old-layout", {"old_layout": True, "stamp_gpu": "H100"},
         [("engine-old-layout", ERROR)], 1),
    Case("input-len", {"max_input_len": 4096, "max_seq_len": 2048, "stamp_gpu": "H100"},
         [("engine-input-len", ERROR)], 1),
    Case("missing-key", {"drop": ["pretrained_config.mapping.pp_size"], "stamp_gpu": "H100"},
         [("engine-missing-key", ERROR)], 1),
    Case("stamp-disagrees", {"stamp_gpu": "H100", "stamp_version": "1.0.0"},
         [("engine-stamp-mismatch", ERROR)], 1),
    Case("unstamped", {}, [("engine-unstamped", WARNING)], 1),
    Case("unstamped-and-mismatched", {"version": "0.16.0"},
         [("engine-unstamped", WARNING), ("engine-version-mismatch", ERROR)], 1),
]  # fmt: skip


def _codes(findings: list[Finding]) -> list[tuple[str, Severity]]:
    return sorted((finding.code, finding.severity) for finding in findings)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_check_engine_verdicts(
    case: Case, make_engine: Callable[..., Path], tmp_path: Path
) -> None:
    folder = make_engine(tmp_path, **case.engine)
    findings = check_engine(folder, image_tag=case.image, gpu=case.gpu)
    assert _codes(findings) == sorted(case.expected)
    assert all(finding.hint for finding in findings)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_cli_check_verdicts(
    case: Case,
    make_engine: Callable[..., Path],
    tmp_path: Path,
    run_cli: Callable[..., CliResult],
) -> None:
    folder = make_engine(tmp_path, **case.engine)
    argv = ["engine", "check", str(folder)]
    if case.image:
        argv += ["--image", case.image]
    if case.gpu:
        argv += ["--gpu", case.gpu]
    result = run_cli(*argv)
    assert result.exit_code == case.exit_code
    for code, severity in case.expected:
        assert f": {severity.value} {code}: " in result.out
    if not case.expected:
        assert result.out.strip() == f"{folder}: no problems found"
    # As with `crossfade lint`: warnings pass only with --fail-on error.
    errors_only = run_cli(*argv, "--fail-on", "error")
    assert errors_only.exit_code == int(any(s is ERROR for _, s in case.expected))


def test_stamp_with_other_parallelism_is_stale(
    make_engine: Callable[..., Path], tmp_path: Path
) -> None:
    folder = make_engine(tmp_path, tp=2, stamp_gpu="H100")
    stamp_path = folder / "crossfade-build.json"
    stamp_path.write_text(stamp_path.read_text().replace('"tp_size": 2', '"tp_size": 4'))
    [finding] = check_engine(folder)
    assert (finding.code, finding.file) == ("engine-stamp-mismatch", str(stamp_path))
    assert "stamp says tp_size 4 and pp_size 1, config.json says 2 and 1" in finding.message


def test_version_mismatch_quotes_the_runtime_error(
    make_engine: Callable[..., Path], tmp_path: Path
) -> None:
    folder = make_engine(tmp_path, version="0.16.0", stamp_gpu="H100")
    [finding] = check_engine(folder, image_tag=IMAGE)
    assert finding.file == str(folder / "config.json")
    assert "built by TensorRT-LLM 0.16.0" in finding.message
    assert "runs TensorRT-LLM 1.1.0" in finding.message
    assert "kSERIALIZATION_VERSION" in finding.message
    assert finding.hint is not None
    assert "trtllm-build" in finding.hint
    assert "24.12-trtllm-python-py3" in finding.hint  # the image that serves a 0.16.0 engine


def test_gpu_mismatch_quotes_the_device_error(
    make_engine: Callable[..., Path], tmp_path: Path
) -> None:
    folder = make_engine(tmp_path, stamp_gpu="L40S")
    [finding] = check_engine(folder, gpu="H100-SXM")
    assert finding.file == str(folder / "crossfade-build.json")
    assert "NVIDIA L40S (SM 8.9)" in finding.message
    assert "H100-SXM (SM 9.0)" in finding.message
    assert "expecting compute 9.0 got compute 8.9" in finding.message


def test_same_sm_on_another_gpu_model_is_fine(
    make_engine: Callable[..., Path], tmp_path: Path
) -> None:
    folder = make_engine(tmp_path, stamp_gpu="L40S")
    assert check_engine(folder, gpu="NVIDIA GeForce RTX 4090") == []


def test_rank_count_names_the_folder_and_the_files(
    make_engine: Callable[..., Path], tmp_path: Path
) -> None:
    folder = make_engine(tmp_path, tp=2, pp=2, ranks=["rank0.engine", "rank1.engine"])
    [finding] = [f for f in check_engine(folder) if f.code == "engine-rank-count"]
    assert finding.file == str(folder)
    assert "needs 4 rank engine files" in finding.message
    assert "found 2: rank0.engine, rank1.engine" in finding.message


def test_old_layout_quotes_the_runtime_error(
    make_engine: Callable[..., Path], tmp_path: Path
) -> None:
    folder = make_engine(tmp_path, old_layout=True, tp=2)
    findings = {f.code: f for f in check_engine(folder, image_tag=IMAGE)}
    assert sorted(findings) == ["engine-old-layout", "engine-unstamped"]
    old_layout = findings["engine-old-layout"]
    assert old_layout.file == str(folder / "config.json")
    assert "No engine version found" in old_layout.message
    assert old_layout.hint is not None
    assert "trtllm-build" in old_layout.hint


def test_unstamped_warning_names_the_target_gpu(
    make_engine: Callable[..., Path], tmp_path: Path
) -> None:
    folder = make_engine(tmp_path)
    [finding] = check_engine(folder, gpu="H100")
    assert finding.file == str(folder)
    assert "(H100, SM 9.0)" in finding.message
    assert finding.hint is not None
    assert "crossfade engine stamp" in finding.hint


def test_missing_config(tmp_path: Path) -> None:
    [finding] = check_engine(tmp_path)
    assert (finding.code, finding.severity, finding.file) == (
        "engine-config-missing",
        ERROR,
        str(tmp_path),
    )


def test_invalid_config_is_a_finding(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{ not json")
    [finding] = check_engine(tmp_path)
    assert finding.code == "engine-config-invalid"
    assert finding.file == str(tmp_path / "config.json")
    assert "invalid JSON" in finding.message


def test_invalid_stamp_is_a_finding(make_engine: Callable[..., Path], tmp_path: Path) -> None:
    folder = make_engine(tmp_path)
    (folder / "crossfade-build.json").write_text('{"schema_version": 1}')
    [finding] = check_engine(folder, gpu="H100")
    assert (finding.code, finding.severity) == ("engine-stamp-invalid", ERROR)
    assert finding.file == str(folder / "crossfade-build.json")
    assert "tensorrt_llm_version: Field required" in finding.message


def test_an_image_without_the_engine_backend_says_so_and_how_to_move_on(
    make_engine: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No verified container ships such a TensorRT-LLM yet: the month is one the table would get.
    monkeypatch.setitem(compat.CONTAINER_RELEASES, "26.99", ("1.3.0", "10.16"))
    folder = make_engine(tmp_path, version="1.2.1", stamp_gpu="H100")
    findings = check_engine(folder, image_tag="26.99-trtllm-python-py3", gpu="H100")
    # Only this: a version mismatch would advise a trtllm-build the image does not have.
    assert [(f.code, f.severity, f.file) for f in findings] == [
        ("engine-backend-removed", ERROR, str(folder / "config.json"))
    ]
    assert "TensorRT-LLM 1.3.0, which has no TensorRT engine backend" in findings[0].message
    assert "1.3.0rc20 was the last" in findings[0].message
    hint = findings[0].hint or ""
    assert "26.07-trtllm-python-py3" in hint
    assert "crossfade init crossfade.yaml --from-repository REPO" in hint
    # An image that still has the backend gets no such finding.
    image = compat.parse_image_tag("26.07-trtllm-python-py3")
    assert engine_backend_finding(image, "config.json") is None
