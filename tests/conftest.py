from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings

from crossfade.spec import Spec, load_spec
from tests.support.fuzz import PROFILE
from tests.support.paths import EXAMPLES
from tests.support.tiers import SERVER_TIERS, no_servers, tiers_of

settings.load_profile(PROFILE)  # `--hypothesis-profile=explore` replaces it (see fuzz.py)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with the tiers its folder and fixtures put it in (tests/support/tiers.py)."""
    for item in items:
        generated = getattr(getattr(item, "obj", None), "is_hypothesis_test", False)
        for tier in sorted(tiers_of(item.path, getattr(item, "fixturenames", ()), generated)):
            item.add_marker(tier)


def in_its_tier(item: pytest.Item) -> Iterator[None]:
    """A test outside the server tiers, and the fixtures it sets up, may not reach a socket or a
    process (tests/support/tiers.py)."""
    if any(item.get_closest_marker(tier) for tier in SERVER_TIERS):
        return (yield)
    with no_servers(item.nodeid) as attempts:
        try:
            return (yield)
        finally:
            if attempts:  # reported even if the code under test caught the error
                pytest.fail(attempts[0])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    return (yield from in_its_tier(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    return (yield from in_its_tier(item))


@pytest.fixture(params=EXAMPLES, ids=[p.stem for p in EXAMPLES])
def example_spec(request: pytest.FixtureRequest) -> Spec:
    return load_spec(request.param)
