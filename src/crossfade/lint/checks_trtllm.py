"""Checks for the legacy engine layout: the `tensorrt_llm` model and its BLS (parameters,
streaming, the engine folder), and the one finding a repository of that layout gets because
TensorRT-LLM removed the engine backend after 1.3.0rc20."""

from __future__ import annotations

from pathlib import Path

from crossfade.engine.check import check_engine
from crossfade.engine.compat import LAST_ENGINE_RELEASE, migration_command, newest_engine_image
from crossfade.findings import Finding, Severity
from crossfade.lint.model import ENGINE_LAYOUT_ROLES, LintedModel
from crossfade.lint.pbtxt_check import PLACEHOLDER
from crossfade.spec import trtllm_parameters as params
from crossfade.spec.suggest import did_you_mean

_BOOL_PARAMETERS = (
    "enable_chunked_context",
    "enable_kv_cache_reuse",
    "exclude_input_in_output",
    "normalize_log_probs",
    "kv_cache_onboard_blocks",
    "enable_trt_overlap",
    "multi_block_mode",
    "enable_context_fmha_fp32_acc",
    "cuda_graph_mode",
    "speculative_decoding_fast_logits",
)
_FRACTION_PARAMETERS = (
    "kv_cache_free_gpu_mem_fraction",
    "lora_cache_gpu_memory_fraction",
    "cross_kv_cache_fraction",
)


def check_tensorrt_llm(
    model: LintedModel, image: str | None = None, gpu: str | None = None
) -> list[Finding]:
    findings = _check_parameters(model)
    if not model.decoupled and "streaming" in model.tensor_names("input"):
        findings.append(_stream_finding(model))
    engine = model.parameters().get("gpt_model_path")
    if engine and not PLACEHOLDER.search(engine[0]):
        folder = engine_folder(model, engine[0])
        if folder is not None:
            findings += check_engine(folder, image, gpu)
    return findings


def check_engine_layout(repository: Path, models: list[LintedModel]) -> list[Finding]:
    """One warning for a repository that serves TensorRT engines: the models of the
    inflight_batcher_llm layout (C++ `tensorrtllm` backend, pre/postprocessing, BLS), or an
    engine folder (config.json beside rank*.engine files) inside it."""
    legacy = sorted(model.name for model in models if model.role in ENGINE_LAYOUT_ROLES)
    engines = sorted(
        str(path.parent.relative_to(repository))
        for path in repository.rglob("*.engine")
        if (path.parent / "config.json").is_file()
    )
    if not legacy and not engines:
        return []
    what = f"models {', '.join(legacy)}" if legacy else ""
    if engines:
        folders = f"engine folder(s) {', '.join(dict.fromkeys(engines))}"
        what = f"{what} and {folders}" if what else folders
    message = (
        f"this repository serves TensorRT engines ({what}); TensorRT-LLM removed the engine "
        f"backend after {LAST_ENGINE_RELEASE}, the last release that loads them, and "
        f"{newest_engine_image()} is the newest Triton image known to ship one"
    )
    hint = (
        "move to the LLM API model, which loads the Hugging Face checkpoint itself: "
        + migration_command(str(repository))
    )
    return [
        Finding(
            Severity.WARNING, "trtllm-engine-layout-removed", str(repository), None, message, hint
        )
    ]


def check_bls(model: LintedModel) -> list[Finding]:
    if not model.decoupled and "stream" in model.tensor_names("input"):
        return [_stream_finding(model)]
    return []


def _stream_finding(model: LintedModel) -> Finding:
    return Finding(
        Severity.WARNING,
        "stream-not-decoupled",
        model.file,
        model.decoupled_line(),
        f"'{model.name}' takes streaming requests but is not decoupled; they fail with "
        "'Streaming is only supported if model is deployed using decoupled mode.'",
        "set model_transaction_policy { decoupled: true } (decoupled_mode:true)",
    )


def _check_parameters(model: LintedModel) -> list[Finding]:
    findings: list[Finding] = []
    for key, (value, line) in sorted(model.parameters().items()):
        if PLACEHOLDER.search(value):
            continue  # reported by the placeholder check
        if key not in params.KNOWN:
            findings.append(
                Finding(
                    Severity.WARNING,
                    "trtllm-unknown-parameter",
                    model.file,
                    line,
                    f"'{key}' is not a tensorrt_llm parameter; it is ignored",
                    did_you_mean(key, params.KNOWN),
                )
            )
        elif key == "gpt_model_type" and value not in params.BATCHING_STRATEGIES:
            findings.append(
                Finding(
                    Severity.ERROR,
                    "trtllm-invalid-gpt-model-type",
                    model.file,
                    line,
                    f"gpt_model_type '{value}' makes the load fail ('Invalid gpt_model_type')",
                    "use inflight_fused_batching, inflight_batching or V1",
                )
            )
        elif key == "batch_scheduler_policy" and value not in params.BATCH_SCHEDULER_POLICIES:
            findings.append(
                Finding(
                    Severity.WARNING,
                    "trtllm-invalid-scheduler-policy",
                    model.file,
                    line,
                    f"batch_scheduler_policy '{value}' is not known; "
                    "the backend warns and uses guaranteed_no_evict",
                    "use max_utilization or guaranteed_no_evict",
                )
            )
        elif key in _FRACTION_PARAMETERS and not _is_fraction(value):
            findings.append(
                Finding(
                    Severity.ERROR,
                    "fraction-out-of-range",
                    model.file,
                    line,
                    f"{key} is '{value}'; it must be a number in (0, 1]",
                    "e.g. 0.9",
                )
            )
        elif key in _BOOL_PARAMETERS and value not in params.BOOL_STRINGS:
            findings.append(
                Finding(
                    Severity.WARNING,
                    "trtllm-invalid-bool",
                    model.file,
                    line,
                    f"{key} is '{value}', which the backend cannot parse as a boolean; "
                    "its default applies",
                    "use true or false",
                )
            )
    return findings


def _is_fraction(value: str) -> bool:
    try:
        number = float(value)
    except ValueError:
        return False
    return 0.0 < number <= 1.0


def engine_folder(model: LintedModel, engine_path: str) -> Path | None:
    """The engine folder on this machine, if it is here (relative paths: from the repository)."""
    path = Path(engine_path)
    for candidate in (path, model.folder.parent / path, model.folder / path):
        if (candidate / "config.json").is_file():
            return candidate
    return None
