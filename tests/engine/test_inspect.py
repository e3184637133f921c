from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from crossfade.engine.inspect import inspect_engine, summary_dict, summary_rows
from tests.support.cli_result import CliResult


def _rows(folder: Path) -> dict[str, str]:
    return dict(summary_rows(inspect_engine(folder)))


def test_rows_carry_version_parallelism_and_lengths(
    make_engine: Callable[..., Path], tmp_path: Path
) -> None:
    rows = _rows(make_engine(tmp_path, version="0.16.0", tp=2, pp=2, stamp_gpu="L40S"))
    assert rows["TensorRT-LLM"] == "0.16.0"
    assert rows["Tensor parallel (tp_size)"] == "2"
    assert rows["Pipeline parallel (pp_size)"] == "2"
    assert rows["World size"] == "4"
    assert (rows["Max input len"], rows["Max seq len"]) == ("1024", "2048")
    assert rows["Built on GPU"] == "NVIDIA L40S (SM 8.9)"
    assert rows["Build date"] == "2025-12-01T10:00:00+00:00"


def test_plugins_row_lists_only_enabled_plugins(
    make_engine: Callable[..., Path], tmp_path: Path
) -> None:
    rows = _rows(make_engine(tmp_path))
    assert rows["Plugins"] == "gpt_attention_plugin=auto, paged_kv_cache, tokens_per_block=32"


def test_unstamped_and_old_engines_say_so(make_engine: Callable[..., Path], tmp_path: Path) -> None:
    rows = _rows(make_engine(tmp_path, old_layout=True))
    assert rows["Layout"] == "pre-0.8 builder_config"
    assert rows["TensorRT-LLM"] == "-"
    assert rows["Build stamp"].startswith("none")


def test_dict_has_every_field_and_the_stamp(
    make_engine: Callable[..., Path], tmp_path: Path
) -> None:
    data = summary_dict(inspect_engine(make_engine(tmp_path, tp=2, stamp_gpu="H100")))
    assert data["rank_files"] == ["rank0.engine", "rank1.engine"]
    assert data["stamp"]["compute_capability"] == "9.0"
    assert json.loads(json.dumps(data)) == data  # JSON-ready as it is


def test_cli_inspect_text(
    make_engine: Callable[..., Path], tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    folder = make_engine(tmp_path, version="1.1.0", tp=4, max_input_len=3000, max_seq_len=4096)
    result = run_cli("engine", "inspect", str(folder))
    assert result.exit_code == 0
    lines = result.out.splitlines()
    assert lines[0].split() == ["Engine", "folder:", str(folder)]
    assert "TensorRT-LLM:                 1.1.0" in lines
    assert "Tensor parallel (tp_size):    4" in lines
    assert "Pipeline parallel (pp_size):  1" in lines
    assert "Max input len:                3000" in lines
    assert "Max seq len:                  4096" in lines


def test_cli_inspect_json(
    make_engine: Callable[..., Path], tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    folder = make_engine(tmp_path, version="0.17.0.post1", tp=2, pp=2, max_seq_len=8192)
    result = run_cli("engine", "inspect", str(folder), "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.out)
    assert data["trtllm_version"] == "0.17.0.post1"
    assert (data["tp_size"], data["pp_size"], data["world_size"]) == (2, 2, 4)
    assert (data["max_input_len"], data["max_seq_len"]) == (1024, 8192)
    assert data["layout"] == "engine"
    assert data["stamp"] is None


def test_cli_inspect_without_config_is_a_usage_error(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    result = run_cli("engine", "inspect", str(tmp_path))
    assert result.exit_code == 2
    assert f"{tmp_path / 'config.json'}: file not found" in result.err
    assert result.out == ""
