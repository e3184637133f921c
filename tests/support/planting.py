"""Planting a mistake in a text file and finding the line it is on, for tests that check a
finding names the right line."""

from __future__ import annotations

from pathlib import Path


def plant(path: Path, old: str, new: str) -> int:
    """Replace the first `old` with `new` in `path`; return the 1-based line of the change."""
    text = path.read_text(encoding="utf-8")
    index = text.index(old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text.count("\n", 0, index) + 1 + old.count("\n", 0, 0)


def line_of(path: Path, text: str, start: int = 1) -> int:
    """The 1-based line where `text` first appears at or after line `start`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if i >= start and text in line)
