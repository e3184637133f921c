"""Saved JSON documents (result.json, sweep.json, comparison.json, the calibration): written
atomically, read back with a schema version check and errors that name the file and field.
`parse_json` is how any JSON a user hands crossfade is parsed."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from crossfade.errors import CrossfadeError

Model = TypeVar("Model", bound=BaseModel)


def parse_json(text: str) -> Any:
    """`json.loads`, with a document nested past the decoder's recursion limit raised as the
    `json.JSONDecodeError` every caller already handles (Python raises RecursionError)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("nested deeper than the JSON decoder goes", text, 0) from None


def write_atomic(path: Path, text: str) -> Path:
    """Write through a .partial file and a rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
    return path


def write_model(path: Path, document: BaseModel) -> Path:
    return write_atomic(path, json.dumps(document.model_dump(mode="json"), indent=2) + "\n")


def read_model(
    file: Path,
    model: type[Model],
    *,
    version: int,
    error: type[CrossfadeError],
    missing: str,
    stale: str = "",
    older: Collection[int] = (),
    upgrade: Callable[[int, dict[str, Any]], dict[str, Any]] | None = None,
    strict: bool = False,
) -> Model:
    """Read `file` as `model`. `missing` says what the file is when it is not there (e.g. "no
    sweep here (a folder written by `crossfade compare`)"); `stale` is the fix for a file of
    another schema version; `older` are the earlier versions still read: `upgrade(found, data)`
    brings one's JSON to `version`'s shape before it is validated (without it, `model` reads
    them as they are and the caller upgrades what it reads). `strict`: JSON types as written
    (no "7" for 7, no 7.0 for an int)."""
    text, data = read_json_file(file, error=error, missing=missing)
    found = data.get("schema_version") if isinstance(data, dict) else None
    if found != version and found not in older:
        fix = f" ({stale})" if stale else ""
        newest_first = [str(v) for v in sorted({version, *older}, reverse=True)]
        readable = " or ".join(
            [", ".join(newest_first[:-1]), newest_first[-1]] if older else newest_first
        )
        raise error(f"{file}: schema_version {found!r}; this crossfade reads {readable}{fix}")
    if found != version and upgrade is not None:
        assert isinstance(data, dict)
        assert isinstance(found, int)
        data = upgrade(found, data)
        text = json.dumps(data)
    try:
        if strict:  # validated as JSON: strict JSON types still read "completed" as an enum
            return model.model_validate_json(text, strict=True)
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(f"{file}: {first_problem(exc)}") from None


def read_json_file(
    file: Path, *, error: type[CrossfadeError], missing: str, name: str | None = None
) -> tuple[str, Any]:
    """`file`'s text and its JSON; every failure an `error` that starts with `name` (the file
    as the user named it; default: its path), `missing` saying what the file is."""
    where = str(file) if name is None else name
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{where}: {missing}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{where}: cannot read: {exc}") from None
    try:
        return text, parse_json(text)
    except json.JSONDecodeError as exc:
        raise error(f"{where}:{exc.lineno}: not valid JSON: {exc.msg}") from None


def first_problem(exc: ValidationError) -> str:
    """The first of pydantic's errors as `field.path: message` (just the message at the top)."""
    first = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{field}: {message}" if field else message
