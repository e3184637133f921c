"""A saved run: `result.json` (configuration, environment, summary, why it stopped) and
`requests.jsonl` (one raw record per request). compare, report and advise read only these.

Schema 3 (today's): every part typed and closed (`result_model`); the summary's length check
says whether the lengths were forced or counted by crossfade, and their means. Schema 2 had
none of that (every target then forced its lengths and the server counted them), read through
`upgrade_v2`; schema 1 had the same layout with open parts, read through `upgrade_v1` first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from crossfade.bench.calibration_model import Calibration
from crossfade.bench.protocol import RequestRecord
from crossfade.bench.result_model import Environment, RunConfig, RunInfo, TargetInfo
from crossfade.bench.server_metrics import ServerView
from crossfade.bench.summary import Summary
from crossfade.errors import CrossfadeError
from crossfade.saved import first_problem, read_model, write_atomic

SCHEMA_VERSION = 3
RESULT_FILE = "result.json"
REQUESTS_FILE = "requests.jsonl"
RESULT_FILES = (RESULT_FILE, REQUESTS_FILE)  # either makes a folder a saved result
_RECORD = TypeAdapter(RequestRecord)


class ResultError(CrossfadeError):
    """A result folder that cannot be read."""


class BenchResult(BaseModel):
    """result.json. Unknown keys are rejected, in every part, so a result from another schema
    or edited by hand fails on load, naming the field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int = SCHEMA_VERSION
    name: str  # how reports label the target
    target: TargetInfo
    emulated: bool  # crossfade's TensorRT-LLM emulator answered, not TensorRT-LLM
    config: RunConfig
    environment: Environment
    run: RunInfo
    summary: Summary
    server_metrics: ServerView | None = None  # None: not scraped
    client_overhead: Calibration | None = None  # `crossfade calibrate`'s, when there was one


def upgrade_v1(data: dict[str, Any]) -> dict[str, Any]:
    """A schema-1 result.json as schema 2. The layout is the same; what early schema-1 writers
    left out is made explicit (one worker, no clock offsets, error groups of counts alone),
    and a merged result's `environment.shard_hosts` goes (each shard's host is in
    `run.shards`). Anything else a schema-1 file held that schema 2 has no field for is left
    for validation to refuse."""
    config, run, summary = (data.get(part) for part in ("config", "run", "summary"))
    upgraded = dict(data, schema_version=2)
    if isinstance(config, dict):
        upgraded["config"] = {"workers": 1, **config}
    if isinstance(run, dict):
        upgraded["run"] = {"wall_minus_monotonic_ns": None, **run}
    if isinstance(summary, dict) and "errors" not in summary:
        upgraded["summary"] = {**summary, "errors": _count_groups(summary.get("failures"))}
    environment = data.get("environment")
    if isinstance(environment, dict) and isinstance(run, dict) and "shards" in run:
        upgraded["environment"] = {k: v for k, v in environment.items() if k != "shard_hosts"}
    return upgraded


def upgrade_v2(data: dict[str, Any]) -> dict[str, Any]:
    """A schema-2 result.json as schema 3: its lengths were forced and counted by the server
    (every target could force them then), their means were not kept."""
    summary = data.get("summary")
    upgraded = dict(data, schema_version=3)
    if isinstance(summary, dict) and isinstance(summary.get("output_length"), dict):
        length = {"forced": True, "counted": 0, "requested_mean": None, "received_mean": None}
        upgraded["summary"] = {**summary, "output_length": length | summary["output_length"]}
    return upgraded


def _count_groups(failures: object) -> object:
    """Error groups from the counts per kind, most frequent first (no messages were kept)."""
    if not isinstance(failures, dict) or not all(type(n) is int for n in failures.values()):
        return []  # validation refuses the failures themselves
    ordered = sorted((kind for kind, n in failures.items() if n), key=lambda k: -failures[k])
    return [{"kind": kind, "count": failures[kind], "messages": []} for kind in ordered]


def save_result(folder: Path, result: BenchResult, records: list[RequestRecord]) -> Path:
    """Write both files; the requests first, so a result.json never points at missing data."""
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(
        folder / REQUESTS_FILE,
        "".join(json.dumps(r.to_json(), separators=(",", ":")) + "\n" for r in records),
    )
    write_atomic(folder / RESULT_FILE, json.dumps(result.model_dump(mode="json"), indent=2) + "\n")
    return folder


def load_result(folder: Path) -> BenchResult:
    path = folder / RESULT_FILE if folder.is_dir() else folder
    missing = "no such result (a folder written by `crossfade bench`)"
    return read_model(
        path,
        BenchResult,
        version=SCHEMA_VERSION,
        older=(1, 2),
        upgrade=lambda found, data: upgrade_v2(upgrade_v1(data) if found == 1 else data),
        error=ResultError,
        missing=missing,
        strict=True,
    )


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
