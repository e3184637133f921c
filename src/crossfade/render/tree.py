"""A rendered tree of files, written to disk or compared against what is already there.

`sync` also keeps a record of what one render command wrote (`RECORD_PREFIX` + the command,
beside the files), so the next render removes what it rendered before and no longer renders:
a renamed model's old folder would otherwise stay, and Triton would load both. Only files the
record lists, still holding the bytes crossfade wrote, are removed; folders only when empty.
The record has no .json/.yaml suffix, so `kubectl apply -f DIR` and `crossfade lint` skip it.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from crossfade.errors import UsageError
from crossfade.saved import parse_json

RECORD_PREFIX = ".crossfade-render-"


@dataclass(frozen=True)
class SyncReport:
    """What `RenderedTree.sync` did beyond writing: stale files removed or left in place."""

    written: list[Path]
    removed: list[str]  # relative paths of stale files and emptied folders, removed
    kept: list[str]  # stale files edited since they were rendered, left for the user


@dataclass
class RenderedTree:
    """Files (relative POSIX path -> text) plus folders that must exist even when empty.

    Triton needs an empty version folder (``ensemble/1/``), which a plain file map cannot say.
    """

    files: dict[str, str] = field(default_factory=dict)
    folders: set[str] = field(default_factory=set)
    # Files that belong in the tree but come from elsewhere (the LLM API model's model.py and
    # helpers.py, copied from the serving container): never written, and `diff` leaves them be.
    provided: set[str] = field(default_factory=set)

    def add(self, relpath: str, text: str) -> None:
        if relpath in self.files:
            raise ValueError(f"{relpath} rendered twice")
        self.files[relpath] = text

    def merge(self, other: RenderedTree, prefix: str = "") -> None:
        for relpath, text in other.files.items():
            self.add(f"{prefix}{relpath}", text)
        self.folders.update(f"{prefix}{folder}" for folder in other.folders)
        self.provided.update(f"{prefix}{relpath}" for relpath in other.provided)

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

    def sync(self, root: Path, command: str) -> SyncReport:
        """Write, then remove what `command`'s previous render wrote and this one does not."""
        record = root / f"{RECORD_PREFIX}{command}"
        before = read_record(record)
        root.mkdir(parents=True, exist_ok=True)
        written = self.write(root)
        removed: list[str] = []
        kept: list[str] = []
        stale = sorted(set(before.files) - set(self.files))
        inside = root.resolve()
        for relpath in stale:
            target = root / relpath
            if not target.is_file() or target.is_symlink():
                continue
            if not target.resolve().is_relative_to(inside):
                continue  # reached through a linked folder: not a file this render wrote
            if _digest(target.read_bytes()) == before.files[relpath]:
                target.unlink()
                removed.append(relpath)
            else:
                kept.append(relpath)
        removed += self._remove_empty_folders(root, before.folders, stale)
        files = {path: _digest(text.encode()) for path, text in self.files.items()}
        # A stale file left in place stays recorded, so every later render reports it again.
        files |= {path: before.files[path] for path in kept}
        _write_record(record, command, files, self.folders)
        return SyncReport(written, removed, kept)

    def _remove_empty_folders(self, root: Path, folders: set[str], stale: list[str]) -> list[str]:
        needed = set(self.folders)
        for path in [*self.files, *self.folders]:
            needed.update(str(parent) for parent in PurePosixPath(path).parents)
        candidates = set(folders)
        for path in stale:
            candidates.update(str(parent) for parent in PurePosixPath(path).parents)
        removed = []
        # Deepest first, so a model folder empties before its repository folder is tried.
        for folder in sorted(candidates - needed - {"."}, key=lambda f: (-f.count("/"), f)):
            target = root / folder
            if target.is_dir() and not target.is_symlink() and not any(target.iterdir()):
                target.rmdir()
                removed.append(f"{folder}/")
        return removed

    def diff(self, root: Path, command: str | None = None) -> list[str]:
        """Differences between this tree and `root`, as unified-diff text per changed file.

        Files present under `root` but not rendered are reported too: a stale model left in a
        repository is loaded by Triton just the same. With `command`, files its previous render
        wrote are called stale (`sync` removes them).
        """
        before = read_record(root / f"{RECORD_PREFIX}{command}") if command else _Record()
        out: list[str] = []
        for folder in sorted(self.folders):
            if not (root / folder).is_dir():
                out.append(f"missing folder: {folder}/\n")
        for relpath in sorted(self.files):
            target = root / relpath
            if not target.is_file():
                out.append(f"missing file: {relpath}\n")
                continue
            try:
                have = target.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                out.append(f"changed: {relpath} (on disk it is not UTF-8 text)\n")
                continue
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
                known = relpath in self.files or relpath in self.provided
                if not path.is_file() or known or _is_record(relpath):
                    continue
                if relpath in before.files:
                    out.append(f"stale: {relpath} (rendered before, not now; render removes it)\n")
                else:
                    out.append(f"not rendered: {relpath}\n")
        return out


@dataclass(frozen=True)
class _Record:
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256 of its bytes
    folders: set[str] = field(default_factory=set)


def read_record(path: Path) -> _Record:
    """The files and folders a previous render wrote; empty when there was none."""
    if not path.exists():
        return _Record()
    problem = f"{path}: not a render record crossfade can read"
    fix = "delete it and render again (stale files from earlier renders are then left alone)"
    try:
        data = parse_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{problem} ({exc}); {fix}") from None
    files = data.get("files") if isinstance(data, dict) else None
    folders = data.get("folders") if isinstance(data, dict) else None
    if not isinstance(files, dict) or not isinstance(folders, list):
        raise UsageError(f"{problem} (no files and folders lists); {fix}")
    entries = [*files, *folders]
    if not all(isinstance(entry, str) and _inside(entry) for entry in entries) or not all(
        isinstance(digest, str) for digest in files.values()
    ):
        # A path leading outside the folder is never removed, whoever wrote it there.
        raise UsageError(f"{problem} (a path outside the folder, or not a string); {fix}")
    return _Record(dict(files), set(folders))


def _write_record(path: Path, command: str, files: dict[str, str], folders: set[str]) -> None:
    data = {
        "rendered_by": f"crossfade render {command}",
        "about": "what this render wrote; the next one removes those it no longer renders",
        "files": dict(sorted(files.items())),
        "folders": sorted(folders),
    }
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(json.dumps(data, indent=1) + "\n")


def _inside(relpath: str) -> bool:
    path = PurePosixPath(relpath)
    return bool(relpath) and not path.is_absolute() and ".." not in path.parts


def _is_record(relpath: str) -> bool:
    return "/" not in relpath and relpath.startswith(RECORD_PREFIX)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
