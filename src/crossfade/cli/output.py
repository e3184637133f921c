"""A command's `-o`: a file checked before the work starts and written whole, or a folder that
must be one and may not already hold an earlier result; every way it can fail is told as a
usage error that names the flag and the path."""

from __future__ import annotations

from pathlib import Path

from crossfade.errors import UsageError
from crossfade.saved import write_atomic


def check_output_file(flag: str, path: Path) -> None:
    """Refuse at once what cannot be the output file: a folder, or a path through a file."""
    if path.is_dir():
        raise UsageError(f"{flag} {path}: is a folder; give the file name to write")
    _refuse_a_file_above(flag, path)


def _refuse_a_file_above(flag: str, path: Path) -> None:
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"{flag} {path}: {parent} is a file, not a folder")
            return


def write_output_file(flag: str, path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file (missing folders are made), so a reader
    never sees half of it."""
    check_output_file(flag, path)
    try:
        write_atomic(path, text)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(
            f"{flag} {path}: cannot write there ({reason}); give a file in a folder you can "
            "write to"
        ) from None


def output_folder(flag: str, value: str) -> Path:
    """`value` as a folder to write in: not empty (which would mean the current folder without
    saying so), not a file, not under a file."""
    if not value.strip():
        raise UsageError(f"{flag} is empty: give the folder to write ({flag} . for this one)")
    folder = Path(value)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{flag} {value}: is a file, not a folder; give a folder to write in")
    _refuse_a_file_above(flag, folder)
    return folder


def refuse_existing(folder: Path, markers: tuple[str, ...], what: str, alternative: str) -> None:
    """A UsageError when `folder` already holds one of `markers` (files that make it `what`),
    so a new run never replaces an earlier one without being asked; `alternative` is the
    other way out (e.g. "or --overwrite to replace it")."""
    held = [name for name in markers if (folder / name).exists()]
    if held:
        raise UsageError(
            f"-o {folder}: this folder already holds {what} ({', '.join(held)}); give a new "
            f"-o folder, {alternative}"
        )
