"""Checks for models served by Triton's vLLM backend (config.pbtxt plus model.json)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from crossfade.findings import Finding, Severity
from crossfade.lint.model import LintedModel, read_text
from crossfade.saved import parse_json
from crossfade.spec import vllm_engine_args


def check_vllm_model(model: LintedModel) -> list[Finding]:
    findings: list[Finding] = []
    if not model.decoupled:
        findings.append(
            Finding(
                Severity.ERROR,
                "vllm-not-decoupled",
                model.file,
                model.decoupled_line(),
                "the vLLM backend needs the decoupled transaction policy; without "
                "auto-complete the load fails ('vLLM Triton backend must be configured to use "
                "decoupled model transaction policy')",
                "add: model_transaction_policy { decoupled: true }",
            )
        )
    parameters = model.parameters()
    for key in sorted(vllm_engine_args.OUTPUT_CAP_KEYS & parameters.keys()):
        findings.append(
            Finding(
                Severity.WARNING,
                "vllm-max-tokens-default",
                model.file,
                parameters[key][1],
                f"config parameter '{key}' does not change the output length; "
                "requests without max_tokens still stop after 16 tokens",
                vllm_engine_args.OUTPUT_CAP_HINT,
            )
        )
    folders = model.version_folders()
    if not folders:
        findings.append(
            Finding(
                Severity.ERROR,
                "vllm-model-json-missing",
                str(model.folder),
                None,
                "no version folder with model.json",
                "add 1/model.json with the engine arguments",
            )
        )
    for folder in folders:
        findings += _check_model_json(model, folder)
    return findings


def _check_model_json(model: LintedModel, folder: Path) -> list[Finding]:
    path = folder / "model.json"
    if not path.is_file():
        return [
            Finding(
                Severity.ERROR,
                "vllm-model-json-missing",
                str(folder),
                None,
                "model.json is missing; the vLLM backend asserts on load",
                "write the engine arguments to model.json",
            )
        ]
    findings, text, args = _engine_arg_findings(path)
    if args is not None:
        findings += _cross_checks(model, path, text, args, folder)
    return findings


def check_model_json_file(path: Path) -> list[Finding]:
    """A model.json on its own (no config.pbtxt beside its version folder): its engine args."""
    return _engine_arg_findings(path)[0]


def _engine_arg_findings(path: Path) -> tuple[list[Finding], str, dict[str, Any] | None]:
    """Findings for the engine arguments in `path`, its text, and the arguments if readable."""
    text, unreadable = read_text(path)
    if text is None:
        return [_invalid_json(path, None, str(unreadable))], "", None
    try:
        args = parse_json(text)
    except json.JSONDecodeError as exc:
        return [_invalid_json(path, exc.lineno, exc.msg)], text, None
    if not isinstance(args, dict):
        return [_invalid_json(path, 1, "not a JSON object")], text, None
    findings: list[Finding] = []
    for key, value in args.items():
        line = _json_key_line(text, key)
        problem = vllm_engine_args.check(key, value)
        if problem is not None:
            message, hint = problem
            code = (
                "vllm-max-tokens-default"
                if key in vllm_engine_args.OUTPUT_CAP_KEYS
                else (
                    "vllm-engine-arg-value"
                    if key in vllm_engine_args.ENGINE_ARGS
                    else "vllm-unknown-engine-arg"
                )
            )
            findings.append(Finding(Severity.ERROR, code, str(path), line, message, hint))
        elif vllm_engine_args.is_legacy(key):
            findings.append(
                Finding(
                    Severity.WARNING,
                    "vllm-legacy-engine-arg",
                    str(path),
                    line,
                    f"'{key}' is accepted only by older vLLM releases "
                    f"(not by {vllm_engine_args.VLLM_VERSION})",
                    "drop it unless the container's vLLM still takes it",
                )
            )
    return findings, text, args


def _invalid_json(path: Path, line: int | None, problem: str) -> Finding:
    return Finding(
        Severity.ERROR,
        "vllm-model-json-invalid",
        str(path),
        line,
        f"{problem}; the vLLM backend cannot read its engine arguments",
        "write the engine arguments as one JSON object (AsyncEngineArgs keys)",
    )


def _cross_checks(
    model: LintedModel, path: Path, text: str, args: dict[str, Any], folder: Path
) -> list[Finding]:
    findings: list[Finding] = []
    parallel = _as_int(args.get("tensor_parallel_size")) * _as_int(
        args.get("pipeline_parallel_size")
    )
    for kind, line in model.instance_kinds():
        if kind == "KIND_GPU" and parallel > 1:
            findings.append(
                Finding(
                    Severity.ERROR,
                    "vllm-kind-gpu-parallel",
                    model.file,
                    line,
                    f"KIND_GPU with tensor x pipeline parallelism {parallel} fails to load: "
                    "Triton would start one instance per GPU, each wanting all of them",
                    "use kind: KIND_MODEL",
                )
            )
    metrics = model.parameters().get("REPORT_CUSTOM_METRICS")
    if metrics and metrics[0].lower() in ("true", "yes", "1") and args.get("disable_log_stats"):
        findings.append(
            Finding(
                Severity.WARNING,
                "vllm-metrics-without-stats",
                str(path),
                _json_key_line(text, "disable_log_stats"),
                "REPORT_CUSTOM_METRICS is on but disable_log_stats is true: no vllm:* metrics",
                "remove disable_log_stats or set it to false",
            )
        )
    if args.get("enable_lora") in (True, "true") and not (folder / "multi_lora.json").is_file():
        findings.append(
            Finding(
                Severity.ERROR,
                "vllm-lora-json-missing",
                str(path),
                _json_key_line(text, "enable_lora"),
                "enable_lora is set but multi_lora.json is missing",
                'add multi_lora.json: {"adapter-name": "/path/to/adapter"}',
            )
        )
    return findings


def _as_int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 1


def _json_key_line(text: str, key: str) -> int | None:
    match = re.search(rf'"{re.escape(key)}"\s*:', text)
    return text.count("\n", 0, match.start()) + 1 if match else None
