"""What a `crossfade ...` run in-process gave: its exit code and what it printed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    out: str
    err: str
