"""Fixture manifests: a correct set, to plant mistakes in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "manifests"


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    """A fresh copy of the correct manifest set, to plant mistakes in."""
    return Path(shutil.copytree(FIXTURES, tmp_path / "manifests"))
