"""Check an engine folder against the image and GPU meant to serve it, before Triton tries.

Each problem is a Finding with a stable code. An engine that cannot load shows in Triton only
as an UNAVAILABLE model with a low-level TensorRT message, so messages quote the error users
see and hints say how to fix it.
"""

from __future__ import annotations

from pathlib import Path

from crossfade.engine.compat import (
    LAST_ENGINE_RELEASE,
    GpuTarget,
    ImageVersions,
    VersionMatch,
    image_tags_for_trtllm,
    match_trtllm_versions,
    migration_command,
    newest_engine_image,
    parse_image_tag,
    resolve_gpu,
    same_tensorrt_release,
)
from crossfade.engine.config import (
    CONFIG_FILENAME,
    EngineConfigError,
    EngineInfo,
    rank_of,
    read_engine_config,
)
from crossfade.engine.stamp import STAMP_FILENAME, BuildStamp, StampError, read_stamp
from crossfade.errors import UsageError
from crossfade.findings import Finding, Severity, sort_findings

REBUILD = "rebuild the engine with trtllm-build inside the image that will serve it"
RESTAMP = "run `crossfade engine stamp DIR` in the build container, right after trtllm-build"
# What TensorRT prints when the plan came from another TensorRT release.
TRT_VERSION_ERRORS = (
    '"Serialization assertion stdVersionRead == kSERIALIZATION_VERSION failed" or '
    '"The engine plan file is not compatible with this version of TensorRT"'
)


def _error(code: str, file: str, message: str, hint: str) -> Finding:
    return Finding(Severity.ERROR, code, file, None, message, hint)


def _warning(code: str, file: str, message: str, hint: str) -> Finding:
    return Finding(Severity.WARNING, code, file, None, message, hint)


def check_engine(
    engine_dir: Path | str, image_tag: str | None = None, gpu: str | None = None
) -> list[Finding]:
    """Problems that would stop `engine_dir` loading in `image_tag` on `gpu` (both optional).

    Raises UsageError for an unknown image tag or GPU name, or a folder that does not exist.
    """
    folder = Path(engine_dir)
    image = parse_image_tag(image_tag) if image_tag else None
    target = resolve_gpu(gpu) if gpu else None
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder")
    config_file = str(folder / CONFIG_FILENAME)
    if not (folder / CONFIG_FILENAME).is_file():
        return [
            _error(
                "engine-config-missing",
                str(folder),
                f"no {CONFIG_FILENAME}: this is not a TensorRT-LLM engine folder",
                "point at the folder trtllm-build wrote (--output_dir), "
                "which holds config.json and rank0.engine",
            )
        ]
    try:
        info = read_engine_config(folder)
    except EngineConfigError as exc:
        hint = "restore config.json from the trtllm-build output, or rebuild the engine"
        return [_error("engine-config-invalid", config_file, exc.problem, hint)]

    findings = _config_findings(info, config_file) + _rank_findings(info)
    stamp_file = str(folder / STAMP_FILENAME)
    stamp: BuildStamp | None = None
    try:
        stamp = read_stamp(folder)
    except StampError as exc:
        findings.append(_error("engine-stamp-invalid", stamp_file, exc.problem, RESTAMP))
    if stamp is not None:
        findings += _stamp_agreement_findings(info, stamp, stamp_file)
    if image is not None and (removed := engine_backend_finding(image, config_file)):
        findings.append(removed)  # no engine loads there: versions do not matter
    elif image is not None:
        findings += _image_findings(info, stamp, image, config_file, stamp_file)
    if stamp is not None or not Path(stamp_file).exists():  # an invalid stamp is reported above
        findings += _gpu_findings(folder, stamp, target, stamp_file)
    return sort_findings(findings)


def engine_backend_finding(image: ImageVersions, file: str) -> Finding | None:
    """An error when `image` runs a TensorRT-LLM that has no engine backend at all."""
    if image.engine_backend:
        return None
    message = (
        f"image {image.tag} runs TensorRT-LLM {image.trtllm_version}, which has no TensorRT "
        f"engine backend ({LAST_ENGINE_RELEASE} was the last release with it): it cannot "
        "load any engine"
    )
    hint = (
        f"serve the engine with {newest_engine_image()} (the newest image known to load "
        f"engines), or serve the checkpoint with the LLM API model: {migration_command()}"
    )
    return _error("engine-backend-removed", file, message, hint)


def _config_findings(info: EngineInfo, config_file: str) -> list[Finding]:
    if info.layout == "builder_config":
        message = (
            "engine built by TensorRT-LLM before 0.8 (builder_config layout, no 'version'); "
            'current runtimes log "No engine version found" and fail with '
            "\"[json.exception.out_of_range.403] key 'builder_config' not found\" or similar"
        )
        hint = f"{REBUILD}: convert the checkpoint, then run that image's trtllm-build"
        return [_error("engine-old-layout", config_file, message, hint)]
    findings = [
        _error(
            "engine-missing-key",
            config_file,
            f"config.json has no {key}, which the runtime reads to load the engine",
            "config.json was edited or truncated: copy it again from the trtllm-build output",
        )
        for key in info.missing_keys
    ]
    if info.max_input_len and info.max_seq_len and info.max_input_len > info.max_seq_len:
        message = (
            f"max_input_len {info.max_input_len} exceeds max_seq_len {info.max_seq_len}: "
            "a prompt that long cannot fit in a sequence"
        )
        hint = "rebuild with trtllm-build --max_input_len no larger than --max_seq_len"
        findings.append(_error("engine-input-len", config_file, message, hint))
    return findings


