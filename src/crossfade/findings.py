"""Findings: what lint and engine checks report, one problem each, located and with a fix."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem found in a file.

    `code` is a stable identifier (for filtering and for tests); `line` is 1-based, or None when
    the problem belongs to the file (or folder) as a whole.
    """

    severity: Severity
    code: str
    file: str
    line: int | None
    message: str
    hint: str | None = None

    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.value
        return data


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.file, f.line or 0, f.code, f.message))
