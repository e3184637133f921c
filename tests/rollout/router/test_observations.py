"""Observations from the router's records (the bench's TTFT, per-token ITL and TPOT), and the
ring."""

from __future__ import annotations

import json

import pytest
from pydantic import TypeAdapter, ValidationError

from crossfade.bench.protocol import ErrorKind, RequestRecord
from crossfade.rollout.router.observations import Observation, ObservationRing, observe


def record(**fields: object) -> RequestRecord:
    base = RequestRecord(0, 0, 4, scheduled_ns=0, sent_ns=1_000_000)
    for name, value in fields.items():
        setattr(base, name, value)
    return base


def test_a_good_attempt_has_ttft_and_one_itl_per_token_after_the_first() -> None:
    # chunks at 11 ms (1 token), 15 ms (1 token), 21 ms (2 tokens) after a send at 1 ms
    good = record(
        chunk_ns=[11_000_000, 15_000_000, 21_000_000],
        chunk_tokens=[1, 1, 2],
        server_output_tokens=4,
        end_ns=22_000_000,
    )
    observation = observe(good, "a", shadow=True, exact_length=True)
    assert observation.ok
    assert observation.shadow
    assert observation.ttft_ms == pytest.approx(10.0)
    assert observation.itl_ms == pytest.approx([4.0, 3.0, 3.0])
    assert observation.tpot_ms == pytest.approx((22.0 - 11.0) / 3)  # (end - first) / (4 - 1)
    assert (observation.output_tokens, observation.requested_tokens) == (4, 4)


def test_a_failure_has_no_latencies_but_keeps_what_arrived() -> None:
    failed = record(chunk_ns=[11_000_000], chunk_tokens=[1], end_ns=30_000_000)
    failed.fail(ErrorKind.TRUNCATED, "broken", 30_000_000)
    observation = observe(failed, "a", shadow=False, exact_length=True)
    assert (observation.ok, observation.error_kind) == (False, "truncated")
    assert observation.ttft_ms is None
    assert observation.tpot_ms is None
    assert observation.itl_ms == []
    assert observation.output_tokens == 1
    nothing = observe(record(), "a", shadow=False, exact_length=False)
    assert nothing.output_tokens is None  # nothing came at all
    assert nothing.requested_tokens is None  # max_tokens was a cap, not a length to check


def test_the_ring_numbers_pages_and_forgets_the_oldest() -> None:
    ring = ObservationRing(capacity=3)
    assert ring.after(0) == (0, [])
    for _ in range(5):
        ring.add(observe(record(), "a", shadow=False, exact_length=False))
    cursor, found = ring.after(0)
    assert [o.seq for o in found] == [3, 4, 5]  # 1 and 2 fell out of the ring
    assert cursor == 5
    cursor, found = ring.after(3, limit=1)
    assert ([o.seq for o in found], cursor) == ([4], 4)
    assert ring.after(5) == (5, [])
    assert ring.after(99) == (5, [])  # a cursor from before a restart: start over from here


def test_the_canary_reads_back_what_the_router_serves() -> None:
    """One `Observation` on both sides of GET /admin/observations: the router's JSON reads back
    equal; an older router's (no tpot_ms) reads with the default; an unknown key is refused."""
    served = ObservationRing().add(
        observe(
            record(chunk_ns=[11_000_000], chunk_tokens=[1]), "a", shadow=False, exact_length=True
        )
    )
    wire = json.loads(json.dumps(served.to_json()))
    adapter = TypeAdapter(Observation)
    assert adapter.validate_python(wire) == served
    older = {k: v for k, v in wire.items() if k != "tpot_ms"}
    assert adapter.validate_python(older).tpot_ms is None
    with pytest.raises(ValidationError, match="surprise"):
        adapter.validate_python({**wire, "surprise": 1})
