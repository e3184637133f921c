"""Nearest-name suggestions for misspelled keys."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def nearest(name: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to `name`, or None when nothing is close enough to be a typo."""
    choices = list(candidates)
    matches = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    if matches:
        return matches[0]
    # Catch a different word order or separator (``max_len_model``, ``max-model-len``).
    normalized = {"".join(sorted(c.replace("-", "_").split("_"))): c for c in choices}
    return normalized.get("".join(sorted(name.replace("-", "_").split("_"))))


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    match = nearest(name, candidates)
    return f"did you mean '{match}'?" if match else None
