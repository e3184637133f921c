"""The CRD schemas crossfade ships, so Istio, Gateway API, InferencePool, Argo Rollouts, Flagger
and Prometheus Operator objects are checked without --crd-dir.

`crd_schemas/` holds the structural schema (constraints only, no prose) of each upstream CRD,
one file per kind (and Gateway API channel), written by scripts/gen_crd_schemas.py;
`crd_schemas/index.json` records each source's repository, commit and path. Only the files of
kinds being linted are read, once per process.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from crossfade.lint.k8s.crds import CrdVersion

INDEX = "index.json"


@dataclass(frozen=True)
class ShippedKind:
    """One entry of index.json: a kind (in one channel) and the file holding its versions."""

    group: str
    kind: str
    channel: str | None
    file: str


def shipped_versions(kinds: set[str]) -> list[CrdVersion]:
    """Every shipped version of the `kinds` wanted, in both Gateway API channels."""
    return [v for entry in shipped_kinds() if entry.kind in kinds for v in _versions(entry.file)]


@cache
def shipped_kinds() -> tuple[ShippedKind, ...]:
    index = json.loads(_read(INDEX))
    return tuple(
        ShippedKind(e["group"], e["kind"], e.get("channel"), e["file"]) for e in index["kinds"]
    )


@cache
def _versions(file: str) -> tuple[CrdVersion, ...]:
    data = json.loads(_read(file))
    schemas: list[dict[str, Any]] = data["schemas"]
    return tuple(
        CrdVersion(
            group=data["group"],
            kind=data["kind"],
            version=version["name"],
            schema=schemas[version["schema"]],
            served=version["served"],
            deprecated=version["deprecated"],
            deprecation_warning=None,
            channel=data.get("channel"),
            source=data["source"],
        )
        for version in data["versions"]
    )


def _read(name: str) -> str:
    return (resources.files("crossfade.lint.k8s") / "crd_schemas" / name).read_text("utf-8")