def _rank_findings(info: EngineInfo) -> list[Finding]:
    expected = info.expected_rank_count
    if expected is None:
        return []
    # Exactly rank0..rank{n-1}: a right count with a gap or a duplicate still fails to load.
    ranks = sorted(rank for name in info.rank_files if (rank := rank_of(name)) is not None)
    if ranks == list(range(expected)):
        return []
    message = (
        f"tp_size {info.tp_size} x pp_size {info.pp_size} needs {expected} rank engine files "
        f"(rank0 to rank{expected - 1}), found {len(info.rank_files)}: "
        f"{', '.join(info.rank_files) or 'none'}"
    )
    hint = (
        "copy every rank*.engine file trtllm-build wrote, "
        "or rebuild with the intended --tp_size/--pp_size"
    )
    return [_error("engine-rank-count", str(info.engine_dir), message, hint)]


def _stamp_agreement_findings(
    info: EngineInfo, stamp: BuildStamp, stamp_file: str
) -> list[Finding]:
    problems = []
    if info.trtllm_version and (
        match_trtllm_versions(stamp.tensorrt_llm_version, info.trtllm_version)
        is not VersionMatch.SAME
    ):
        problems.append(
            f"stamp says TensorRT-LLM {stamp.tensorrt_llm_version}, "
            f"config.json says {info.trtllm_version}"
        )
    known_mapping = info.tp_size is not None and info.pp_size is not None  # else reported missing
    if known_mapping and (stamp.tp_size, stamp.pp_size) != (info.tp_size, info.pp_size):
        problems.append(
            f"stamp says tp_size {stamp.tp_size} and pp_size {stamp.pp_size}, "
            f"config.json says {info.tp_size} and {info.pp_size}"
        )
    hint = f"the engine was rebuilt after it was stamped: {RESTAMP}"
    return [_error("engine-stamp-mismatch", stamp_file, problem, hint) for problem in problems]


def _image_findings(
    info: EngineInfo,
    stamp: BuildStamp | None,
    image: ImageVersions,
    config_file: str,
    stamp_file: str,
) -> list[Finding]:
    built = info.trtllm_version
    if built is None:  # old layout or a missing version key, both reported already
        return []
    serving = f"image {image.tag} runs TensorRT-LLM {image.trtllm_version}"
    same_release_tags = image_tags_for_trtllm(built)
    or_serve = f", or serve it with {same_release_tags[-1]}" if same_release_tags else ""
    verdict = match_trtllm_versions(built, image.trtllm_version)
    if verdict is VersionMatch.POST_RELEASE:
        message = (
            f"engine built by TensorRT-LLM {built}, {serving}: same release, another "
            "post-release build; it usually loads, but rebuild if Triton reports it UNAVAILABLE"
        )
        return [_warning("engine-version-mismatch", config_file, message, REBUILD + or_serve)]
    if verdict is VersionMatch.DIFFERENT:
        message = (
            f"engine built by TensorRT-LLM {built}, {serving} (TensorRT "
            f"{image.tensorrt_version}); Triton fails to load it with {TRT_VERSION_ERRORS}"
        )
        hint = f"{REBUILD} ({image.tag}){or_serve}"
        return [_error("engine-version-mismatch", config_file, message, hint)]
    # One TensorRT-LLM release shipped on two TensorRT releases (24.04, 24.05): only a stamp
    # that names the TensorRT version can tell those builds apart.
    built_trt = stamp.tensorrt_version if stamp else None
    if built_trt and not same_tensorrt_release(built_trt, image.tensorrt_version):
        message = (
            f"engine built with TensorRT {built_trt}, image {image.tag} runs "
            f"TensorRT {image.tensorrt_version}; Triton fails to load it with {TRT_VERSION_ERRORS}"
        )
        return [_error("engine-version-mismatch", stamp_file, message, f"{REBUILD} ({image.tag})")]
    return []


def _gpu_findings(
    folder: Path, stamp: BuildStamp | None, target: GpuTarget | None, stamp_file: str
) -> list[Finding]:
    if stamp is None:
        target_text = f" ({target.name}, SM {target.compute_capability})" if target else ""
        message = (
            f"no {STAMP_FILENAME}, so the GPU the engine was built on is unknown and a "
            f"mismatch with the serving GPU{target_text} cannot be caught before Triton loads it"
        )
        return [_warning("engine-unstamped", str(folder), message, RESTAMP)]
    if target is None or target.compute_capability == stamp.compute_capability:
        return []
    message = (
        f"engine built on {stamp.gpu} (SM {stamp.compute_capability}), target is {target.name} "
        f'(SM {target.compute_capability}); TensorRT fails with "The engine plan file is '
        f"generated on an incompatible device, expecting compute {target.compute_capability} "
        f'got compute {stamp.compute_capability}, please rebuild"'
    )
    hint = f"rebuild the engine on the target GPU (any SM {target.compute_capability} GPU)"
    return [_error("engine-gpu-mismatch", stamp_file, message, hint)]
