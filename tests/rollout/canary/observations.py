"""Synthetic router observations for the gate and machine tests."""

from __future__ import annotations

import itertools

import numpy as np

from crossfade.rollout.router.observations import Observation
from tests.rollout.canary.fakes import Profile

_seq = itertools.count(1)


def observations(
    backend: str,
    n: int,
    profile: Profile | None = None,
    *,
    seed: int = 0,
    shadow: bool = False,
) -> list[Observation]:
    """`n` requests of `backend`: latencies lognormal around the profile's (sigma 0.15), a
    seeded `error_rate` share failed, a `short_rate` share one token short."""
    profile = profile or Profile()
    rng = np.random.default_rng([seed, sum(map(ord, backend))])
    result = []
    for _ in range(n):
        ok = rng.random() >= profile.error_rate
        tokens = profile.tokens - (1 if rng.random() < profile.short_rate else 0)
        spread = rng.lognormal(0.0, 0.15, size=tokens)
        result.append(
            Observation(
                seq=next(_seq),
                backend=backend,
                shadow=shadow,
                ok=ok,
                error_kind=None if ok else "http_503",
                ttft_ms=profile.ttft_ms * float(spread[0]) if ok else None,
                itl_ms=[profile.itl_ms * float(s) for s in spread[1:]] if ok else [],
                output_tokens=tokens if ok else None,
                requested_tokens=profile.tokens,
                end_unix=0.0,
                # TPOT = (E2E - TTFT) / (tokens - 1): the mean of the request's ITLs
                tpot_ms=profile.itl_ms * float(spread[1:].mean()) if ok and tokens > 1 else None,
            )
        )
    return result


def window(
    incumbent: int,
    candidate: int,
    cand: Profile | None = None,
    inc: Profile | None = None,
    *,
    seed: int = 0,
) -> list[Observation]:
    """One window: `incumbent` requests of the incumbent, `candidate` of the candidate."""
    return observations("incumbent", incumbent, inc, seed=seed) + observations(
        "candidate", candidate, cand, seed=seed
    )
