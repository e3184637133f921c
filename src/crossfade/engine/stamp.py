"""`crossfade-build.json`: a record, written in the build container, of what built an engine.

config.json names the TensorRT-LLM version but not the GPU, and TensorRT refuses a plan built
for another compute capability. The stamp keeps those facts next to the engine so `check` can
catch the mismatch before Triton does.
"""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from crossfade import __version__
from crossfade.engine.compat import (
    GpuTarget,
    ImageVersions,
    VersionMatch,
    match_trtllm_versions,
    parse_image_tag,
    resolve_gpu,
)
from crossfade.engine.config import EngineInfo, read_engine_config
from crossfade.errors import CrossfadeError, UsageError

STAMP_FILENAME = "crossfade-build.json"
STAMP_SCHEMA_VERSION = 1


class StampError(CrossfadeError):
    """A crossfade-build.json that cannot be read or does not validate."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class BuildStamp(BaseModel):
    """The stamp file's schema. Unknown keys are rejected so a typo cannot pass as a fact."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    schema_version: Literal[1]
    tensorrt_llm_version: str = Field(min_length=1)
    tensorrt_version: str | None = None
    gpu: str = Field(min_length=1)
    compute_capability: str = Field(pattern=r"^\d{1,2}\.\d$")
    build_date: AwareDatetime
    image_tag: str | None = None
    tp_size: int = Field(ge=1)
    pp_size: int = Field(ge=1)
    crossfade_version: str


@dataclass(frozen=True)
class BuildFacts:
    """What the build environment knows that config.json does not."""

    trtllm_version: str
    tensorrt_version: str | None
    gpu: GpuTarget
    build_date: datetime
    image_tag: str | None


def build_stamp(info: EngineInfo, facts: BuildFacts) -> dict[str, Any]:
    """The stamp for an engine, as the JSON object to write."""
    if info.tp_size is None or info.pp_size is None:
        raise UsageError(f"{info.config_path}: no tp_size/pp_size in mapping; cannot stamp it")
    return {
        "schema_version": STAMP_SCHEMA_VERSION,
        "tensorrt_llm_version": facts.trtllm_version,
        "tensorrt_version": facts.tensorrt_version,
        "gpu": facts.gpu.name,
        "compute_capability": facts.gpu.compute_capability,
        "build_date": facts.build_date.astimezone(UTC).isoformat(),
        "image_tag": facts.image_tag,
        "tp_size": info.tp_size,
        "pp_size": info.pp_size,
        "crossfade_version": __version__,
    }


def write_stamp(engine_dir: Path, stamp: dict[str, Any]) -> Path:
    path = engine_dir / STAMP_FILENAME
    text = json.dumps(stamp, indent=2) + "\n"
    _validate(path, text)  # never leave a stamp that read_stamp would reject
    path.write_text(text, encoding="utf-8")
    return path


def read_stamp(engine_dir: Path | str) -> BuildStamp | None:
    """The folder's stamp, or None when it has none; StampError when it is unreadable."""
    path = Path(engine_dir) / STAMP_FILENAME
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StampError(path, f"cannot read: {exc}") from exc
    return _validate(path, text)


def _validate(path: Path, text: str) -> BuildStamp:
    try:
        return BuildStamp.model_validate_json(text)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(file)'}: {error['msg']}"
            for error in exc.errors()
        )
        raise StampError(path, problems) from exc


def detect_gpu() -> GpuTarget | None:
    """GPU 0 as nvidia-smi reports it, or None when nvidia-smi is not installed."""
    binary = shutil.which("nvidia-smi")
    if binary is None:
        return None
    query = [binary, "--query-gpu=name,compute_cap", "--format=csv,noheader"]
    result = subprocess.run(query, capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()
        raise UsageError(f"nvidia-smi failed ({detail}); pass --gpu NAME instead")
    gpus = []
    for line in result.stdout.splitlines():
        if line.strip():
            name, _, capability = line.rpartition(",")
            name, capability = name.strip(), capability.strip()
            known = capability[:1].isdigit()  # older drivers print "[N/A]"
            gpus.append(GpuTarget(name, capability) if known else resolve_gpu(name))
    if not gpus:
        raise UsageError("nvidia-smi listed no GPUs; pass --gpu NAME instead")
    if len({gpu.compute_capability for gpu in gpus}) > 1:
        raise UsageError("this machine has GPUs of different compute capability; pass --gpu NAME")
    return gpus[0]


def installed_version(distribution: str) -> str | None:
    """Version of a Python package in this environment ("tensorrt_llm", "tensorrt"), if any."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def parse_build_date(text: str) -> datetime:
    """An ISO-8601 date or time; one without a zone is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        example = "e.g. 2025-12-01T10:00:00Z"
        raise UsageError(f"--build-date {text!r} is not an ISO-8601 date ({example})") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _resolve_trtllm_version(info: EngineInfo, given: str | None) -> str:
    if (
        info.trtllm_version
        and given
        and match_trtllm_versions(info.trtllm_version, given) is not VersionMatch.SAME
    ):
        raise UsageError(
            f"{info.config_path} says TensorRT-LLM {info.trtllm_version} "
            f"but --trtllm-version says {given}"
        )
    version = info.trtllm_version or given or installed_version("tensorrt_llm")
    if version is None:
        raise UsageError(
            f"{info.config_path} has no version and tensorrt_llm is not installed here; "
            "pass --trtllm-version"
        )
    return version


def _resolve_tensorrt_version(trtllm_version: str, image: ImageVersions | None) -> str | None:
    if image is not None:
        return image.tensorrt_version
    # The installed TensorRT is the engine's only if this is the container that built it.
    installed_trtllm = installed_version("tensorrt_llm")
    if (
        installed_trtllm
        and match_trtllm_versions(installed_trtllm, trtllm_version) is VersionMatch.SAME
    ):
        return installed_version("tensorrt")
    return None


def resolve_build_facts(
    info: EngineInfo,
    *,
    gpu: str | None = None,
    image_tag: str | None = None,
    trtllm_version: str | None = None,
    build_date: str | None = None,
) -> BuildFacts:
    """Gather the stamp's facts from flags first, then from the machine we run on."""
    trtllm = _resolve_trtllm_version(info, trtllm_version)
    image = parse_image_tag(image_tag) if image_tag else None
    if image and match_trtllm_versions(trtllm, image.trtllm_version) is VersionMatch.DIFFERENT:
        raise UsageError(
            f"image {image.tag} runs TensorRT-LLM {image.trtllm_version} but the engine was "
            f"built by {trtllm}; pass the tag of the container that built it"
        )
    target = resolve_gpu(gpu) if gpu else detect_gpu()
    if target is None:
        raise UsageError("nvidia-smi not found, so the build GPU is unknown; pass --gpu NAME")
    return BuildFacts(
        trtllm_version=trtllm,
        tensorrt_version=_resolve_tensorrt_version(trtllm, image),
        gpu=target,
        build_date=(
            parse_build_date(build_date) if build_date else datetime.now(UTC).replace(microsecond=0)
        ),
        image_tag=image.tag if image else None,
    )


def stamp_engine(
    engine_dir: Path | str,
    *,
    gpu: str | None = None,
    image_tag: str | None = None,
    trtllm_version: str | None = None,
    build_date: str | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Write crossfade-build.json into an engine folder; returns its path and contents."""
    info = read_engine_config(engine_dir)
    facts = resolve_build_facts(
        info, gpu=gpu, image_tag=image_tag, trtllm_version=trtllm_version, build_date=build_date
    )
    stamp = build_stamp(info, facts)
    return write_stamp(info.engine_dir, stamp), stamp
