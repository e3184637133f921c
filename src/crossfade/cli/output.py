"""Writing a command's `-o FILE`: checked before the work starts, written whole, and every way
it can fail told as a usage error that names the flag and the path."""

from __future__ import annotations

from pathlib import Path

from crossfade.errors import UsageError
from crossfade.saved import write_atomic


def check_output_file(flag: str, path: Path) -> None:
    """Refuse at once what cannot be the output file: a folder, or a path through a file."""
    if path.is_dir():
        raise UsageError(f"{flag} {path}: is a folder; give the file name to write")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"{flag} {path}: {parent} is a file, not a folder")
            break


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
