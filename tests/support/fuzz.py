"""Property-based fuzzing (hypothesis) of the parsers that take outside input: the settings
profiles, and strategies shared by several parsers' tests.

Every test of a parser states its contract: a result, or the parser's documented error; any
other exception, or a run past the deadline, fails the test with the input that caused it.

The `crossfade` profile (loaded by tests/conftest.py) is derandomized: each run tries the same
inputs, so a failure reproduces with the same command. Tests are sized so the whole fuzz set
takes about a minute on two cores. To explore further, run with random seeds and more
examples (hypothesis prints the seed and a `@reproduce_failure` blob for what it finds):

    CROSSFADE_FUZZ_SCALE=20 .venv/bin/python -m pytest -k fuzz --hypothesis-profile=explore \
        --hypothesis-show-statistics -p no:cacheprovider
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

Test = TypeVar("Test", bound=Callable[..., Any])

_COMMON: dict[str, Any] = {
    "deadline": timedelta(seconds=2),  # any one input; generous for a shared, busy machine
    "suppress_health_check": [HealthCheck.too_slow],
    "print_blob": True,
}
PROFILE = "crossfade"
settings.register_profile(PROFILE, derandomize=True, database=None, **_COMMON)
settings.register_profile("explore", derandomize=False, database=None, **_COMMON)
SCALE = float(os.environ.get("CROSSFADE_FUZZ_SCALE", "1"))


def fuzz(examples: int) -> Callable[[Test], Test]:
    """This test's number of generated inputs, times `CROSSFADE_FUZZ_SCALE`."""
    return settings(max_examples=max(1, round(examples * SCALE)))


# JSON values as `json.loads` gives them (numbers include the infinities and NaN it accepts).
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def with_keys(
    keys: list[str], values: st.SearchStrategy[Any] = json_values
) -> st.SearchStrategy[dict[str, Any]]:
    """Mappings made mostly of a parser's real `keys`, with any values and a stray key now and
    then: the inputs a parser's own branches see."""
    key = st.sampled_from(keys) | st.text(max_size=8)
    return st.dictionaries(key, values, max_size=len(keys) + 1)
