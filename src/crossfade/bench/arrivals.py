"""Open-loop arrival schedules: absolute send offsets in integer nanoseconds from the run start.

Every generator here is pure and seeded: the same arguments give the same infinite sequence.
Offsets are absolute, not sleeps between sends, so a late send never shifts the ones after it.
Random intervals are rounded to whole nanoseconds and summed as integers, so a long run does
not pick up floating-point drift; `constant` computes each offset from its index directly.

    constant(rate)              offset_i = round(i * 1e9 / rate)
    poisson(rate, seed)         exponential intervals, mean 1/rate
    gamma(rate, shape, seed)    gamma intervals, mean 1/rate, coefficient of variation
                                1/sqrt(shape): shape < 1 is burstier, > 1 smoother
                                than Poisson (shape 1 is Poisson)

The first request of every schedule goes at offset 0.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from crossfade.bench.metrics import NS_PER_S

# Intervals are drawn this many at a time: fast, and an iterator nobody drains costs little.
_BLOCK = 4096

ArrivalKind = Literal["constant", "poisson", "gamma"]
ARRIVALS_FORMS = "constant, poisson or gamma:SHAPE (SHAPE > 0, e.g. gamma:0.5)"


def _check_positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number above 0, got {value!r}")


def constant(rate: float) -> Iterator[int]:
    """Evenly spaced sends: offset i is i * 1e9 / rate, rounded to the nearest nanosecond."""
    _check_positive("rate", rate)  # here, not in a generator body, so bad input fails at once
    return (round(index * NS_PER_S / rate) for index in itertools.count())


def poisson(rate: float, seed: int) -> Iterator[int]:
    """A Poisson process: independent exponential intervals with mean 1/rate."""
    _check_positive("rate", rate)
    rng = np.random.default_rng(seed)
    mean_ns = NS_PER_S / rate
    return _from_intervals(lambda: rng.exponential(mean_ns, _BLOCK))


def gamma(rate: float, shape: float, seed: int) -> Iterator[int]:
    """Gamma-distributed intervals with mean 1/rate; `shape` sets the burstiness."""
    _check_positive("rate", rate)
    _check_positive("gamma shape", shape)
    rng = np.random.default_rng(seed)
    scale_ns = NS_PER_S / (rate * shape)  # mean = shape * scale = 1/rate
    return _from_intervals(lambda: rng.gamma(shape, scale_ns, _BLOCK))


def _from_intervals(draw: Callable[[], npt.NDArray[np.float64]]) -> Iterator[int]:
    """Offsets as integer cumulative sums of the drawn intervals, starting at 0."""
    total_ns = 0
    yield total_ns
    while True:
        intervals = np.rint(draw()).astype(np.int64)
        offsets = total_ns + np.cumsum(intervals, dtype=np.int64)
        yield from (int(offset) for offset in offsets)
        total_ns = int(offsets[-1])


@dataclass(frozen=True)
class ArrivalPattern:
    """The shape of an open-loop schedule, as given by ``--arrivals``; the rate comes apart."""

    kind: ArrivalKind
    shape: float | None = None  # gamma only

    def __post_init__(self) -> None:
        if (self.kind == "gamma") != (self.shape is not None):
            raise ValueError("a gamma pattern needs a shape, and only a gamma pattern has one")
        if self.shape is not None:
            _check_positive("gamma shape", self.shape)

    def offsets(self, rate: float, seed: int) -> Iterator[int]:
        """The infinite schedule of absolute offsets (ns) at `rate` requests per second."""
        if self.kind == "constant":
            return constant(rate)
        if self.kind == "poisson":
            return poisson(rate, seed)
        assert self.shape is not None  # checked in __post_init__
        return gamma(rate, self.shape, seed)

    def spec(self) -> str:
        """The ``--arrivals`` string that parses back to this pattern (the same shape exactly:
        ``gamma:0.5``, and all the digits of a shape that ``g`` would round)."""
        if self.shape is None:
            return self.kind
        short = f"{self.shape:g}"
        return f"gamma:{short if float(short) == self.shape else repr(self.shape)}"

    def describe(self, rate: float) -> str:
        """A short label for reports, e.g. ``poisson@20/s`` or ``gamma:0.5@20/s``."""
        return f"{self.spec()}@{rate:g}/s"


def parse_arrivals(text: str) -> ArrivalPattern:
    """Parse ``--arrivals``: ``constant``, ``poisson`` or ``gamma:SHAPE``."""
    name, sep, argument = text.strip().partition(":")
    name = name.strip().lower()
    if name == "constant" and not sep:
        return ArrivalPattern("constant")
    if name == "poisson" and not sep:
        return ArrivalPattern("poisson")
    if name == "gamma" and sep:
        try:
            shape = float(argument)
        except ValueError:
            shape = math.nan
        if math.isfinite(shape) and shape > 0:
            return ArrivalPattern("gamma", shape)
    raise ValueError(f"--arrivals {text!r} is not understood; use {ARRIVALS_FORMS}")


def arrival_offsets(arrivals: str, rate: float, seed: int) -> Iterator[int]:
    """Shorthand: parse ``--arrivals`` and return its schedule at `rate` with `seed`."""
    return parse_arrivals(arrivals).offsets(rate, seed)


def first_offsets(offsets: Iterator[int], count: int) -> npt.NDArray[np.int64]:
    """The next `count` offsets of a schedule as an int64 array (for tests and previews)."""
    return np.fromiter(itertools.islice(offsets, count), dtype=np.int64, count=count)
