"""The pure choice of backends: weights, sticky keys, health, ejection and priority order."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from crossfade.rollout.router.choose import BackendView, choose, rendezvous_score, weighted_pick


def view(name: str, weight: float, in_rotation: bool = True, ejected: bool = False) -> BackendView:
    return BackendView(name, weight, in_rotation and not ejected, ejected)


def test_weighted_pick_gives_each_backend_its_share_of_the_unit_interval() -> None:
    backends = [view("a", 3), view("b", 1)]
    assert weighted_pick(backends, 0.0).name == "a"
    assert weighted_pick(backends, 0.7499).name == "a"
    assert weighted_pick(backends, 0.75).name == "b"
    assert weighted_pick(backends, 0.9999999).name == "b"


def test_weights_split_the_traffic_and_the_rest_follow_in_priority_order() -> None:
    backends = [view("a", 80), view("b", 20), view("c", 0)]
    rng = random.Random(7)
    orders = [choose(backends, None, rng) for _ in range(20_000)]
    firsts = Counter(order[0] for order in orders)
    assert firsts["c"] == 0  # weight 0: no share of the traffic ...
    assert firsts["a"] / 20_000 == pytest.approx(0.8, abs=0.015)
    assert {tuple(o) for o in orders} == {("a", "b", "c"), ("b", "a", "c")}  # ... but a fallback


def test_only_zero_weights_left_in_rotation_means_the_first_in_priority_order() -> None:
    backends = [view("a", 100, in_rotation=False), view("b", 0), view("c", 0)]
    assert choose(backends, None, random.Random(1)) == ["b", "c"]


def test_unhealthy_and_ejected_backends_are_not_tried_while_others_are_in_rotation() -> None:
    backends = [view("a", 50, in_rotation=False), view("b", 50, ejected=True), view("c", 1)]
    assert choose(backends, None, random.Random(1)) == ["c"]


def test_with_none_in_rotation_every_backend_not_ejected_is_tried_in_priority_order() -> None:
    backends = [view("a", 1, in_rotation=False), view("b", 1, ejected=True), view("c", 0, False)]
    assert choose(backends, None, random.Random(1)) == ["a", "c"]
    assert choose([view("a", 1, ejected=True)], None, random.Random(1)) == []


def test_a_sticky_key_always_gets_the_same_backend_whatever_the_draws() -> None:
    backends = [view("a", 50), view("b", 50)]
    for key in ("user-1", "user-2", "session-xyz"):
        firsts = {choose(backends, key, random.Random(seed))[0] for seed in range(50)}
        assert len(firsts) == 1


def test_sticky_keys_split_by_weight() -> None:
    backends = [view("a", 80), view("b", 20)]
    firsts = Counter(choose(backends, f"k{i}", random.Random(0))[0] for i in range(20_000))
    assert firsts["a"] / 20_000 == pytest.approx(0.8, abs=0.015)


def test_a_weight_change_moves_only_the_keys_that_must_move() -> None:
    keys = [f"k{i}" for i in range(5_000)]
    before = {k: choose([view("a", 95), view("b", 5)], k, random.Random(0))[0] for k in keys}
    after = {k: choose([view("a", 75), view("b", 25)], k, random.Random(0))[0] for k in keys}
    moved = [k for k in keys if before[k] != after[k]]
    assert all(before[k] == "a" and after[k] == "b" for k in moved)  # only towards the grower
    assert len(moved) / len(keys) == pytest.approx(0.20, abs=0.02)


def test_a_sticky_key_leaves_an_unhealthy_backend_and_comes_back_to_it() -> None:
    healthy = [view("a", 1), view("b", 1), view("c", 1)]
    key = next(
        k for k in (f"s{i}" for i in range(100)) if choose(healthy, k, random.Random())[0] == "b"
    )
    without_b = [view("a", 1), view("b", 1, in_rotation=False), view("c", 1)]
    assert choose(without_b, key, random.Random())[0] in {"a", "c"}
    assert choose(healthy, key, random.Random())[0] == "b"


def test_rendezvous_score_is_deterministic_and_lower_for_heavier_backends() -> None:
    assert rendezvous_score("k", "a", 1) == rendezvous_score("k", "a", 1)
    assert rendezvous_score("k", "a", 10) == pytest.approx(rendezvous_score("k", "a", 1) / 10)
