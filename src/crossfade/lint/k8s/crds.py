"""CustomResourceDefinitions as schemas, indexed by group, version, kind: the ones crossfade
ships (shipped.py), replaced kind by kind by any given with --crd-dir or among the manifests.

Upstream CRD files are large (Istio's is ~1 MB with every Istio kind) and PyYAML builds
objects slowly, so only the documents whose text names a kind being linted are parsed, and
each parse is cached for the life of the process.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from crossfade.errors import UsageError
from crossfade.lint.k8s.load import MANIFEST_SUFFIXES, Manifest

CHANNEL_ANNOTATION = "gateway.networking.k8s.io/channel"
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# A document separator at column 0 cannot be inside a block scalar, which is indented.
_SEPARATOR = re.compile(r"^---[ \t]*(?:#.*)?$", re.M)


@dataclass(frozen=True)
class CrdVersion:
    """One version of one custom kind, with the schema the API server would enforce."""

    group: str
    kind: str
    version: str
    schema: dict[str, Any]
    served: bool
    deprecated: bool
    deprecation_warning: str | None
    channel: str | None  # Gateway API: "standard" or "experimental"
    source: str


@dataclass(frozen=True)
class CrdIndex:
    versions: dict[tuple[str, str, str], CrdVersion]

    def find(self, group: str, version: str, kind: str) -> CrdVersion | None:
        return self.versions.get((group, version, kind))

    def versions_of(self, group: str, kind: str) -> list[CrdVersion]:
        return [v for (g, _, k), v in sorted(self.versions.items()) if (g, k) == (group, kind)]

    def channel_of(self, group: str, kind: str) -> str | None:
        channels = {v.channel for v in self.versions_of(group, kind)}
        return channels.pop() if len(channels) == 1 else None


def crd_files(paths: Iterable[Path]) -> list[Path]:
    """The YAML files under each --crd-dir (a folder, or one file)."""
    files: list[Path] = []
    for path in paths:
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in MANIFEST_SUFFIXES)
        else:
            raise UsageError(f"--crd-dir {path}: no such file or folder")
    return files


def build_index(
    files: Iterable[Path],
    kinds: set[str],
    manifests: Iterable[Manifest],
    channel: str | None,
    shipped: Iterable[CrdVersion] = (),
) -> CrdIndex:
    """Every version of the `kinds` wanted: from the CRD files, from CRDs being linted, and
    from `shipped` for a kind neither defines (a cluster's own CRD replaces every shipped
    version of its kind, as it says which versions the cluster serves).

    Gateway API publishes each kind twice (standard and experimental channel); when both are
    given (or shipped), `channel` picks one, and standard is assumed without it, as it is the
    portable one.
    """
    given = _by_key(v for file in files for v in _definitions(file, kinds))
    index = {key: _pick(key, candidates, channel) for key, candidates in given.items()}
    # CRDs among the manifests count too, unless --crd-dir already defines the kind.
    for manifest in manifests:
        if manifest.kind == "CustomResourceDefinition":
            for definition in crd_versions(manifest.data, manifest.file):
                key = (definition.group, definition.version, definition.kind)
                if definition.kind in kinds and key not in given:
                    index[key] = definition
    defined = {(group, kind) for group, _, kind in index}
    fallback = _by_key(v for v in shipped if v.kind in kinds and (v.group, v.kind) not in defined)
    index |= {key: _pick(key, candidates, channel) for key, candidates in fallback.items()}
    return CrdIndex(index)


def _by_key(definitions: Iterable[CrdVersion]) -> dict[tuple[str, str, str], list[CrdVersion]]:
    grouped: dict[tuple[str, str, str], list[CrdVersion]] = {}
    for definition in definitions:
        key = (definition.group, definition.version, definition.kind)
        grouped.setdefault(key, []).append(definition)
    return grouped


def _pick(
    key: tuple[str, str, str], candidates: list[CrdVersion], channel: str | None
) -> CrdVersion:
    if len({c.source for c in candidates}) == 1:
        return candidates[0]
    wanted = channel or "standard"
    chosen = [c for c in candidates if c.channel == wanted]
    if len(chosen) == 1:
        return chosen[0]
    group, version, kind = key
    sources = ", ".join(sorted({c.source for c in candidates}))
    if channel is not None and not chosen:
        raise UsageError(
            f"--gateway-channel {channel}: no {channel}-channel CRD for {kind} "
            f"({group}/{version}) in {sources}; pass that channel's CRD with --crd-dir"
        )
    raise UsageError(
        f"{kind} ({group}/{version}) is defined by several CRD files: {sources}; "
        "pass only the one installed in the cluster"
    )


def _definitions(file: Path, kinds: set[str]) -> list[CrdVersion]:
    """The CRDs in `file` that define one of `kinds`; only those documents are parsed."""
    if not kinds:
        return []
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--crd-dir: cannot read {file}: {exc}") from exc
    alternatives = "|".join(re.escape(kind) for kind in sorted(kinds))
    names_kind = re.compile(rf"^\s*kind:\s*['\"]?(?:{alternatives})['\"]?\s*$", re.M)
    found: list[CrdVersion] = []
    for document in _SEPARATOR.split(text):
        if names_kind.search(document):
            found += [v for v in _parse(document, str(file)) if v.kind in kinds]
    return found


@lru_cache(maxsize=128)
def _parse(document: str, shown: str) -> tuple[CrdVersion, ...]:
    try:
        data = yaml.load(document, _LOADER)
    except yaml.YAMLError as exc:
        raise UsageError(f"--crd-dir: cannot read {shown}: {exc}") from exc
    if isinstance(data, dict) and data.get("kind") == "CustomResourceDefinition":
        return tuple(crd_versions(data, shown))
    return ()


def crd_versions(document: dict[str, Any], source: str) -> list[CrdVersion]:
    """Each version of the kind a CustomResourceDefinition document defines."""
    spec = document.get("spec") or {}
    names = spec.get("names") or {}
    annotations = (document.get("metadata") or {}).get("annotations") or {}
    # apiextensions/v1beta1 CRDs had one schema under spec.validation for all versions.
    shared = (spec.get("validation") or {}).get("openAPIV3Schema")
    versions = []
    for entry in spec.get("versions") or []:
        schema = (entry.get("schema") or {}).get("openAPIV3Schema") or shared
        if not isinstance(schema, dict) or not names.get("kind"):
            continue
        versions.append(
            CrdVersion(
                group=str(spec.get("group", "")),
                kind=str(names["kind"]),
                version=str(entry.get("name", "")),
                schema=schema,
                served=bool(entry.get("served", True)),
                deprecated=bool(entry.get("deprecated", False)),
                deprecation_warning=entry.get("deprecationWarning"),
                channel=annotations.get(CHANNEL_ANNOTATION),
                source=source,
            )
        )
    return versions


# The keys of an openAPIV3Schema node that constrain a value, and the Kubernetes markers the
# strict translation reads. Everything else goes: prose (description, title), defaults and
# examples, CEL rules (x-kubernetes-validations: JSON Schema cannot check them) and server-side
# merge behaviour (x-kubernetes-list-type, -map-type, ...).
_CONSTRAINTS = frozenset(
    {
        "type", "format", "enum", "pattern", "required", "nullable", "multipleOf",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
        "minLength", "maxLength", "minItems", "maxItems", "uniqueItems",
        "minProperties", "maxProperties",
        "x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string",
        "x-kubernetes-embedded-resource",
    }
)  # fmt: skip
_SCHEMA_MAPS = ("properties", "patternProperties")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf")
_SCHEMA_CHILDREN = ("items", "additionalProperties", "not")


def structural(node: dict[str, Any]) -> dict[str, Any]:
    """The schema's constraints alone: what the shipped schemas hold and what is enforced."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: structural(child) for name, child in value.items()}
        elif key in (*_SCHEMA_LISTS, "items") and isinstance(value, list):
            out[key] = [structural(child) for child in value]
        elif key in _SCHEMA_CHILDREN and isinstance(value, dict):
            out[key] = structural(value)
        elif key in _CONSTRAINTS or key == "additionalProperties":  # (it may be a boolean)
            out[key] = value
    return out


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The openAPIV3Schema as JSON Schema, with unknown keys rejected as the API server does.

    The server prunes unknown fields silently, so a typo such as `weigth:` vanishes; this is
    the equivalent of `kubectl apply --validate=strict`: every object that declares its
    properties is closed, except where `x-kubernetes-preserve-unknown-fields` keeps it open.
    """
    root = _translate(structural(schema))
    properties = root.setdefault("properties", {})
    for key in ("apiVersion", "kind"):
        properties.setdefault(key, {"type": "string"})
    properties.setdefault("metadata", {"type": "object"})
    return root


def _translate(node: dict[str, Any]) -> dict[str, Any]:
    """One structural node as draft-4 JSON Schema, closed unless marked open."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _translate(child) for name, child in value.items()}
        elif key in _SCHEMA_LISTS or (key == "items" and isinstance(value, list)):
            out[key] = [_translate(child) for child in value]
        elif key in _SCHEMA_CHILDREN and isinstance(value, dict):
            out[key] = _translate(value)
        elif key != "nullable" and not key.startswith("x-kubernetes"):
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if node.get("x-kubernetes-embedded-resource"):
        embedded = out.setdefault("properties", {})
        for key in ("apiVersion", "kind"):
            embedded.setdefault(key, {"type": "string"})
        embedded.setdefault("metadata", {"type": "object"})
    open_ended = node.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in out
    if "properties" in out and not open_ended:
        out["additionalProperties"] = False
    if node.get("nullable"):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        else:
            return {"anyOf": [{"type": "null"}, out]}
    return out
