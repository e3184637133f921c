"""Fixture manifests (a correct set), the shared upstream CRDs, and planting helpers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crossfade.findings import Finding
from crossfade.lint.k8s import K8sOptions
from crossfade.lint.runner import lint_paths

FIXTURES = Path(__file__).resolve().parent / "manifests"
# The upstream CRDs the project keeps beside the repository (see ../shared/crds/README.md).
CRDS = Path(__file__).resolve().parents[3] / ".." / "shared" / "crds"


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    """A fresh copy of the correct manifest set, to plant mistakes in."""
    return Path(shutil.copytree(FIXTURES, tmp_path / "manifests"))


def crd_subset(tmp_path: Path, *names: str) -> Path:
    """A --crd-dir holding only the named files of the shared CRDs."""
    folder = tmp_path / ("crds-" + "-".join(Path(n).stem for n in names))
    folder.mkdir()
    for name in names:
        (folder / name).symlink_to((CRDS / name).resolve())
    return folder


def lint(*paths: Path, crds: tuple[Path, ...] = (CRDS,), **options: object) -> list[Finding]:
    return lint_paths(list(paths), k8s=K8sOptions(crd_paths=crds, **options))  # type: ignore[arg-type]


def located(findings: list[Finding]) -> set[tuple[str, str, int | None]]:
    return {(f.code, f.file, f.line) for f in findings}


def line_of(path: Path, text: str, start: int = 1) -> int:
    """The 1-based line where `text` first appears at or after line `start`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if i >= start and text in line)
