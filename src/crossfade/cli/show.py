"""`crossfade show RESULT`: the summary of a saved run."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crossfade.bench.results import BenchResult


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("result", metavar="RESULT", help="a result folder written by bench")
    parser.add_argument("--json", action="store_true", help="print result.json as is")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json

    from rich.console import Console

    from crossfade.bench.console import summary_table

    result = load_shown(Path(args.result))
    if args.json:
        print(json.dumps(result.model_dump(), indent=2))
    else:
        Console().print(summary_table(result.model_dump()))
    return 0


def load_shown(folder: Path) -> BenchResult:
    """result.json with what the summary table reads validated as `report` validates it: the
    summary as a `Summary`, and the run's and config's fields; an error names file and field."""
    from pydantic import BaseModel, ConfigDict, ValidationError

    from crossfade.bench.plan import StopReason
    from crossfade.bench.results import RESULT_FILE, ResultError, load_result
    from crossfade.bench.summary import Summary

    class Run(BaseModel):
        model_config = ConfigDict(extra="allow")
        stop_reason: StopReason
        warmup_records: int
        notes: list[str] = []

    class Config(BaseModel):
        model_config = ConfigDict(extra="allow")
        plan_label: str

    result = load_result(folder)
    path = folder / RESULT_FILE if folder.is_dir() else folder
    checks: dict[str, type[BaseModel]] = {"config": Config, "run": Run, "summary": Summary}
    for section, model in checks.items():
        try:
            model.model_validate(getattr(result, section))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in (section, *first["loc"]))
            raise ResultError(f"{path}: {field}: {first['msg']}") from None
    return result
