"""Kubernetes manifests read with the line of every key, so each finding can name file:line.

PyYAML's composer keeps positions on its nodes and its constructor forgets them; reading the
node tree once beside the constructed data gives both. Paths are tuples of keys and list
indexes (the shape jsonschema reports), never strings, so keys like `nvidia.com/gpu` need no
escaping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from crossfade.findings import Finding, Severity

KeyPath = tuple[str | int, ...]

# libyaml's parser is about ten times faster; fall back to the pure one where it is missing.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MANIFEST_SUFFIXES = (".yaml", ".yml")
_KUSTOMIZE = "kustomize.config.k8s.io/"
# Enough to call an unparseable file a manifest (and report it) rather than someone else's YAML.
_LOOKS_LIKE_MANIFEST = re.compile(r"^apiVersion:.*^kind:|^kind:.*^apiVersion:", re.M | re.S)


@dataclass(frozen=True)
class Manifest:
    """One resource: a YAML document with `apiVersion` and `kind`, and where its keys stand."""

    file: str
    data: dict[str, Any]
    lines: dict[KeyPath, int] = field(repr=False)

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.data.get("apiVersion", ""))

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.data.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str | None:
        namespace = self.metadata.get("namespace")
        return str(namespace) if namespace else None

    @property
    def title(self) -> str:
        """How messages name this resource: `VirtualService llm`."""
        return f"{self.kind} {self.name}" if self.name else self.kind

    def line(self, path: KeyPath = ()) -> int:
        """The line of `path`, or of its nearest ancestor that is written down."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return 1

    def get(self, path: KeyPath) -> Any:
        """The value at `path`, or None where any step is missing."""
        value: Any = self.data
        for step in path:
            if isinstance(step, int) and isinstance(value, list) and 0 <= step < len(value):
                value = value[step]
            elif isinstance(step, str) and isinstance(value, dict):
                value = value.get(step)
            else:
                return None
        return value


@dataclass(frozen=True)
class ManifestFile:
    path: Path
    manifests: list[Manifest]
    findings: list[Finding]


def dotted(path: KeyPath) -> str:
    """`spec.http[0].route[1].weight`, the way people read a path."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def read_manifest_file(path: Path) -> ManifestFile | None:
    """The resources in a YAML file, or None when the file holds no Kubernetes resource."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    try:
        documents = _documents(text)
    except yaml.YAMLError as exc:
        if not _LOOKS_LIKE_MANIFEST.search(text):
            return None
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        finding = Finding(
            Severity.ERROR,
            "k8s-yaml-invalid",
            str(path),
            mark.line + 1 if mark is not None else None,
            f"not valid YAML: {problem}",
            "fix the YAML syntax (indentation, quotes, brackets)",
        )
        return ManifestFile(path, [], [finding])
    if not any(_is_resource(data) for data, _ in documents):
        return None
    manifests: list[Manifest] = []
    findings: list[Finding] = []
    for data, node in documents:
        lines: dict[KeyPath, int] = {}
        duplicates: list[tuple[KeyPath, int]] = []
        _index(node, (), lines, duplicates)
        for key_path, line in duplicates:
            findings.append(
                Finding(
                    Severity.ERROR,
                    "k8s-duplicate-key",
                    str(path),
                    line,
                    f"'{dotted(key_path)}' is given twice; YAML keeps only the last, "
                    "and kubectl --validate=strict rejects the file",
                    "keep one of them",
                )
            )
        if _is_resource(data):
            manifests.append(Manifest(str(path), data, lines))
        elif data is not None:
            findings.append(
                Finding(
                    Severity.ERROR,
                    "k8s-not-a-resource",
                    str(path),
                    node.start_mark.line + 1,
                    "this document has no apiVersion and kind, so Kubernetes cannot apply it",
                    "add apiVersion and kind, or move it out of the manifest file",
                )
            )
    return ManifestFile(path, manifests, findings)


def _is_resource(data: Any) -> bool:
    if not isinstance(data, dict) or not data.get("apiVersion") or not data.get("kind"):
        return False
    # kustomization.yaml looks like a resource but is read by kustomize, never applied.
    return not str(data["apiVersion"]).startswith(_KUSTOMIZE)


def _documents(text: str) -> list[tuple[Any, yaml.Node]]:
    loader = _LOADER(text)
    try:
        documents = []
        while loader.check_node():
            node = loader.get_node()
            documents.append((loader.construct_document(node), node))
        return documents
    finally:
        loader.dispose()


def _index(
    node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], duplicates: list[tuple[KeyPath, int]]
) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            child = (*path, name)
            if name in seen:
                duplicates.append((child, key.start_mark.line + 1))
            seen.add(name)
            # A key's line, not its value's: `weigth:` is where the mistake is written.
            lines[child] = key.start_mark.line + 1
            _index(value, child, lines, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            _index(item, (*path, position), lines, duplicates)
