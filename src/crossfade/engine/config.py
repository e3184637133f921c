"""Read a TensorRT-LLM engine folder: its `config.json` and the rank engine files it holds.

Two generations of `config.json` exist. Since 0.8 it has a top-level `version` with
`pretrained_config` and `build_config`; older builders wrote a flat `builder_config` instead,
which current runtimes refuse. Both are read here so a check can say which one it found.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from crossfade.errors import CrossfadeError
from crossfade.saved import parse_json

CONFIG_FILENAME = "config.json"

# rank{R}.engine since 0.8; older builders wrote e.g. gpt_float16_tp2_rank0.engine.
_RANK_FILE = re.compile(r"(?:.+_)?rank(\d+)\.engine")

EngineLayout = Literal["engine", "builder_config"]


class EngineConfigError(CrossfadeError):
    """An engine folder whose config.json is missing or cannot be read."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class EngineInfo:
    """What an engine folder says about itself; None where config.json does not say."""

    engine_dir: Path
    layout: EngineLayout
    trtllm_version: str | None
    architecture: str | None
    dtype: str | None
    quant_algo: str | None
    kv_cache_quant_algo: str | None
    tp_size: int | None
    pp_size: int | None
    world_size: int | None
    max_batch_size: int | None
    max_input_len: int | None
    max_seq_len: int | None
    max_num_tokens: int | None
    max_beam_width: int | None
    plugins: dict[str, Any] = field(default_factory=dict)
    rank_files: tuple[str, ...] = ()
    # Keys the runtime needs that config.json lacks, dotted ("build_config.max_batch_size").
    missing_keys: tuple[str, ...] = ()

    @property
    def config_path(self) -> Path:
        return self.engine_dir / CONFIG_FILENAME

    @property
    def expected_rank_count(self) -> int | None:
        if self.tp_size is None or self.pp_size is None:
            return None
        return self.tp_size * self.pp_size


def rank_of(filename: str) -> int | None:
    match = _RANK_FILE.fullmatch(filename)
    return int(match.group(1)) if match else None


def find_rank_files(engine_dir: Path) -> tuple[str, ...]:
    """Rank engine file names in the folder, by rank number (rank10 after rank2)."""
    names = [p.name for p in engine_dir.iterdir() if p.is_file() and rank_of(p.name) is not None]
    return tuple(sorted(names, key=lambda name: (rank_of(name), name)))


