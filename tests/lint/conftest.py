from __future__ import annotations

from pathlib import Path

import pytest

from crossfade.render.triton import render_triton
from crossfade.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    """A freshly rendered (clean) pair of repositories from the 8B example of the legacy engine
    layout (the ensemble, whose checks these tests plant mistakes for)."""
    out = tmp_path / "repos"
    render_triton(load_spec(ROOT / "examples/llama-3-8b-engine-legacy.yaml")).write(out)
    return out


def engine_layout_removed(repos: Path) -> tuple[str, str, None]:
    """(code, file, line) of the warning a legacy engine repository gets, once: the rendered
    `tensorrtllm/` of the 8B example is the engine layout."""
    return ("trtllm-engine-layout-removed", str(repos / "tensorrtllm"), None)


def plant(path: Path, old: str, new: str) -> int:
    """Replace the first `old` with `new` in `path`; return the 1-based line of the change."""
    text = path.read_text(encoding="utf-8")
    index = text.index(old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text.count("\n", 0, index) + 1 + old.count("\n", 0, 0)
