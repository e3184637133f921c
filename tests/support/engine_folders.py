"""Engine folders built from the documented config.json layout (TensorRT-LLM's engine build
output), with empty rank files and optionally a crossfade build stamp."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# Stamped GPU names as nvidia-smi prints them, with their compute capability.
SMI_GPUS = {"H100": ("NVIDIA H100 80GB HBM3", "9.0"), "L40S": ("NVIDIA L40S", "8.9")}


def make_engine(
    tmp_path: Path,
    *,
    version: str = "1.1.0",
    tp: int = 1,
    pp: int = 1,
    ranks: Iterable[str] | None = None,
    old_layout: bool = False,
    stamp_gpu: str | None = None,
    stamp_version: str | None = None,
    stamp_tensorrt: str | None = None,
    max_input_len: int = 1024,
    max_seq_len: int = 2048,
    max_batch_size: int = 64,
    drop: Iterable[str] = (),
    name: str = "engine",
) -> Path:
    """Write an engine folder: config.json, empty rank files, and optionally a stamp.

    `ranks` defaults to rank0..rank{tp*pp-1}.engine; `drop` removes dotted keys from config.json;
    `stamp_gpu` ("H100", "L40S") writes crossfade-build.json by hand, independent of the writer.
    """
    folder = tmp_path / name
    folder.mkdir()
    config = _old_config(tp, pp) if old_layout else _config(version, tp, pp, max_batch_size)
    if not old_layout:
        config["build_config"].update(max_input_len=max_input_len, max_seq_len=max_seq_len)
    for dotted in drop:
        *parents, leaf = dotted.split(".")
        section = config
        for key in parents:
            section = section[key]
        del section[leaf]
    (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    if ranks is None:
        prefix = f"llama_float16_tp{tp}_" if old_layout else ""
        ranks = [f"{prefix}rank{rank}.engine" for rank in range(tp * pp)]
    for rank_file in ranks:
        (folder / rank_file).write_bytes(b"plan")
    if stamp_gpu is not None:
        gpu_name, capability = SMI_GPUS[stamp_gpu]
        stamp = {
            "schema_version": 1,
            "tensorrt_llm_version": stamp_version or version,
            "tensorrt_version": stamp_tensorrt,
            "gpu": gpu_name,
            "compute_capability": capability,
            "build_date": "2025-12-01T10:00:00+00:00",
            "image_tag": None,
            "tp_size": tp,
            "pp_size": pp,
            "crossfade_version": "0.1.0",
        }
        (folder / "crossfade-build.json").write_text(json.dumps(stamp), encoding="utf-8")
    return folder


def _config(version: str, tp: int, pp: int, max_batch_size: int) -> dict[str, Any]:
    return {
        "version": version,
        "pretrained_config": {
            "architecture": "LlamaForCausalLM",
            "dtype": "bfloat16",
            "mapping": {"world_size": tp * pp, "tp_size": tp, "pp_size": pp, "cp_size": 1},
            "quantization": {"quant_algo": "FP8", "kv_cache_quant_algo": "FP8"},
        },
        "build_config": {
            "max_batch_size": max_batch_size,
            "max_beam_width": 1,
            "max_num_tokens": 8192,
            "plugin_config": {
                "gpt_attention_plugin": "auto",
                "gemm_plugin": None,
                "paged_kv_cache": True,
                "use_fp8_context_fmha": False,
                "tokens_per_block": 32,
            },
        },
    }


def _old_config(tp: int, pp: int) -> dict[str, Any]:
    return {
        "builder_config": {
            "name": "llama",
            "precision": "float16",
            "tensor_parallel": tp,
            "pipeline_parallel": pp,
            "max_batch_size": 8,
            "max_input_len": 512,
            "max_output_len": 512,
        },
        "plugin_config": {"gpt_attention_plugin": "float16"},
    }
