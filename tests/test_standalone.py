"""The repository stands alone: nothing in it reads or cites the folder kept beside the
project's own checkout (a user's clone has none)."""

from __future__ import annotations

import re

from tests.support.paths import ROOT

# The parent folder's sibling called shared, however the path is spelled (see the last test).
OUTSIDE = re.compile(r"\.\.[\s\"'/\\,]{0,6}shared\b")
FOLDERS = ("src", "tests", "scripts", "benchmarks", "examples", "docs")
TEXT = {".py", ".md", ".toml", ".yaml", ".yml", ".json", ".txt", ".cfg", ".sh", ""}


def test_no_file_reaches_outside_the_repository() -> None:
    offending = []
    files = [ROOT / "README.md", ROOT / "pyproject.toml"]
    files += [p for folder in FOLDERS for p in sorted((ROOT / folder).rglob("*")) if p.is_file()]
    for path in files:
        if path.suffix not in TEXT or "__pycache__" in path.parts:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        offending += [
            f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}"
            for m in OUTSIDE.finditer(text)
        ]
    assert offending == []


def test_the_pattern_finds_each_spelling() -> None:
    up = "." * 2  # spelled out here, this file would find itself
    spellings = [f"see {up}/shared/crds", f'ROOT / "{up}" / "shared"', f"join('{up}', 'shared')"]
    assert all(OUTSIDE.search(s) for s in spellings)
    assert not OUTSIDE.search(f"a shared volume; {up}/other")
