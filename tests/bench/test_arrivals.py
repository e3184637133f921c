from __future__ import annotations

import itertools

import numpy as np
import pytest

from crossfade.bench.arrivals import (
    ArrivalPattern,
    arrival_offsets,
    constant,
    first_offsets,
    gamma,
    parse_arrivals,
    poisson,
)

COUNT = 100_000


def _mean_rate(offsets: np.ndarray) -> float:
    """Arrivals per second over the span: intervals between the first and the last offset."""
    return (len(offsets) - 1) * 1e9 / float(offsets[-1] - offsets[0])


@pytest.mark.parametrize("rate", [1.0, 7.0, 20.0, 333.3])
def test_constant_offsets_are_exact(rate: float) -> None:
    offsets = first_offsets(constant(rate), COUNT)
    expected = [round(i * 1e9 / rate) for i in range(COUNT)]
    assert offsets.tolist() == expected


@pytest.mark.parametrize(
    "pattern",
    ["constant", "poisson", "gamma:0.5", "gamma:1", "gamma:4"],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_empirical_rate_is_within_one_percent(pattern: str, seed: int) -> None:
    rate = 20.0
    offsets = first_offsets(arrival_offsets(pattern, rate, seed), COUNT)
    assert _mean_rate(offsets) == pytest.approx(rate, rel=0.01)


@pytest.mark.parametrize("shape", [0.25, 1.0, 4.0])
def test_gamma_shape_sets_burstiness(shape: float) -> None:
    intervals = np.diff(first_offsets(gamma(10.0, shape, seed=3), COUNT))
    coefficient_of_variation = intervals.std() / intervals.mean()
    assert coefficient_of_variation == pytest.approx(1 / np.sqrt(shape), rel=0.05)


def test_poisson_intervals_are_exponential() -> None:
    intervals = np.diff(first_offsets(poisson(50.0, seed=5), COUNT))
    assert intervals.std() / intervals.mean() == pytest.approx(1.0, rel=0.03)


@pytest.mark.parametrize("pattern", ["poisson", "gamma:0.5", "gamma:3"])
def test_same_seed_same_offsets_and_different_seeds_differ(pattern: str) -> None:
    first = first_offsets(arrival_offsets(pattern, 10.0, seed=42), 10_000)
    again = first_offsets(arrival_offsets(pattern, 10.0, seed=42), 10_000)
    other = first_offsets(arrival_offsets(pattern, 10.0, seed=43), 10_000)
    assert first.tolist() == again.tolist()
    assert first.tolist() != other.tolist()


@pytest.mark.parametrize("pattern", ["constant", "poisson", "gamma:0.3"])
def test_offsets_are_absolute_integer_nanoseconds_from_zero(pattern: str) -> None:
    offsets = list(itertools.islice(arrival_offsets(pattern, 1000.0, seed=0), 20_000))
    assert offsets[0] == 0
    assert all(type(offset) is int for offset in offsets)
    assert all(b >= a for a, b in itertools.pairwise(offsets))


def test_schedule_is_the_same_however_it_is_consumed() -> None:
    # Drawn in blocks internally: the block size must not leak into the sequence.
    whole = first_offsets(poisson(5.0, seed=9), 10_000).tolist()
    stream = poisson(5.0, seed=9)
    pieces = [next(stream) for _ in range(3)] + first_offsets(stream, 9_997).tolist()
    assert pieces == whole


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("constant", ArrivalPattern("constant")),
        ("poisson", ArrivalPattern("poisson")),
        (" Poisson ", ArrivalPattern("poisson")),
        ("gamma:0.5", ArrivalPattern("gamma", 0.5)),
        ("gamma:2", ArrivalPattern("gamma", 2.0)),
    ],
)
def test_parse_arrivals(text: str, expected: ArrivalPattern) -> None:
    assert parse_arrivals(text) == expected
    assert parse_arrivals(expected.spec()) == expected


@pytest.mark.parametrize(
    "text", ["", "uniform", "gamma", "gamma:", "gamma:0", "gamma:-1", "gamma:x", "poisson:2"]
)
def test_parse_arrivals_rejects_bad_text_naming_the_forms(text: str) -> None:
    with pytest.raises(ValueError, match=r"constant, poisson or gamma:SHAPE"):
        parse_arrivals(text)


@pytest.mark.parametrize(
    ("text", "label"),
    [("constant", "constant@20/s"), ("poisson", "poisson@20/s"), ("gamma:0.5", "gamma:0.5@20/s")],
)
def test_describe(text: str, label: str) -> None:
    assert parse_arrivals(text).describe(20.0) == label
    assert parse_arrivals(text).describe(2.5).endswith("@2.5/s")


@pytest.mark.parametrize("rate", [0.0, -1.0, float("inf"), float("nan")])
def test_bad_rate_fails_at_once(rate: float) -> None:
    for make in (lambda: constant(rate), lambda: poisson(rate, 0), lambda: gamma(rate, 1.0, 0)):
        with pytest.raises(ValueError, match="rate"):
            make()


def test_gamma_pattern_needs_a_positive_shape() -> None:
    with pytest.raises(ValueError, match="shape"):
        ArrivalPattern("gamma")
    with pytest.raises(ValueError, match="shape"):
        ArrivalPattern("poisson", 2.0)
    with pytest.raises(ValueError, match="shape"):
        gamma(1.0, 0.0, seed=0)
