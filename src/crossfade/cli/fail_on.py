"""`--fail-on`: one rule for when findings make `crossfade lint` and `engine check` exit 1."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crossfade.findings import Finding


def add_fail_on(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fail-on",
        choices=("warning", "error"),
        default="warning",
        help="the least severe finding that makes the exit status 1 (default: warning); with "
        "error, warnings are printed but exit 0",
    )


def exit_status(findings: Iterable[Finding], fail_on: str) -> int:
    """1 when a finding at or above `fail_on` is there, else 0 (2 is for usage errors)."""
    from crossfade.findings import Severity

    least = Severity.WARNING if fail_on == "warning" else Severity.ERROR
    failing = [f for f in findings if least is Severity.WARNING or f.severity is Severity.ERROR]
    return 1 if failing else 0
