"""Shadow mode: a share of the client requests is also sent to a candidate backend, whose answer
the client never sees. Both answers are kept side by side for comparison (`ShadowComparison`:
the two texts, TTFTs and output lengths, and whether the texts are the same), on top of the two
observations every attempt gives.

Mirrors run beside the client's request with at most `limit` in flight; a mirror that would
exceed it is skipped and counted, so a slow candidate cannot pile up work in the router.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from crossfade.rollout.router.observations import Observation
from crossfade.rollout.router.state import RouterState

TEXT_KEPT = 2000  # characters of each answer kept in a comparison


@dataclass(frozen=True, slots=True)
class Answer:
    observation: Observation
    text: str

    def to_json(self) -> dict[str, Any]:
        o = self.observation
        return {
            "seq": o.seq,
            "backend": o.backend,
            "ok": o.ok,
            "error_kind": o.error_kind,
            "ttft_ms": o.ttft_ms,
            "output_tokens": o.output_tokens,
            "text": self.text[:TEXT_KEPT],
        }


@dataclass(slots=True)
class ShadowComparison:
    """One mirrored request: filled by whichever side finishes first, kept when both have."""

    primary: Answer | None = None
    shadow: Answer | None = None
    seq: int = 0

    def to_json(self) -> dict[str, Any]:
        assert self.primary is not None
        assert self.shadow is not None
        return {
            "seq": self.seq,
            "primary": self.primary.to_json(),
            "shadow": self.shadow.to_json(),
            "same_text": self.primary.text == self.shadow.text,
        }


@dataclass
class ShadowBook:
    """Decides which requests are mirrored and keeps the finished comparisons."""

    limit: int = 64
    capacity: int = 10_000
    in_flight: int = 0
    comparisons: deque[ShadowComparison] = field(default_factory=deque)
    last_seq: int = 0

    def should_mirror(self, state: RouterState, primary: str, rng: random.Random) -> str | None:
        """The backend to mirror this request to, or None. The draw is made only when a shadow
        is set, so a router without one uses no randomness for it."""
        backend, share = state.shadow_backend, state.shadow_share
        if backend is None or share <= 0 or backend == primary:
            return None
        if state.get(backend).ejected or rng.random() >= share:
            return None
        return backend

    def has_room(self) -> bool:
        return self.in_flight < self.limit

    def fill(self, comparison: ShadowComparison, answer: Answer, *, shadow: bool) -> None:
        if shadow:
            comparison.shadow = answer
        else:
            comparison.primary = answer
        if comparison.primary is not None and comparison.shadow is not None:
            self.last_seq += 1
            comparison.seq = self.last_seq
            self.comparisons.append(comparison)
            while len(self.comparisons) > self.capacity:
                self.comparisons.popleft()

    def after(self, seq: int) -> tuple[int, list[dict[str, Any]]]:
        found = [c.to_json() for c in self.comparisons if c.seq > seq]
        return (found[-1]["seq"] if found else min(seq, self.last_seq)), found
