"""Summarise an engine folder: rows for people, a dict for `--format json`.

Both views are built from the same EngineInfo and stamp, so they never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossfade.engine.config import EngineInfo, read_engine_config
from crossfade.engine.stamp import BuildStamp, read_stamp


@dataclass(frozen=True)
class EngineSummary:
    info: EngineInfo
    stamp: BuildStamp | None


def inspect_engine(engine_dir: Path | str) -> EngineSummary:
    """Read config.json and the stamp, if any; raises CrossfadeError if either is unreadable."""
    return EngineSummary(read_engine_config(engine_dir), read_stamp(engine_dir))


def _text(value: object) -> str:
    return "-" if value is None else str(value)


def _enabled_plugins(plugins: dict[str, Any]) -> str:
    # Plugins are switched off with False/None/"disable"; anything else names a dtype or a size.
    enabled = [
        name if value is True else f"{name}={value}"
        for name, value in sorted(plugins.items())
        if value not in (False, None, "disable")
    ]
    return ", ".join(enabled) or "-"


def summary_rows(summary: EngineSummary) -> list[tuple[str, str]]:
    """(label, value) rows in reading order; "-" where the engine does not say."""
    info, stamp = summary.info, summary.stamp
    layout = "pre-0.8 builder_config" if info.layout == "builder_config" else "engine (0.8+)"
    rows = [
        ("Engine folder", str(info.engine_dir)),
        ("Layout", layout),
        ("TensorRT-LLM", _text(info.trtllm_version)),
        ("Architecture", _text(info.architecture)),
        ("Dtype", _text(info.dtype)),
        ("Quantization", _text(info.quant_algo)),
        ("KV cache quantization", _text(info.kv_cache_quant_algo)),
        ("Tensor parallel (tp_size)", _text(info.tp_size)),
        ("Pipeline parallel (pp_size)", _text(info.pp_size)),
        ("World size", _text(info.world_size)),
        ("Rank engine files", ", ".join(info.rank_files) or "none"),
        ("Max batch size", _text(info.max_batch_size)),
        ("Max input len", _text(info.max_input_len)),
        ("Max seq len", _text(info.max_seq_len)),
        ("Max num tokens", _text(info.max_num_tokens)),
        ("Max beam width", _text(info.max_beam_width)),
        ("Plugins", _enabled_plugins(info.plugins)),
    ]
    if stamp is None:
        return [*rows, ("Build stamp", "none (run `crossfade engine stamp`)")]
    return [
        *rows,
        ("Built on GPU", f"{stamp.gpu} (SM {stamp.compute_capability})"),
        ("Built in image", _text(stamp.image_tag)),
        ("TensorRT", _text(stamp.tensorrt_version)),
        ("Build date", stamp.build_date.isoformat()),
    ]


def format_rows(rows: list[tuple[str, str]]) -> str:
    width = max((len(label) for label, _ in rows), default=0)
    return "\n".join(f"{label + ':':<{width + 1}}  {value}" for label, value in rows)


def summary_dict(summary: EngineSummary) -> dict[str, Any]:
    """JSON-ready view: every EngineInfo field, plus the stamp as stored (or None)."""
    info = summary.info
    return {
        "engine_dir": str(info.engine_dir),
        "layout": info.layout,
        "trtllm_version": info.trtllm_version,
        "architecture": info.architecture,
        "dtype": info.dtype,
        "quant_algo": info.quant_algo,
        "kv_cache_quant_algo": info.kv_cache_quant_algo,
        "tp_size": info.tp_size,
        "pp_size": info.pp_size,
        "world_size": info.world_size,
        "max_batch_size": info.max_batch_size,
        "max_input_len": info.max_input_len,
        "max_seq_len": info.max_seq_len,
        "max_num_tokens": info.max_num_tokens,
        "max_beam_width": info.max_beam_width,
        "plugins": info.plugins,
        "rank_files": list(info.rank_files),
        "missing_keys": list(info.missing_keys),
        "stamp": summary.stamp.model_dump(mode="json") if summary.stamp else None,
    }
