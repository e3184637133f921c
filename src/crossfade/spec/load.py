"""Read a spec file into a validated `Spec`, or fail with errors that say where and how to fix
(the file, the line, the field path and the nearest valid key: `crossfade.spec.located`)."""

from __future__ import annotations

from pathlib import Path

from crossfade.spec.located import parse_located, read_text
from crossfade.spec.models import Spec

NOT_A_MAPPING = "a spec is a mapping of keys (model:, vllm:, ...)"


def load_spec(path: str | Path) -> Spec:
    """Load and validate the spec at `path`."""
    return parse_spec(read_text(path), str(path))


def parse_spec(text: str, filename: str = "<spec>") -> Spec:
    return parse_located(text, Spec, filename, NOT_A_MAPPING)
