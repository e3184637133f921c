"""Token-length distributions (``--input-len``/``--output-len``) and the seeded streams that
sample them."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

LENGTH_FORMS = {
    "fixed": "N (a whole number >= 1)",
    "uniform": "uniform:A-B (whole numbers, 1 <= A <= B)",
    "normal": "normal:MEAN,STD (MEAN > 0, STD >= 0)",
    "lognormal": "lognormal:MEDIAN,SIGMA (MEDIAN > 0, SIGMA >= 0)",
}


@dataclasses.dataclass(frozen=True)
class LengthSpec:
    """A token-length distribution from ``--input-len``/``--output-len``; samples are >= 1."""

    kind: Literal["fixed", "uniform", "normal", "lognormal"]
    params: tuple[float, ...]

    def __str__(self) -> str:
        """The canonical ``--input-len`` text, which parses back to an equal spec."""
        # repr of a float round-trips exactly; whole numbers print without ".0".
        a, *rest = (str(int(p)) if float(p).is_integer() else repr(float(p)) for p in self.params)
        if self.kind == "fixed":
            return a
        return f"uniform:{a}-{rest[0]}" if self.kind == "uniform" else f"{self.kind}:{a},{rest[0]}"

    def sample(self, rng: np.random.Generator, count: int) -> list[int]:
        a, *rest = self.params
        values: npt.NDArray[Any]
        if self.kind == "fixed":
            return [int(a)] * count
        if self.kind == "uniform":
            values = rng.integers(int(a), int(rest[0]), size=count, endpoint=True)
        elif self.kind == "normal":
            values = rng.normal(a, rest[0], size=count)
        else:
            values = rng.lognormal(math.log(a), rest[0], size=count)
        return [int(v) for v in np.maximum(np.rint(values), 1)]


def parse_length(text: str) -> LengthSpec:
    """Parse ``128``, ``uniform:64-256``, ``normal:512,128`` or ``lognormal:300,0.6``."""
    kind, sep, rest = text.strip().partition(":")
    kind = kind.lower() if sep else "fixed"
    form = LENGTH_FORMS.get(kind)
    try:
        if kind == "fixed":
            fixed = int(text)
            if fixed >= 1:
                return LengthSpec("fixed", (fixed,))
        elif kind == "uniform":
            low, high = (int(part) for part in rest.split("-"))
            if 1 <= low <= high:
                return LengthSpec("uniform", (low, high))
        elif kind in ("normal", "lognormal"):
            center, spread = (float(part) for part in rest.split(","))
            if center > 0 and spread >= 0 and math.isfinite(center + spread):
                return LengthSpec(kind, (center, spread))  # type: ignore[arg-type]
    except ValueError:
        pass
    expected = form or " or ".join(LENGTH_FORMS.values())
    raise ValueError(f"length {text!r} is not understood; use {expected}")


def as_length(spec: LengthSpec | str) -> LengthSpec:
    return spec if isinstance(spec, LengthSpec) else parse_length(spec)


def rngs(seed: int, count: int) -> list[np.random.Generator]:
    """Independent streams from one seed, so one choice changing leaves the others' draws."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(count)]
