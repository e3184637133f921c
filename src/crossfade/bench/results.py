"""A saved run: `result.json` (configuration, environment, summary, why it stopped) and
`requests.jsonl` (one raw record per request). compare, report and advise read only these."""

from __future__ import annotations

import json
import os
import platform
import socket
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from crossfade import __version__
from crossfade.bench.protocol import RequestRecord
from crossfade.errors import CrossfadeError
from crossfade.saved import first_problem, read_model, write_atomic

SCHEMA_VERSION = 1
RESULT_FILE = "result.json"
REQUESTS_FILE = "requests.jsonl"
RESULT_FILES = (RESULT_FILE, REQUESTS_FILE)  # either makes a folder a saved result
_RECORD = TypeAdapter(RequestRecord)


class ResultError(CrossfadeError):
    """A result folder that cannot be read."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class _Target(_Section):
    url: str = ""
    server: dict[str, Any] = {}


class _Config(_Section):
    plan: dict[str, Any] = {}
    slos: list[str] = []
    workers: int = 1
    workload: dict[str, Any] = {}


class _Run(_Section):
    started_at_unix: float = 0.0
    start_ns: int = 0
    measure_start_ns: int = 0
    end_ns: int = 0
    stop_reason: str = ""
    notes: list[str] = []


# The parts of the free-form sections that compare, report and merge read, by JSON type: a
# result.json edited by hand is refused on load rather than failing deep inside a reader.
_SECTIONS: dict[str, type[_Section]] = {"target": _Target, "config": _Config, "run": _Run}


class BenchResult(BaseModel):
    """result.json. Unknown keys are rejected so a result from another schema fails loudly."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    name: str
    target: dict[str, Any]
    emulated: bool
    config: dict[str, Any]
    environment: dict[str, Any]
    run: dict[str, Any]
    summary: dict[str, Any]
    server_metrics: dict[str, Any] | None = None
    client_overhead: dict[str, Any] | None = None

    @field_validator(*_SECTIONS)
    @classmethod
    def _read_parts_have_their_types(cls, section: dict[str, Any], info: ValidationInfo) -> Any:
        _SECTIONS[str(info.field_name)].model_validate(section)
        return section  # as written, extra keys and all


def environment() -> dict[str, Any]:
    return {
        "crossfade_version": __version__,
        "host": socket.gethostname(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def save_result(folder: Path, result: BenchResult, records: list[RequestRecord]) -> Path:
    """Write both files; the requests first, so a result.json never points at missing data."""
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(
        folder / REQUESTS_FILE,
        "".join(json.dumps(r.to_json(), separators=(",", ":")) + "\n" for r in records),
    )
    write_atomic(folder / RESULT_FILE, json.dumps(result.model_dump(), indent=2) + "\n")
    return folder


def load_result(folder: Path) -> BenchResult:
    path = folder / RESULT_FILE if folder.is_dir() else folder
    missing = "no such result (a folder written by `crossfade bench`)"
    return read_model(path, BenchResult, version=SCHEMA_VERSION, error=ResultError, missing=missing)


def load_records(folder: Path) -> list[RequestRecord]:
    """The records of requests.jsonl, each checked field by field (strict types: a record that
    says `"index": "7"` is not one). A file that cannot be opened raises its OSError: each
    caller says what to do about a run without records."""
    path = folder / REQUESTS_FILE
    records = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            try:
                records.append(_RECORD.validate_json(line, strict=True))
            except ValidationError as exc:
                problem = first_problem(exc)
                raise ResultError(f"{path}:{number}: not a request record: {problem}") from None
    return records
