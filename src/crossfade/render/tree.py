"""A rendered tree of files, written to disk or compared against what is already there."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class RenderedTree:
    """Files (relative POSIX path -> text) plus folders that must exist even when empty.

    Triton needs an empty version folder (``ensemble/1/``), which a plain file map cannot say.
    """

    files: dict[str, str] = field(default_factory=dict)
    folders: set[str] = field(default_factory=set)

    def add(self, relpath: str, text: str) -> None:
        if relpath in self.files:
            raise ValueError(f"{relpath} rendered twice")
        self.files[relpath] = text

    def merge(self, other: RenderedTree, prefix: str = "") -> None:
        for relpath, text in other.files.items():
            self.add(f"{prefix}{relpath}", text)
        self.folders.update(f"{prefix}{folder}" for folder in other.folders)

    def write(self, root: Path) -> list[Path]:
        """Write every file under `root`; returns the paths written, sorted."""
        written: list[Path] = []
        for folder in sorted(self.folders):
            (root / folder).mkdir(parents=True, exist_ok=True)
        for relpath in sorted(self.files):
            target = root / relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            # newline="" keeps "\n" on every platform, so renders are byte-identical everywhere.
            with target.open("w", encoding="utf-8", newline="") as handle:
                handle.write(self.files[relpath])
            written.append(target)
        return written

    def diff(self, root: Path) -> list[str]:
        """Differences between this tree and `root`, as unified-diff text per changed file.

        Files present under `root` but not rendered are reported too: a stale model left in a
        repository is loaded by Triton just the same.
        """
        out: list[str] = []
        for folder in sorted(self.folders):
            if not (root / folder).is_dir():
                out.append(f"missing folder: {folder}/\n")
        for relpath in sorted(self.files):
            target = root / relpath
            if not target.is_file():
                out.append(f"missing file: {relpath}\n")
                continue
            have = target.read_text(encoding="utf-8")
            want = self.files[relpath]
            if have != want:
                out.append(
                    "".join(
                        difflib.unified_diff(
                            have.splitlines(keepends=True),
                            want.splitlines(keepends=True),
                            fromfile=f"{relpath} (on disk)",
                            tofile=f"{relpath} (rendered)",
                        )
                    )
                )
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                relpath = path.relative_to(root).as_posix()
                if path.is_file() and relpath not in self.files:
                    out.append(f"not rendered: {relpath}\n")
        return out
