"""One model folder of a repository as lint sees it: its config, read both ways, and files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from crossfade.lint.pbtxt_check import ParsedConfig, check_config
from crossfade.lint.textproto import Field, unquote

_TRUE = {"true", "True", "t", "1"}
# What a model is in the TensorRT-LLM or vLLM layouts, whatever its folder is called.
Role = Literal[
    "vllm",
    "ensemble",
    "preprocessing",
    "postprocessing",
    "tensorrt_llm",
    "bls",
    "llmapi",
    "other",
]
# The roles of TensorRT-LLM's legacy engine layout (the inflight_batcher_llm models).
ENGINE_LAYOUT_ROLES = frozenset({"preprocessing", "postprocessing", "tensorrt_llm", "bls"})
LLMAPI_CONFIG = "model.yaml"


@dataclass
class LintedModel:
    name: str
    folder: Path
    config: ParsedConfig

    @property
    def file(self) -> str:
        return self.config.path

    @property
    def root(self) -> Field:
        return self.config.located

    @property
    def backend(self) -> str:
        return unquote(self.root.scalar("backend") or "")

    @property
    def platform(self) -> str:
        return unquote(self.root.scalar("platform") or "")

    @property
    def role(self) -> Role:
        """Told from the config (backend, tensors, parameters), not from the folder name.

        Pre- and postprocessing are told by their inputs first: the upstream preprocessing
        template also carries gpt_model_path (the engine, for multimodal models).
        """
        if self.backend == "vllm":
            return "vllm"
        if self.platform == "ensemble":
            return "ensemble"
        inputs = set(self.tensor_names("input"))
        if "QUERY" in inputs:
            return "preprocessing"
        if "TOKENS_BATCH" in inputs:
            return "postprocessing"
        parameters = self.parameters()
        if self.backend == "tensorrtllm" or {"gpt_model_path", "gpt_model_type"} & set(parameters):
            return "tensorrt_llm"
        if "tensorrt_llm_model_name" in parameters:
            return "bls"
        if self.backend == "python" and self._is_llmapi(inputs):
            return "llmapi"
        return "other"

    def _is_llmapi(self, inputs: set[str]) -> bool:
        """TensorRT-LLM's LLM API model: its model.yaml, or its tensors (a prompt as text and
        the sampling_param_* inputs) when model.yaml is the thing missing."""
        if any((folder / LLMAPI_CONFIG).is_file() for folder in self.version_folders()):
            return True
        return "text_input" in inputs and any(n.startswith("sampling_param_") for n in inputs)

    @property
    def decoupled(self) -> bool:
        policy = self.root.first("model_transaction_policy")
        value = policy.scalar("decoupled") if policy else None
        return value in _TRUE

    def decoupled_line(self) -> int:
        policy = self.root.first("model_transaction_policy")
        node = policy.first("decoupled") if policy else None
        return (node or policy or self.root).line

    def tensor_names(self, kind: str) -> list[str]:
        """Names of `input` or `output` tensors, in file order."""
        return [unquote(node.scalar("name") or "") for node in self.root.all(kind)]

    def parameters(self) -> dict[str, tuple[str, int]]:
        """parameter key -> (string_value, line of the value)."""
        found: dict[str, tuple[str, int]] = {}
        for node in self.root.all("parameters"):
            key = unquote(node.scalar("key") or "")
            value = node.first("value")
            string_value = value.first("string_value") if value else None
            if string_value is not None and string_value.value is not None:
                found[key] = (unquote(string_value.value), string_value.value_line)
            else:
                found[key] = ("", node.line)
        return found

    def instance_kinds(self) -> list[tuple[str, int]]:
        kinds = []
        for group in self.root.all("instance_group"):
            kind = group.first("kind")
            kinds.append((kind.value or "", kind.line) if kind else ("KIND_AUTO", group.line))
        return kinds

    def instance_count(self) -> int:
        """Instances Triton starts (one per instance_group entry when no count is given)."""
        total = 0
        for group in self.root.all("instance_group"):
            count = group.scalar("count")
            total += int(count) if count is not None and count.isdigit() else 1
        return total or 1

    def instance_gpus(self) -> set[int] | None:
        """GPU ids the instance groups name, or None when any group may use every GPU."""
        gpus: set[int] = set()
        groups = self.root.all("instance_group")
        for group in groups:
            ids = [node.value or "" for node in group.all("gpus")]
            if not ids or not all(i.isdigit() for i in ids):
                return None
            gpus.update(int(i) for i in ids)
        return gpus if groups else None

    def version_folders(self) -> list[Path]:
        return sorted(p for p in self.folder.iterdir() if p.is_dir() and p.name.isdigit())


def read_text(path: Path) -> tuple[str | None, str | None]:
    """The text of a file lint reads, or why it cannot be read: lint reports it and goes on."""
    try:
        return path.read_text(encoding="utf-8"), None
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})"
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"


def read_models(repository: Path) -> dict[str, LintedModel]:
    """The models of `repository` whose config.pbtxt can be read (lint reports the others)."""
    models = {}
    for config_path in sorted(repository.glob("*/config.pbtxt")):
        text, _ = read_text(config_path)
        if text is not None:
            parsed, _ = check_config(str(config_path), text)
            models[config_path.parent.name] = LintedModel(
                config_path.parent.name, config_path.parent, parsed
            )
    return models
