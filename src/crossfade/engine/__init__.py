"""TensorRT-LLM engine folders: read, check against an image and GPU, and stamp at build time."""

from crossfade.engine.check import check_engine
from crossfade.engine.compat import (
    GpuTarget,
    ImageVersions,
    VersionMatch,
    match_trtllm_versions,
    parse_image_tag,
    resolve_gpu,
)
from crossfade.engine.config import EngineConfigError, EngineInfo, read_engine_config
from crossfade.engine.inspect import EngineSummary, inspect_engine, summary_dict, summary_rows
from crossfade.engine.stamp import (
    BuildStamp,
    StampError,
    build_stamp,
    read_stamp,
    stamp_engine,
)

__all__ = [
    "BuildStamp",
    "EngineConfigError",
    "EngineInfo",
    "EngineSummary",
    "GpuTarget",
    "ImageVersions",
    "StampError",
    "VersionMatch",
    "build_stamp",
    "check_engine",
    "inspect_engine",
    "match_trtllm_versions",
    "parse_image_tag",
    "read_engine_config",
    "read_stamp",
    "resolve_gpu",
    "stamp_engine",
    "summary_dict",
    "summary_rows",
]
