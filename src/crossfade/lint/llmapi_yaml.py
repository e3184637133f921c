"""The LLM API model's `model.yaml`: read with every key's line, and checked as the model uses it.

Upstream's model.py (NVIDIA/TensorRT-LLM `triton_backend/all_models/llmapi/tensorrt_llm/1/`)
loads the file with `yaml.safe_load` (a parse error fails the load), indexes
`triton_config["decoupled"]` and `triton_config["max_batch_size"]` (a missing one is a KeyError
at load), and passes every other key to `tensorrt_llm.LLM(**args)`, whose arguments are a strict
pydantic model: an unknown key fails the load on the GPU node, after the container has started.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossfade.errors import SpecError
from crossfade.findings import Finding, Severity
from crossfade.spec import llmapi_args
from crossfade.spec.located import Lines, compose, read_text

TRITON_CONFIG = llmapi_args.TRITON_CONFIG
# What the model indexes in triton_config when Triton loads it.
REQUIRED_TRITON_CONFIG = ("decoupled", "max_batch_size")


@dataclass(frozen=True)
class ModelYaml:
    """A model.yaml that parsed: its data and the line of every key (paths as tuples)."""

    path: Path
    data: dict[str, Any]
    lines: Lines

    def line(self, *keys: str) -> int | None:
        return self.lines.get(keys)

    @property
    def triton_config(self) -> dict[str, Any]:
        config = self.data.get(TRITON_CONFIG)
        return config if isinstance(config, dict) else {}

    @property
    def decoupled(self) -> bool:
        """As the model reads it: `bool(triton_config["decoupled"])`."""
        return bool(self.triton_config.get("decoupled"))

    def parallel_size(self) -> int | None:
        """tensor_parallel_size x pipeline_parallel_size (1 each unless set); None if either is
        not a whole number (reported by the argument checks)."""
        sizes = [
            self.data.get(key, 1) for key in ("tensor_parallel_size", "pipeline_parallel_size")
        ]
        if not all(isinstance(size, int) and not isinstance(size, bool) for size in sizes):
            return None
        return int(sizes[0]) * int(sizes[1])


def read_model_yaml(path: Path) -> tuple[list[Finding], ModelYaml | None]:
    """Findings of the file on its own, and the file if it parsed to a mapping."""
    try:
        data, lines = compose(read_text(path), str(path))
    except SpecError as error:
        return [_invalid(path, problem.line, problem.message) for problem in error.problems], None
    if not isinstance(data, dict):
        return [_invalid(path, 1, "the document is not a mapping of LLM() arguments")], None
    document = ModelYaml(path, data, lines)
    return _argument_findings(document) + _triton_config_findings(document), document


def _invalid(path: Path, line: int | None, problem: str) -> Finding:
    return Finding(
        Severity.ERROR,
        "llmapi-model-yaml-invalid",
        str(path),
        line,
        f"{problem}; the model fails to load ('Failed to parse YAML engine config')",
        "fix the YAML: a mapping of LLM() arguments plus triton_config",
    )


def _argument_findings(document: ModelYaml) -> list[Finding]:
    findings: list[Finding] = []
    if "model" not in document.data:
        findings.append(
            Finding(
                Severity.ERROR,
                "llmapi-arg-missing",
                str(document.path),
                1,
                "no 'model': LLM() needs the checkpoint to load and the model fails to start",
                "add model: with the Hugging Face checkpoint folder (or model id)",
            )
        )
    for key, value in document.data.items():
        if key == TRITON_CONFIG:
            continue
        problem = llmapi_args.check(str(key), value)
        if problem is not None:
            code, line = _classify(document, str(key), value)
            message, hint = problem
            findings.append(Finding(Severity.ERROR, code, str(document.path), line, message, hint))
    return findings


def _classify(document: ModelYaml, key: str, value: Any) -> tuple[str, int | None]:
    """The finding's code, and its line: a nested config's own key where the problem is one."""
    line = document.line(key)
    if key in llmapi_args.ENGINE_ERA_KEYS or (key == "backend" and value == "tensorrt"):
        return "llmapi-engine-era-key", line
    if key in llmapi_args.REMOVED_LLM_ARGS:
        return "llmapi-removed-arg", line
    if key not in llmapi_args.LLM_ARGS:
        return "llmapi-unknown-arg", line
    if key in llmapi_args.NESTED_ARGS and isinstance(value, dict):
        for name, item in value.items():
            if llmapi_args.check(key, {name: item}) is not None:
                unknown = name not in llmapi_args.NESTED_ARGS[key]
                code = "llmapi-unknown-arg" if unknown else "llmapi-arg-value"
                return code, document.line(key, str(name)) or line
    return "llmapi-arg-value", line


def _triton_config_findings(document: ModelYaml) -> list[Finding]:
    config = document.data.get(TRITON_CONFIG)
    hint = "add triton_config: {max_batch_size: 0, decoupled: true}"
    if not isinstance(config, dict):
        where = document.line(TRITON_CONFIG)
        what = "no triton_config" if config is None else "triton_config is not a mapping"
        message = (
            f"{what}: the model reads it when Triton loads it and fails "
            f"(KeyError: '{TRITON_CONFIG}')"
        )
        return [_missing(document, where, message, hint)]
    return [
        _missing(
            document,
            document.line(TRITON_CONFIG),
            f"triton_config has no {key}: the model indexes it when Triton loads it and fails "
            f"with KeyError: '{key}'",
            f"add {key}: under triton_config (max_batch_size: 0, decoupled: true to stream)",
        )
        for key in REQUIRED_TRITON_CONFIG
        if key not in config
    ]


def _missing(document: ModelYaml, line: int | None, message: str, hint: str) -> Finding:
    return Finding(
        Severity.ERROR, "llmapi-triton-config-missing", str(document.path), line, message, hint
    )
