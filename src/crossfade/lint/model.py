"""One model folder of a repository as lint sees it: its config, read both ways, and files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crossfade.lint.pbtxt_check import ParsedConfig
from crossfade.lint.textproto import Field, unquote

_TRUE = {"true", "True", "t", "1"}


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

    def version_folders(self) -> list[Path]:
        return sorted(p for p in self.folder.iterdir() if p.is_dir() and p.name.isdigit())