class _Reader:
    """Typed access to config.json values; a wrong type is an error naming the dotted key."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data

    def section(self, dotted: str) -> dict[str, Any]:
        value: Any = self.data
        for key in dotted.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise EngineConfigError(self.path, f"{dotted} must be an object")
        return value

    def text(self, section: dict[str, Any], key: str, dotted: str) -> str | None:
        value = section.get(key)
        if value is None or isinstance(value, str):
            return value
        raise EngineConfigError(self.path, f"{dotted} must be a string, got {value!r}")

    def count(self, section: dict[str, Any], key: str, dotted: str) -> int | None:
        value = section.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problem = f"{dotted} must be a positive integer, got {value!r}"
            raise EngineConfigError(self.path, problem)
        return value


def _load_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise EngineConfigError(path, "file not found; is this a TensorRT-LLM engine folder?")
    try:
        data = parse_json(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EngineConfigError(
            path, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise EngineConfigError(path, f"cannot read: {exc}") from exc
    if not isinstance(data, dict):
        raise EngineConfigError(path, "must hold a JSON object")
    return data


def read_engine_config(engine_dir: Path | str) -> EngineInfo:
    """Read an engine folder; raises EngineConfigError if config.json is missing or malformed."""
    folder = Path(engine_dir)
    if not folder.is_dir():
        raise EngineConfigError(folder, "not a folder")
    path = folder / CONFIG_FILENAME
    data = _load_json(path)
    reader = _Reader(path, data)
    ranks = find_rank_files(folder)
    # No `version` sends the runtime down the old builder_config path, so that is the layout;
    # a config with neither is a new-layout file that lost its version key.
    if "version" not in data and "builder_config" in data:
        return _read_builder_config(reader, folder, ranks)
    return _read_engine_layout(reader, folder, ranks)


def _read_engine_layout(reader: _Reader, folder: Path, ranks: tuple[str, ...]) -> EngineInfo:
    pretrained = reader.section("pretrained_config")
    mapping = reader.section("pretrained_config.mapping")
    quant = reader.section("pretrained_config.quantization")
    build = reader.section("build_config")
    tp = reader.count(mapping, "tp_size", "pretrained_config.mapping.tp_size")
    pp = reader.count(mapping, "pp_size", "pretrained_config.mapping.pp_size")
    world = reader.count(mapping, "world_size", "pretrained_config.mapping.world_size")
    required = {
        "version": reader.data.get("version"),
        "pretrained_config.mapping.tp_size": tp,
        "pretrained_config.mapping.pp_size": pp,
        "build_config.max_batch_size": build.get("max_batch_size"),
    }
    version = reader.data.get("version")
    return EngineInfo(
        engine_dir=folder,
        layout="engine",
        trtllm_version=None if version is None else str(version),
        architecture=reader.text(pretrained, "architecture", "pretrained_config.architecture"),
        dtype=reader.text(pretrained, "dtype", "pretrained_config.dtype"),
        quant_algo=reader.text(quant, "quant_algo", "quantization.quant_algo"),
        kv_cache_quant_algo=reader.text(
            quant, "kv_cache_quant_algo", "quantization.kv_cache_quant_algo"
        ),
        tp_size=tp,
        pp_size=pp,
        world_size=world if world is not None else (tp * pp if tp and pp else None),
        max_batch_size=reader.count(build, "max_batch_size", "build_config.max_batch_size"),
        max_input_len=reader.count(build, "max_input_len", "build_config.max_input_len"),
        max_seq_len=reader.count(build, "max_seq_len", "build_config.max_seq_len"),
        max_num_tokens=reader.count(build, "max_num_tokens", "build_config.max_num_tokens"),
        max_beam_width=reader.count(build, "max_beam_width", "build_config.max_beam_width"),
        plugins=dict(reader.section("build_config.plugin_config")),
        rank_files=ranks,
        missing_keys=tuple(key for key, value in required.items() if value is None),
    )


def _read_builder_config(reader: _Reader, folder: Path, ranks: tuple[str, ...]) -> EngineInfo:
    old = reader.section("builder_config")
    tp = reader.count(old, "tensor_parallel", "builder_config.tensor_parallel")
    # Builders before pipeline parallelism wrote no pipeline_parallel: one stage.
    pp = reader.count(old, "pipeline_parallel", "builder_config.pipeline_parallel") or 1
    max_input = reader.count(old, "max_input_len", "builder_config.max_input_len")
    max_output = reader.count(old, "max_output_len", "builder_config.max_output_len")
    return EngineInfo(
        engine_dir=folder,
        layout="builder_config",
        trtllm_version=None,
        architecture=reader.text(old, "name", "builder_config.name"),
        dtype=reader.text(old, "precision", "builder_config.precision"),
        quant_algo=None,
        kv_cache_quant_algo=None,
        tp_size=tp,
        pp_size=pp,
        world_size=tp * pp if tp else None,
        max_batch_size=reader.count(old, "max_batch_size", "builder_config.max_batch_size"),
        max_input_len=max_input,
        # Old builders stored an output budget; the runtime's sequence limit was the sum.
        max_seq_len=max_input + max_output if max_input and max_output else None,
        max_num_tokens=reader.count(old, "max_num_tokens", "builder_config.max_num_tokens"),
        max_beam_width=reader.count(old, "max_beam_width", "builder_config.max_beam_width"),
        plugins=dict(reader.section("plugin_config")),
        rank_files=ranks,
    )
