"""Unfilled `${var}` placeholders in a model's parameters: an error where the parameter is
required, a warning where the backend has a default.

The TensorRT-LLM backend reads string parameters verbatim, so a leftover `${engine_dir}` is a
path that does not exist (taken as no engine at all) and `${batching_strategy}` a batching type
it rejects; the pre- and postprocessing models load their tokenizer from `tokenizer_dir` as
written. Parameters with a
default (numbers, booleans, the BLS's model names) fall back to it when the value is a
placeholder.
"""

from __future__ import annotations

from dataclasses import dataclass

from crossfade.findings import Finding, Severity
from crossfade.lint.model import LintedModel, Role
from crossfade.lint.pbtxt_check import PLACEHOLDER


@dataclass(frozen=True)
class Required:
    """Why a parameter cannot be left unfilled, and what to fill it with."""

    consequence: str
    value: str


_TOKENIZER = Required(
    "the model loads its tokenizer from that literal path and fails to load",
    "the tokenizer folder (or Hugging Face id); in a crossfade spec, model.tokenizer",
)
REQUIRED: dict[Role, dict[str, Required]] = {
    "tensorrt_llm": {
        "gpt_model_path": Required(
            "no engine exists at that literal path, so the backend takes it as unset and the "
            "load fails ('Both encoder and decoder model paths are empty')",
            "the engine folder trtllm-build wrote; in a crossfade spec, tensorrtllm.engine_dir",
        ),
        "gpt_model_type": Required(
            "the load fails with 'Invalid gpt_model_type'",
            "inflight_fused_batching (or inflight_batching, V1); in a crossfade spec, "
            "tensorrtllm.batching_strategy",
        ),
    },
    "preprocessing": {"tokenizer_dir": _TOKENIZER},
    "postprocessing": {"tokenizer_dir": _TOKENIZER},
}


def check_parameter_placeholders(model: LintedModel) -> list[Finding]:
    findings: list[Finding] = []
    parameters = model.parameters()
    required = dict(REQUIRED.get(model.role, {}))
    encoder = parameters.get("encoder_model_path")
    if encoder and encoder[0] and not PLACEHOLDER.search(encoder[0]):
        required.pop("gpt_model_path", None)  # an encoder-decoder model may name either
    for key, (value, line) in sorted(parameters.items()):
        if not PLACEHOLDER.search(value):
            continue
        names = ", ".join(PLACEHOLDER.findall(value))
        need = required.get(key)
        if need is None:
            findings.append(
                Finding(
                    Severity.WARNING,
                    "leftover-var-param",
                    model.file,
                    line,
                    f"parameter '{key}' is the unfilled placeholder ${{{names}}}; "
                    "the backend ignores it and uses its built-in default",
                    "set the value, or delete the parameter to use the default on purpose",
                )
            )
            continue
        findings.append(
            Finding(
                Severity.ERROR,
                "leftover-var-required",
                model.file,
                line,
                f"parameter '{key}' is the unfilled placeholder ${{{names}}} and has no default "
                f"({model.role} needs it): {need.consequence}",
                f"set it to {need.value} (fill_template.py, or render the repository with "
                "crossfade render triton)",
            )
        )
    return findings
