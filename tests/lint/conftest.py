from __future__ import annotations

from pathlib import Path

import pytest

from crossfade.render.triton import render_triton
from crossfade.spec import load_spec
from tests.support.paths import ROOT


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    """A freshly rendered (clean) pair of repositories from the 8B example of the legacy engine
    layout (the ensemble, whose checks these tests plant mistakes for)."""
    out = tmp_path / "repos"
    render_triton(load_spec(ROOT / "examples/llama-3-8b-engine-legacy.yaml")).write(out)
    return out
