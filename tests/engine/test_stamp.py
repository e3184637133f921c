from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crossfade import __version__
from crossfade.engine import stamp as stamp_module
from crossfade.engine.check import check_engine
from crossfade.engine.compat import GpuTarget
from crossfade.engine.config import read_engine_config
from crossfade.engine.stamp import (
    BuildFacts,
    StampError,
    build_stamp,
    parse_build_date,
    read_stamp,
    stamp_engine,
    write_stamp,
)
from crossfade.errors import UsageError
from tests.support.cli_result import CliResult

IMAGE = "tritonserver:25.12-trtllm-python-py3"


@pytest.fixture
def fake_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, int], None]:
    """Put a scripted `nvidia-smi` first (and alone) on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))

    def install(output: str, exit_code: int = 0) -> None:
        script = bin_dir / "nvidia-smi"
        script.write_text(f"#!/bin/sh\nprintf '%s' '{output}'\nexit {exit_code}\n")
        script.chmod(0o755)

    return install


@pytest.fixture
def no_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_build_stamp_is_a_pure_function_of_info_and_facts(
    make_engine: Callable[..., Path], tmp_path: Path
) -> None:
    info = read_engine_config(make_engine(tmp_path, tp=4, pp=2))
    facts = BuildFacts(
        trtllm_version="1.1.0",
        tensorrt_version="10.13.3",
        gpu=GpuTarget("NVIDIA H100 80GB HBM3", "9.0"),
        build_date=datetime(2025, 12, 1, 10, 0, tzinfo=UTC),
        image_tag="25.12-trtllm-python-py3",
    )
    assert build_stamp(info, facts) == {
        "schema_version": 1,
        "tensorrt_llm_version": "1.1.0",
        "tensorrt_version": "10.13.3",
        "gpu": "NVIDIA H100 80GB HBM3",
        "compute_capability": "9.0",
        "build_date": "2025-12-01T10:00:00+00:00",
        "image_tag": "25.12-trtllm-python-py3",
        "tp_size": 4,
        "pp_size": 2,
        "crossfade_version": __version__,
    }


def test_stamp_round_trip_then_check(make_engine: Callable[..., Path], tmp_path: Path) -> None:
    folder = make_engine(tmp_path, tp=2)
    path, written = stamp_engine(folder, gpu="L40S", image_tag=IMAGE, build_date="2025-12-01")
    assert path == folder / "crossfade-build.json"
    stamp = read_stamp(folder)
    assert stamp is not None
    assert stamp.model_dump(mode="json")["build_date"] == "2025-12-01T00:00:00Z"
    assert (stamp.gpu, stamp.compute_capability) == ("L40S", "8.9")
    assert (stamp.tensorrt_llm_version, stamp.tensorrt_version) == ("1.1.0", "10.13.3")
    assert (stamp.tp_size, stamp.pp_size, stamp.image_tag) == (2, 1, "25.12-trtllm-python-py3")
    assert written["compute_capability"] == "8.9"
    assert check_engine(folder, image_tag=IMAGE, gpu="NVIDIA L40S") == []
    assert [f.code for f in check_engine(folder, gpu="H100")] == ["engine-gpu-mismatch"]


def test_cli_stamp_then_check(
    make_engine: Callable[..., Path], tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    folder = make_engine(tmp_path)
    stamped = run_cli("engine", "stamp", str(folder), "--gpu", "H100", "--image", IMAGE)
    assert stamped.exit_code == 0
    assert "wrote" in stamped.out
    assert "H100 (SM 9.0)" in stamped.out
    checked = run_cli("engine", "check", str(folder), "--image", IMAGE, "--gpu", "H100 PCIe")
    assert (checked.exit_code, checked.out.strip()) == (0, f"{folder}: no problems found")
    mismatched = run_cli("engine", "check", str(folder), "--gpu", "A100")
    assert mismatched.exit_code == 1
    assert "engine-gpu-mismatch" in mismatched.out


@pytest.mark.servers
def test_gpu_from_nvidia_smi(
    make_engine: Callable[..., Path], tmp_path: Path, fake_nvidia_smi: Callable[[str, int], None]
) -> None:
    fake_nvidia_smi("NVIDIA H100 80GB HBM3, 9.0\nNVIDIA H100 80GB HBM3, 9.0\n", 0)
    folder = make_engine(tmp_path)
    _, stamp = stamp_engine(folder, image_tag=IMAGE)
    assert (stamp["gpu"], stamp["compute_capability"]) == ("NVIDIA H100 80GB HBM3", "9.0")


@pytest.mark.servers
def test_nvidia_smi_without_compute_cap_falls_back_to_the_name(
    make_engine: Callable[..., Path], tmp_path: Path, fake_nvidia_smi: Callable[[str, int], None]
) -> None:
    fake_nvidia_smi("NVIDIA A10G, [N/A]\n", 0)
    _, stamp = stamp_engine(make_engine(tmp_path), image_tag=IMAGE)
    assert stamp["compute_capability"] == "8.6"


@pytest.mark.servers
@pytest.mark.parametrize(
    ("output", "exit_code", "problem"),
    [
        ("NVIDIA H100 80GB HBM3, 9.0\nNVIDIA L40S, 8.9\n", 0, "different compute capability"),
        ("Failed to initialize NVML: Driver/library version mismatch", 18, "nvidia-smi failed"),
        ("", 0, "listed no GPUs"),
    ],
)
def test_unusable_nvidia_smi_asks_for_gpu(
    make_engine: Callable[..., Path],
    tmp_path: Path,
    fake_nvidia_smi: Callable[[str, int], None],
    output: str,
    exit_code: int,
    problem: str,
) -> None:
    fake_nvidia_smi(output, exit_code)
    with pytest.raises(UsageError, match=problem) as info:
        stamp_engine(make_engine(tmp_path))
    assert "--gpu" in str(info.value)


@pytest.mark.usefixtures("no_nvidia_smi")
def test_no_nvidia_smi_and_no_gpu_is_a_usage_error(
    make_engine: Callable[..., Path], tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    folder = make_engine(tmp_path)
    result = run_cli("engine", "stamp", str(folder))
    assert result.exit_code == 2
    assert "nvidia-smi not found" in result.err
    assert "pass --gpu" in result.err
    assert not (folder / "crossfade-build.json").exists()


def test_old_layout_takes_the_version_from_the_flag(
    make_engine: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stamp_module, "installed_version", lambda distribution: None)
    folder = make_engine(tmp_path, old_layout=True)
    with pytest.raises(UsageError, match="pass --trtllm-version"):
        stamp_engine(folder, gpu="A100")
    _, stamp = stamp_engine(folder, gpu="A100", trtllm_version="0.7.1")
    assert stamp["tensorrt_llm_version"] == "0.7.1"
    assert stamp["tensorrt_version"] is None


def test_installed_packages_fill_in_versions(
    make_engine: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = {"tensorrt_llm": "0.7.1", "tensorrt": "9.2.0.5"}
    monkeypatch.setattr(stamp_module, "installed_version", installed.get)
    _, stamp = stamp_engine(make_engine(tmp_path, old_layout=True), gpu="A100")
    assert (stamp["tensorrt_llm_version"], stamp["tensorrt_version"]) == ("0.7.1", "9.2.0.5")


def test_tensorrt_of_another_container_is_not_recorded(
    make_engine: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = {"tensorrt_llm": "1.0.0", "tensorrt": "10.11.0.33"}
    monkeypatch.setattr(stamp_module, "installed_version", installed.get)
    _, stamp = stamp_engine(make_engine(tmp_path, version="1.1.0"), gpu="H100")
    assert (stamp["tensorrt_llm_version"], stamp["tensorrt_version"]) == ("1.1.0", None)


def test_flag_disagreeing_with_config_is_refused(
    make_engine: Callable[..., Path], tmp_path: Path
) -> None:
    refusal = r"says TensorRT-LLM 1\.1\.0 but --trtllm-version says 1\.0"
    with pytest.raises(UsageError, match=refusal):
        stamp_engine(make_engine(tmp_path), gpu="H100", trtllm_version="1.0")


def test_image_disagreeing_with_config_is_refused(
    make_engine: Callable[..., Path], tmp_path: Path
) -> None:
    with pytest.raises(UsageError, match=r"runs TensorRT-LLM 0\.16\.0 but the engine was built by"):
        stamp_engine(make_engine(tmp_path), gpu="H100", image_tag="24.12-trtllm-python-py3")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-12-01", datetime(2025, 12, 1, tzinfo=UTC)),
        ("2025-12-01T10:00:00Z", datetime(2025, 12, 1, 10, tzinfo=UTC)),
        ("2025-12-01T12:00:00+02:00", datetime(2025, 12, 1, 10, tzinfo=UTC)),
    ],
)
def test_parse_build_date_is_utc(text: str, expected: datetime) -> None:
    parsed = parse_build_date(text)
    assert parsed == expected
    assert parsed.utcoffset() is not None
    assert parsed.isoformat().endswith("+00:00")


def test_parse_build_date_rejects_garbage() -> None:
    with pytest.raises(UsageError, match="not an ISO-8601 date"):
        parse_build_date("last tuesday")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"gpu_arch": "sm90"}, "gpu_arch: Extra inputs are not permitted"),
        ({"compute_capability": "sm90"}, "compute_capability: String should match pattern"),
        ({"tp_size": "2"}, "tp_size: Input should be a valid integer"),
        ({"build_date": "2025-12-01T10:00:00"}, "build_date: Input should have timezone info"),
        ({"schema_version": 2}, "schema_version: Input should be 1"),
    ],
)
def test_read_stamp_names_file_and_field(
    make_engine: Callable[..., Path], tmp_path: Path, change: dict[str, object], field: str
) -> None:
    folder = make_engine(tmp_path, stamp_gpu="H100")
    path = folder / "crossfade-build.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    with pytest.raises(StampError) as info:
        read_stamp(folder)
    assert str(info.value).startswith(f"{path}: ")
    assert field in info.value.problem


def test_read_stamp_without_a_stamp_is_none(tmp_path: Path) -> None:
    assert read_stamp(tmp_path) is None


def test_write_stamp_refuses_an_invalid_stamp(tmp_path: Path) -> None:
    with pytest.raises(StampError, match="compute_capability"):
        write_stamp(tmp_path, {"schema_version": 1, "compute_capability": "nine"})
    assert not (tmp_path / "crossfade-build.json").exists()
