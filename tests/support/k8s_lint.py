"""Linting manifests with Kubernetes options, and the CustomResourceDefinitions a cluster would
have (made from the schemas crossfade ships) for --crd-dir."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from crossfade.findings import Finding
from crossfade.lint.k8s import K8sOptions
from crossfade.lint.k8s.crds import CHANNEL_ANNOTATION
from crossfade.lint.k8s.shipped import shipped_versions
from crossfade.lint.runner import lint_paths


def cluster_crd(
    folder: Path,
    kind: str,
    channel: str | None = None,
    change: Callable[[dict[str, Any]], object] = lambda version: None,
) -> Path:
    """A --crd-dir file: the CustomResourceDefinition of `kind` as a cluster would have it,
    made from the shipped schema (one channel of it), with `change` applied to each version."""
    versions = [v for v in shipped_versions({kind}) if v.channel == channel]
    assert versions, f"no shipped {kind} in channel {channel}"
    entries = []
    for version in versions:
        entry = {
            "name": version.version,
            "served": version.served,
            "storage": version is versions[0],
            "schema": {"openAPIV3Schema": copy.deepcopy(version.schema)},
        }
        change(entry)
        entries.append(entry)
    group = versions[0].group
    metadata: dict[str, Any] = {"name": f"{kind.lower()}s.{group}"}
    if channel is not None:
        metadata["annotations"] = {CHANNEL_ANNOTATION: channel}
    document = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": metadata,
        "spec": {
            "group": group,
            "names": {"kind": kind},
            "scope": "Namespaced",
            "versions": entries,
        },
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind.lower()}{'-' + channel if channel else ''}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def lint(*paths: Path, crds: tuple[Path, ...] = (), **options: object) -> list[Finding]:
    return lint_paths(list(paths), k8s=K8sOptions(crd_paths=crds, **options))  # type: ignore[arg-type]
