"""A spec for the LLM API model, read from a repository of the legacy engine layout (the
inflight_batcher_llm ensemble around a TensorRT engine): `crossfade init --from-repository`.

What carries over, and from where:
- `tokenizer_dir` (preprocessing, postprocessing) -> `llm_args.model` and `model.tokenizer`:
  the folder the tokenizer came from, usually the Hugging Face checkpoint the engine was built
  from; marked CHECK, since the weights may sit elsewhere.
- `tensorrt_llm` parameters -> their LLM() successors (PARAMETERS below); its
  model_transaction_policy -> `decoupled`; `gpu_device_ids` -> the one instance's GPUs.
- The engine's config.json, when the engine folder is here: tp and pp sizes, max_batch_size,
  max_num_tokens, max_seq_len; its build stamp: the image it was built for.
What has no successor is listed in the spec's closing comments.
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crossfade.engine.compat import (
    CONTAINER_RELEASES,
    TRTLLM_TAG_SUFFIX,
    at_least,
    image_tags_for_trtllm,
)
from crossfade.engine.config import EngineConfigError, EngineInfo, read_engine_config
from crossfade.engine.stamp import StampError, read_stamp
from crossfade.errors import UsageError
from crossfade.lint.checks_trtllm import engine_folder
from crossfade.lint.model import LintedModel, read_models
from crossfade.lint.pbtxt_check import PLACEHOLDER
from crossfade.spec.trtllm_parameters import BOOL_STRINGS

# tensorrt_llm parameter -> (llm_args path, how its text becomes the value).
PARAMETERS: dict[str, tuple[tuple[str, ...], str]] = {
    "kv_cache_free_gpu_mem_fraction": (("kv_cache_config", "free_gpu_memory_fraction"), "fraction"),
    "max_tokens_in_paged_kv_cache": (("kv_cache_config", "max_tokens"), "count"),
    "enable_kv_cache_reuse": (("kv_cache_config", "enable_block_reuse"), "bool"),
    "enable_chunked_context": (("enable_chunked_prefill",), "bool"),
    "batch_scheduler_policy": (("scheduler_config", "capacity_scheduler_policy"), "policy"),
}
# What the engine layout needed and the LLM API model does without: never listed as lost.
_NO_SUCCESSOR_NEEDED = {"gpt_model_path", "gpt_model_type", "gpu_device_ids"}
# Settings that moved from the model to each request.
_PER_REQUEST = {"exclude_input_in_output": "sampling_param_exclude_input_from_output"}
# The LLM API model first shipped in a Triton image with TensorRT-LLM 1.1 (25.12), as far as
# Triton's TensorRT-LLM guide shows; an older image's tag is replaced by the newest known.
_LLMAPI_SINCE = "1.1.0"


@dataclass
class Carried:
    """Values for the new spec, each with where it came from, and what was left behind."""

    llm_args: dict[tuple[str, ...], tuple[Any, str]] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def spec_from_repository(path: Path) -> str:
    """The spec text for the legacy repository at or under `path` (UsageError if none)."""
    repository, models, engine_model = _legacy_repository(path)
    carried = Carried()
    params = {k: v for k, (v, _) in engine_model.parameters().items() if not PLACEHOLDER.search(v)}
    tokenizer = next(
        (
            value
            for model in models.values()
            if model.role in ("preprocessing", "postprocessing")
            and (value := model.parameters().get("tokenizer_dir", ("", 0))[0])
            and not PLACEHOLDER.search(value)
        ),
        None,
    )
    for key, value in sorted(params.items()):
        if key in PARAMETERS:
            target, kind = PARAMETERS[key]
            converted = _convert(value, kind)
            if converted is None:
                carried.lost.append(f"{key}: {value!r} (not a valid {kind})")
            else:
                carried.llm_args[target] = (converted, f"was {key}")
        elif key in _PER_REQUEST:
            carried.lost.append(f"{key}: {value!r} (now per request: {_PER_REQUEST[key]})")
        elif key not in _NO_SUCCESSOR_NEEDED:
            carried.lost.append(f"{key}: {value!r}")
    engine = _engine(engine_model, params.get("gpt_model_path"), carried)
    image = _image(engine, params.get("gpt_model_path"), carried)
    gpus = _gpu_ids(params.get("gpu_device_ids"), engine, carried)
    return _render(repository, engine_model, tokenizer, image, gpus, carried)


def _legacy_repository(path: Path) -> tuple[Path, dict[str, LintedModel], LintedModel]:
    if not path.is_dir():
        raise UsageError(f"--from-repository {path}: not a folder")
    candidates = sorted({config.parent.parent for config in path.rglob("config.pbtxt")})
    found = []
    for repository in candidates:
        models = read_models(repository)
        engines = [model for model in models.values() if model.role == "tensorrt_llm"]
        found += [(repository, models, engine) for engine in engines]
    if not found:
        raise UsageError(
            f"--from-repository {path}: no tensorrt_llm model of the engine layout there "
            "(a config.pbtxt with the tensorrtllm backend or a gpt_model_path parameter)"
        )
    if len(found) > 1:
        names = ", ".join(str(engine.folder) for _, _, engine in found)
        raise UsageError(f"--from-repository {path}: several engine models ({names}); name one")
    return found[0]


def _convert(value: str, kind: str) -> Any:
    text = value.strip()
    if kind == "bool":
        return text.lower() in ("true", "1") if text in BOOL_STRINGS else None
    if kind == "policy":
        return text.upper() if text in ("max_utilization", "guaranteed_no_evict") else None
    try:
        number = float(text) if kind == "fraction" else int(text)
    except ValueError:
        return None
    if kind == "fraction":
        return number if 0 < number <= 1 else None
    return number if number > 0 else None


def _engine(model: LintedModel, engine_path: str | None, carried: Carried) -> EngineInfo | None:
    folder = engine_folder(model, engine_path) if engine_path else None
    if folder is None:
        carried.notes.append(
            f"the engine folder ({engine_path or 'no gpt_model_path'}) is not here: "
            "tensor_parallel_size and the batch limits are LLM() defaults; CHECK them"
        )
        return None
    try:
        info = read_engine_config(folder)
    except EngineConfigError as exc:
        carried.notes.append(f"the engine's config.json could not be read ({exc.problem})")
        return None
    for target, value, source in (
        (("tensor_parallel_size",), info.tp_size, "tp_size"),
        (("pipeline_parallel_size",), info.pp_size, "pp_size"),
        (("max_batch_size",), info.max_batch_size, "max_batch_size"),
        (("max_num_tokens",), info.max_num_tokens, "max_num_tokens"),
        (("max_seq_len",), info.max_seq_len, "max_seq_len"),
    ):
        if value is not None:
            carried.llm_args[target] = (value, f"the engine's {source}")
    return info


def _image(engine: EngineInfo | None, engine_path: str | None, carried: Carried) -> str:
    newest = f"{max(CONTAINER_RELEASES)}{TRTLLM_TAG_SUFFIX}"
    built_for = None
    if engine is not None:
        try:
            stamp = read_stamp(engine.engine_dir)
        except StampError:
            stamp = None
        tags = image_tags_for_trtllm(engine.trtllm_version or "")
        built_for = (stamp.image_tag if stamp else None) or (tags[-1] if tags else None)
    if built_for is not None:
        tag = built_for.rsplit(":", 1)[-1]
        release = tag.removesuffix(TRTLLM_TAG_SUFFIX)
        version = CONTAINER_RELEASES.get(release, ("", ""))[0]
        if at_least(version, _LLMAPI_SINCE):
            carried.notes.append(f"image: the one the engine was built for ({tag})")
            return tag
        carried.notes.append(f"image: the engine was built for {tag}, older than the LLM API model")
    carried.notes.append(f"image: the newest known, {newest}; CHECK it is the one you run")
    return newest


def _gpu_ids(value: str | None, engine: EngineInfo | None, carried: Carried) -> list[int] | None:
    if not value:
        return None
    ids = [part.strip() for part in value.split(",")]
    size = engine.tp_size * engine.pp_size if engine and engine.tp_size and engine.pp_size else 1
    if all(part.isdigit() for part in ids) and len(ids) == size:
        return [int(part) for part in ids]
    carried.lost.append(f"gpu_device_ids: {value!r} (not {size} GPU id(s) for tp x pp)")
    return None


def _render(
    repository: Path,
    engine_model: LintedModel,
    tokenizer: str | None,
    image: str,
    gpus: list[int] | None,
    carried: Carried,
) -> str:
    checkpoint = tokenizer or "/models/CHECKPOINT"
    name = re.sub(r"[^A-Za-z0-9_.\-]", "-", Path(checkpoint).name).strip("-.") or "model"
    lines = [
        f"# crossfade spec written by `crossfade init --from-repository {repository}`: the",
        "# same model served by TensorRT-LLM's LLM API model, which loads the Hugging Face",
        "# checkpoint itself (no engine, no trtllm-build). Check each line marked CHECK, then:",
        "#   crossfade render triton THIS_FILE -o NEW_REPO",
        "version: 1",
        "model:",
        f"  name: {json.dumps(name)}",
        f"  tokenizer: {json.dumps(checkpoint)}  # was tokenizer_dir",
        "tensorrtllm:",
        "  layout: llmapi",
        f"  image: {json.dumps(image)}  # CHECK",
        f"  decoupled: {json.dumps(engine_model.decoupled)}  # was {engine_model.name}'s "
        "model_transaction_policy",
    ]
    if gpus is not None:
        lines.append(f"  gpu_device_ids: [{json.dumps(gpus)}]  # was gpu_device_ids")
    lines += [
        "  llm_args:",
        "    # CHECK: the Hugging Face checkpoint to load. This is the tokenizer_dir of the old",
        "    # preprocessing model, usually the checkpoint the engine was built from.",
        f"    model: {json.dumps(checkpoint)}",
    ]
    lines += _llm_args_lines(carried.llm_args)
    lines += [
        "# Clients: the model is now 'tensorrt_llm' (not 'ensemble'), its prompt input",
        "# text_input and its output length sampling_param_max_tokens (was max_tokens).",
        *(
            line
            for note in carried.notes
            for line in textwrap.wrap(note, 96, initial_indent="# Note: ", subsequent_indent="#   ")
        ),
        "# Not carried over (no LLM() successor; the LLM API model tokenizes itself, so the",
        "# preprocessing, postprocessing, BLS and ensemble models are gone with their settings):",
        *(f"#   {item}" for item in carried.lost or ["(nothing else was set)"]),
    ]
    return "\n".join(lines) + "\n"


def _llm_args_lines(args: dict[tuple[str, ...], tuple[Any, str]]) -> list[str]:
    lines = []
    written: set[str] = set()
    for path, (value, source) in sorted(args.items()):
        if len(path) == 2 and path[0] not in written:
            written.add(path[0])
            lines.append(f"    {path[0]}:")
        indent = "      " if len(path) == 2 else "    "
        lines.append(f"{indent}{path[-1]}: {json.dumps(value)}  # {source}")
    return lines
