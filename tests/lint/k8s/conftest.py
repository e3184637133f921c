"""Fixture manifests (a correct set), a cluster's own CRDs, and planting helpers."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from crossfade.findings import Finding
from crossfade.lint.k8s import K8sOptions
from crossfade.lint.k8s.crds import CHANNEL_ANNOTATION
from crossfade.lint.k8s.shipped import shipped_versions
from crossfade.lint.runner import lint_paths

FIXTURES = Path(__file__).resolve().parent / "manifests"


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    """A fresh copy of the correct manifest set, to plant mistakes in."""
    return Path(shutil.copytree(FIXTURES, tmp_path / "manifests"))


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


def located(findings: list[Finding]) -> set[tuple[str, str, int | None]]:
    return {(f.code, f.file, f.line) for f in findings}


def line_of(path: Path, text: str, start: int = 1) -> int:
    """The 1-based line where `text` first appears at or after line `start`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if i >= start and text in line)
