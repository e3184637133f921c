"""What the router measured of each finished backend request, kept for the canary.

Every attempt is one observation: the client-facing ones (a request that fell back gives one per
backend it tried) and the shadow copies (`shadow: true`). Times come from the bench's metric
definitions applied to the router's own record: TTFT from the upstream send to the first token,
ITL per token, TPOT per request (docs/metrics.md). A failure's timings are not latencies: its
TTFT and TPOT are null and its ITL list empty, as in a bench summary.

`ObservationRing` keeps the last `capacity` in order and serves them by sequence number:
`after(seq)` returns the ones with a larger seq (exclusive) and the `next` cursor to pass back.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from pydantic import ConfigDict, with_config

from crossfade.bench.metrics import NS_PER_MS, itl_ns, tpot_ns, ttft_ns
from crossfade.bench.protocol import RequestRecord


@with_config(ConfigDict(extra="forbid"))  # as the canary reads it: unknown keys refused
@dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    """One finished attempt: what the router records, serves on GET /admin/observations, and
    the canary reads back (validated by pydantic, with the defaults an older router needs)."""

    seq: int
    backend: str
    shadow: bool
    ok: bool
    error_kind: str | None = None
    ttft_ms: float | None = None
    itl_ms: list[float] = field(default_factory=list)
    output_tokens: int | None = None
    requested_tokens: int | None = None
    end_unix: float
    tpot_ms: float | None = None  # None: a failure, or one token only (absent before TPOT)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def observe(
    record: RequestRecord, backend: str, *, shadow: bool, exact_length: bool
) -> Observation:
    """An observation of one finished attempt (seq 0 until the ring numbers it).
    `requested_tokens` is the exact length the client asked for, or None when `max_tokens` was
    only a cap: an answer that stops earlier is then no mismatch."""
    ok = record.ok
    ttft = ttft_ns(record) if ok else None
    tpot = tpot_ns(record) if ok else None
    if record.server_output_tokens is not None:
        tokens: int | None = record.server_output_tokens
    else:
        tokens = sum(record.chunk_tokens) if record.chunk_tokens else None
    return Observation(
        seq=0,
        backend=backend,
        shadow=shadow,
        ok=ok,
        error_kind=record.error_kind.value if record.error_kind else None,
        ttft_ms=None if ttft is None else ttft / NS_PER_MS,
        itl_ms=[v / NS_PER_MS for v in itl_ns(record).tolist()] if ok else [],
        output_tokens=tokens,
        requested_tokens=record.requested_output_tokens if exact_length else None,
        end_unix=time.time(),
        tpot_ms=None if tpot is None else tpot / NS_PER_MS,
    )


class ObservationRing:
    """The last `capacity` observations, numbered 1, 2, ... in the order they finished."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._items: deque[Observation] = deque(maxlen=capacity)
        self.last_seq = 0

    def add(self, observation: Observation) -> Observation:
        self.last_seq += 1
        numbered = replace(observation, seq=self.last_seq)
        self._items.append(numbered)
        return numbered

    def after(self, seq: int, limit: int | None = None) -> tuple[int, list[Observation]]:
        """(next cursor, observations with seq > `seq`, oldest first, at most `limit`). The
        cursor is the last seq returned; with nothing newer it is `seq`, or the last seq there
        is when `seq` is beyond it (a router that restarted numbers from 1 again)."""
        if not self._items:
            return min(seq, self.last_seq), []
        first = self._items[0].seq
        start = max(0, seq - first + 1)
        stop = None if limit is None else start + limit
        found = list(itertools.islice(self._items, start, stop))
        if not found:
            return min(seq, self.last_seq), []
        return found[-1].seq, found
