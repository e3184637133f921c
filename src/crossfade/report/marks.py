"""How a report names targets: an emulated target carries its mark wherever its name appears.

The lab's TensorRT-LLM models (the LLM API model, the legacy ensemble's engine) are crossfade's
emulators (see docs/lab.md); a figure measured on them must never read as TensorRT-LLM's. Every
heading, legend entry, table row and line of text a report shows goes through `label` or
`mark_text`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

EMULATED_MARK = "EMULATED \u2014 not TensorRT-LLM"
EMULATED_NOTE = (
    "ran on a crossfade emulator, a CPU model that imitates a TensorRT-LLM model's interface "
    "(the LLM API model, or the legacy ensemble's engine) on a documented timing schedule: "
    "none of its figures are TensorRT-LLM's."
)

# Characters that continue a target name: a name inside a longer one is not that target.
_NAME_CHAR = r"[\w.\-/:]"


def label(name: str, emulated: bool) -> str:
    return f"{name} ({EMULATED_MARK})" if emulated else name


class Marker:
    """Labels for a fixed set of targets, and the mark added to free text that names them
    (verdicts and notes written by other commands)."""

    def __init__(self, emulated: Iterable[str]) -> None:
        self.emulated = frozenset(emulated)
        names = sorted(self.emulated, key=lambda n: (-len(n), n))  # longest first
        self._pattern = (
            re.compile(
                rf"(?<!{_NAME_CHAR})(?:{'|'.join(re.escape(n) for n in names)})"
                rf"(?!{_NAME_CHAR})(?! \({re.escape(EMULATED_MARK)}\))"
            )
            if names
            else None
        )

    def label(self, name: str) -> str:
        return label(name, name in self.emulated)

    def text(self, text: str) -> str:
        """`text` with the mark after every bare mention of an emulated target."""
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: label(m.group(0), True), text)
