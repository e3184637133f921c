"""`sweep.json`: what a sweep (`crossfade compare`, `crossfade demo`) ran, and where each run's
result folder is. Written by the sweep as each run finishes, so an interrupted sweep still
indexes everything it measured; read by compare and report, which need nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crossfade.bench.plan import StopReason
from crossfade.errors import CrossfadeError
from crossfade.saved import read_model, write_model

SWEEP_FILE = "sweep.json"
SWEEP_SCHEMA_VERSION = 1

LoadMode = Literal["concurrency", "rate"]


class SweepError(CrossfadeError):
    """A sweep folder that cannot be read."""


class SweepTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str  # unique within the sweep; how reports label it
    url: str
    emulated: bool = False  # known once its first run has read the server's metadata


class SweepRun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: str  # a SweepTarget.name
    level: float  # concurrency, or requests per second
    repeat: int  # 0-based repetition
    order: int  # position in the whole sweep: when it ran relative to the others
    folder: str  # the result folder, relative to the sweep folder
    stop_reason: StopReason | Literal["error"]  # the run's own; "error": it raised


class SweepIndex(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = SWEEP_SCHEMA_VERSION
    mode: LoadMode
    levels: list[float]
    repeat: int = Field(ge=1)
    targets: list[SweepTarget]
    workload_fingerprint: str  # the one workload every run used
    runs: list[SweepRun] = Field(default_factory=list)
    stop_reason: str = "completed"  # the sweep's: completed, or why it ended early

    @model_validator(mode="after")
    def _runs_are_of_listed_targets_and_levels(self) -> SweepIndex:
        names = sorted(target.name for target in self.targets)
        for run in self.runs:
            if run.target not in names or run.level not in self.levels:
                raise ValueError(
                    f"run {run.folder} is for target {run.target!r} at level {run.level:g}, "
                    f"which the sweep does not list (targets {names}, levels {self.levels}); "
                    "fix or remove that run entry"
                )
        return self

    def target(self, name: str) -> SweepTarget:
        return next(t for t in self.targets if t.name == name)


def save_sweep(folder: Path, index: SweepIndex) -> Path:
    return write_model(folder / SWEEP_FILE, index)


def load_sweep(folder: Path) -> SweepIndex:
    path = folder / SWEEP_FILE if folder.is_dir() else folder
    missing = "no sweep here (a folder written by `crossfade compare`)"
    return read_model(
        path, SweepIndex, version=SWEEP_SCHEMA_VERSION, error=SweepError, missing=missing
    )
