"""A saved run: `result.json` (configuration, environment, summary, why it stopped) and
`requests.jsonl` (one raw record per request). compare, report and advise read only these."""

from __future__ import annotations

import json
import os
import platform
import socket
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from crossfade import __version__
from crossfade.bench.protocol import RequestRecord
from crossfade.errors import CrossfadeError
from crossfade.saved import read_model, write_atomic

SCHEMA_VERSION = 1
RESULT_FILE = "result.json"
REQUESTS_FILE = "requests.jsonl"
RESULT_FILES = (RESULT_FILE, REQUESTS_FILE)  # either makes a folder a saved result


class ResultError(CrossfadeError):
    """A result folder that cannot be read."""


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
    path = folder / REQUESTS_FILE
    records = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                records.append(RequestRecord.from_json(json.loads(line)))
            except (json.JSONDecodeError, TypeError, ValueError) as exc:
                raise ResultError(f"{path}:{number}: not a request record: {exc}") from None
    return records
