"""Errors crossfade raises on purpose, each carrying what a person needs to fix the input.

    CrossfadeError
    ├── SpecError          a spec file that cannot be read or does not validate
    └── UsageError         a command asked for something that cannot be done as asked

Anything else escaping to the CLI is a bug in crossfade, not in the user's input.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class CrossfadeError(Exception):
    """Base of the errors that are the user's to fix; the CLI prints them without a traceback."""


@dataclass(frozen=True)
class SpecProblem:
    """One thing wrong in a spec: where it is, what is wrong, and how to fix it."""

    file: str
    line: int | None
    field: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )
        return f"{text} ({self.hint})" if self.hint else text


@dataclass
class SpecError(CrossfadeError):
    problems: list[SpecProblem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class UsageError(CrossfadeError):
    """A command-line request that cannot be carried out as given."""
