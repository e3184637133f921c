"""The state the admin API changes: the contract's listing, and changes validated all-or-nothing."""

from __future__ import annotations

from typing import Any

import pytest

from crossfade.rollout.router.config import parse_router_config
from crossfade.rollout.router.state import AdminInputError, RouterState

BACKENDS = [
    {"name": "vllm-triton", "target": "triton-vllm://127.0.0.1:18000/vllm_model", "weight": 100},
    {"name": "trtllm-ensemble", "target": "triton-trtllm://127.0.0.1:18000/ensemble", "weight": 0},
]


def state(**extra: Any) -> RouterState:
    data = {"version": 1, "backends": BACKENDS, **extra}
    return RouterState(parse_router_config(data), clock=lambda: 0.0)


def test_listing_has_the_contract_fields_and_whole_weights() -> None:
    listing = state(shadow={"backend": "trtllm-ensemble", "share": 0.25}).listing()
    assert listing["shadow"] == {"backend": "trtllm-ensemble", "share": 0.25}
    first = listing["backends"][0]
    assert first == {
        "name": "vllm-triton",
        "target": "triton-vllm://127.0.0.1:18000/vllm_model",
        "weight": 100,
        "healthy": True,
        "ejected": False,
        "consecutive_failures": 0,
    }
    assert isinstance(first["weight"], int)
    assert state().listing()["shadow"] is None


def test_set_weights_is_all_or_nothing() -> None:
    s = state()
    s.set_weights({"vllm-triton": 95, "trtllm-ensemble": 5.5})
    assert [b.weight for b in s.backends] == [95, 5.5]
    for bad, says in (
        ({"vllm-triton": 1, "trtllm": 2}, "no backend named 'trtllm'"),
        ({"vllm-triton": 1, "trtllm-ensemble": -1}, ">= 0"),
        ({"vllm-triton": True}, ">= 0"),
        ({}, "weights"),
    ):
        with pytest.raises(AdminInputError, match=says):
            s.set_weights(bad)
        assert [b.weight for b in s.backends] == [95, 5.5]


def test_eject_restore_and_shadow() -> None:
    s = state()
    s.eject("vllm-triton")
    assert [v.in_rotation for v in s.views()] == [False, True]
    s.by_name["vllm-triton"].health.healthy = False
    s.restore("vllm-triton")
    assert [v.in_rotation for v in s.views()] == [True, True]
    with pytest.raises(AdminInputError) as caught:
        s.eject("nope")
    assert caught.value.status == 404
    s.set_shadow("trtllm-ensemble", 1)
    assert (s.shadow_backend, s.shadow_share) == ("trtllm-ensemble", 1.0)
    with pytest.raises(AdminInputError, match=r"\[0, 1\]"):
        s.set_shadow("trtllm-ensemble", 1.5)
    s.set_shadow(None, None)
    assert s.listing()["shadow"] is None
