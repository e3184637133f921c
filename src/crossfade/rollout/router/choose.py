"""Which backends a request tries, in which order: a pure function of the backends' state, their
weights, an optional sticky key and a random draw.

- The first backend is drawn by weight among those in rotation (healthy and not ejected). A
  sticky key replaces the draw by weighted rendezvous hashing: each backend scores
  -ln(u) / weight, with u a hash of (key, backend) in (0, 1), and the lowest score wins. A
  backend then wins with probability weight / total, the same key wins the same backend while
  it stays in rotation, and a weight change moves only the keys that must move.
- The rest follow in priority order (config order), weight 0 included: a backend with no share
  of the traffic still catches what the others drop. Eject it to keep it out of fallback too.
- No backend in rotation: every backend the admin has not ejected, in priority order. Health is a
  view that can lag; trying them costs a refused connection at worst, failing every request
  without trying costs more.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BackendView:
    """What the choice needs to know of one backend."""

    name: str
    weight: float
    in_rotation: bool  # healthy and not ejected
    ejected: bool  # by the admin API: never tried until restored


def choose(
    backends: Sequence[BackendView], sticky_key: str | None, rng: random.Random
) -> list[str]:
    """Backend names to try, in order (see the module docstring); empty if all are ejected."""
    rotation = [b for b in backends if b.in_rotation]
    if not rotation:
        return [b.name for b in backends if not b.ejected]
    weighted = [b for b in rotation if b.weight > 0]
    if not weighted:
        first = rotation[0]
    elif sticky_key is not None:
        first = min(weighted, key=lambda b: rendezvous_score(sticky_key, b.name, b.weight))
    else:
        first = weighted_pick(weighted, rng.random())
    return [first.name, *(b.name for b in rotation if b is not first)]


def weighted_pick(backends: Sequence[BackendView], draw: float) -> BackendView:
    """The backend whose share of [0, 1) holds `draw`; shares are weight / total, in order."""
    total = sum(b.weight for b in backends)
    point = draw * total
    for backend in backends:
        point -= backend.weight
        if point < 0:
            return backend
    return backends[-1]  # draw * total rounded up to total


def rendezvous_score(key: str, name: str, weight: float) -> float:
    """-ln(u) / weight with u uniform in (0, 1) from a hash of (key, name): lowest wins."""
    digest = hashlib.blake2b(f"{key}\0{name}".encode(), digest_size=8).digest()
    unit = (int.from_bytes(digest, "big") + 0.5) / 2.0**64
    return -math.log(unit) / weight
