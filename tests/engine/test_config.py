from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from crossfade.engine.config import EngineConfigError, read_engine_config
from crossfade.errors import CrossfadeError


def test_reads_the_engine_layout(make_engine: Callable[..., Path], tmp_path: Path) -> None:
    folder = make_engine(tmp_path, version="0.16.0", tp=2, pp=2, max_input_len=4000)
    info = read_engine_config(folder)
    assert info.layout == "engine"
    assert info.trtllm_version == "0.16.0"
    assert (info.architecture, info.dtype) == ("LlamaForCausalLM", "bfloat16")
    assert (info.quant_algo, info.kv_cache_quant_algo) == ("FP8", "FP8")
    assert (info.tp_size, info.pp_size, info.world_size) == (2, 2, 4)
    assert (info.max_batch_size, info.max_input_len, info.max_seq_len) == (64, 4000, 2048)
    assert (info.max_num_tokens, info.max_beam_width) == (8192, 1)
    assert info.plugins["tokens_per_block"] == 32
    assert info.rank_files == ("rank0.engine", "rank1.engine", "rank2.engine", "rank3.engine")
    assert info.missing_keys == ()
    assert info.expected_rank_count == 4


def test_reads_the_old_builder_config_layout(
    make_engine: Callable[..., Path], tmp_path: Path
) -> None:
    info = read_engine_config(make_engine(tmp_path, old_layout=True, tp=2))
    assert info.layout == "builder_config"
    assert info.trtllm_version is None
    assert (info.architecture, info.dtype, info.tp_size, info.pp_size) == ("llama", "float16", 2, 1)
    assert info.max_seq_len == 1024  # max_input_len 512 + max_output_len 512
    assert info.rank_files == ("llama_float16_tp2_rank0.engine", "llama_float16_tp2_rank1.engine")
    assert info.plugins == {"gpt_attention_plugin": "float16"}


def test_rank_files_sort_by_rank_and_skip_other_files(
    make_engine: Callable[..., Path], tmp_path: Path
) -> None:
    names = ["rank10.engine", "rank2.engine", "rank0.engine", "rank1.engine"]
    folder = make_engine(tmp_path, ranks=[*names, "rank0_managed_weights.safetensors"])
    (folder / "notes.engine").write_text("not a rank")
    info = read_engine_config(folder)
    assert info.rank_files == ("rank0.engine", "rank1.engine", "rank2.engine", "rank10.engine")


def test_missing_required_keys_are_recorded(
    make_engine: Callable[..., Path], tmp_path: Path
) -> None:
    dropped = ["version", "pretrained_config.mapping.tp_size", "build_config.max_batch_size"]
    folder = make_engine(tmp_path, drop=dropped)
    info = read_engine_config(folder)
    assert info.layout == "engine"  # no builder_config either: a new-layout file missing its key
    assert info.missing_keys == (
        "version",
        "pretrained_config.mapping.tp_size",
        "build_config.max_batch_size",
    )
    assert info.expected_rank_count is None


def test_missing_config_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(EngineConfigError, match="file not found") as info:
        read_engine_config(tmp_path)
    assert str(tmp_path / "config.json") in str(info.value)
    assert isinstance(info.value, CrossfadeError)


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(EngineConfigError, match="not a folder"):
        read_engine_config(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"version": "1.1.0",', "invalid JSON at line 1"),
        ("[" * 100_000, "invalid JSON at line 1 column 1: nested deeper than the JSON decoder"),
        ("[1, 2]", "must hold a JSON object"),
        ('{"version": "1", "pretrained_config": {"mapping": {"tp_size": "2"}}}',
         "pretrained_config.mapping.tp_size must be a positive integer, got '2'"),
        ('{"version": "1", "build_config": {"max_seq_len": true}}',
         "build_config.max_seq_len must be a positive integer"),
        ('{"version": "1", "build_config": []}', "build_config must be an object"),
    ],
)  # fmt: skip
def test_invalid_config_names_file_and_problem(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "config.json").write_text(text)
    with pytest.raises(EngineConfigError) as info:
        read_engine_config(tmp_path)
    assert problem in info.value.problem
    assert str(info.value).startswith(f"{tmp_path / 'config.json'}: ")


def test_version_is_read_as_text(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"version": "0.17.0.post1"}))
    assert read_engine_config(tmp_path).trtllm_version == "0.17.0.post1"
