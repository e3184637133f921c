"""Property-based fuzzing (hypothesis) of the parsers that take outside input: the settings
profiles, and strategies shared by several parsers' tests.

Every test of a parser states its contract: a result, or the parser's documented error; any
other exception, or a run past the deadline, fails the test with the input that caused it.

The `crossfade` profile (loaded by tests/conftest.py) is derandomized: each run tries the same
inputs, so a failure reproduces with the same command. Tests are sized so the whole fuzz set
takes about a minute on two cores. To explore further, run with random seeds and more
examples (hypothesis prints the seed and a `@reproduce_failure` blob for what it finds):

    CROSSFADE_FUZZ_SCALE=20 .venv/bin/python -m pytest tests --ignore=tests/lab -k fuzz \
        --hypothesis-profile=explore --hypothesis-show-statistics -p no:cacheprovider
"""

from __future__ import annotations

import copy
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


def fuzz(examples: int, deadline_s: float | None = None) -> Callable[[Test], Test]:
    """This test's number of generated inputs, times `CROSSFADE_FUZZ_SCALE`; `deadline_s`
    replaces the profile's bound on one input (for inputs that wait on a real socket)."""
    extra = {} if deadline_s is None else {"deadline": timedelta(seconds=deadline_s)}
    return settings(max_examples=max(1, round(examples * SCALE)), **extra)


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


# Values a person or a broken writer might put where another was expected.
odd_values = json_values | st.sampled_from(
    [None, "", -1, 0, 10**30, float("inf"), float("nan"), "2020-13-45", "${var}", [], {}]
)


@st.composite
def mutated(draw: st.DrawFn, document: Any, values: st.SearchStrategy[Any] = odd_values) -> Any:
    """`document` (JSON-like: dicts, lists, scalars) with one to three edits at random places:
    a value replaced by another of its type (so the document often stays valid and reaches the
    code behind the reader) or by anything, a key or item removed, a key misspelled, an
    unknown key added."""
    document = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, 3))):
        parent, key = _random_place(draw, document)
        if parent is None:
            return draw(values)
        edit = draw(st.sampled_from(["alike"] * 4 + ["replace", "remove", "rename", "add"]))
        if edit == "alike":
            parent[key] = draw(alike(parent[key]))
        elif edit == "replace" or (edit == "rename" and not isinstance(parent, dict)):
            parent[key] = draw(values)
        elif edit == "remove":
            del parent[key]
        elif edit == "rename":
            parent[draw(st.text(max_size=3)) + str(key)[1:]] = parent.pop(key)
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(values)
        else:
            parent.insert(key, draw(values))
    return document


def alike(value: Any) -> st.SearchStrategy[Any]:
    """Another value of `value`'s JSON type: edge numbers, other text, items dropped or
    repeated, keys left out."""
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.integers(-3, 3) | st.integers(-(2**63), 2**63) | st.just(value * 1000)
    if isinstance(value, float):
        return st.floats() | st.floats(-10.0, 10.0) | st.just(value * 1000)
    if isinstance(value, str):
        return st.text(max_size=10)
    if isinstance(value, list):
        return st.lists(st.sampled_from(value), max_size=len(value) + 2) if value else st.just([])
    if isinstance(value, dict):
        keys = st.sets(st.sampled_from(list(value))) if value else st.just(set())
        return keys.map(lambda chosen: {k: v for k, v in value.items() if k in chosen})
    return odd_values


def _random_place(draw: st.DrawFn, document: Any) -> tuple[Any, Any]:
    """A (container, key) inside `document`, reached by a random walk; (None, None) for the
    document itself."""
    parent: Any = None
    key: Any = None
    node = document
    while isinstance(node, dict | list) and node and draw(st.integers(0, 3)):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        parent, key = node, draw(st.sampled_from(keys))
        node = node[key]
    if parent is None and isinstance(node, dict | list) and node:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        parent, key = node, draw(st.sampled_from(keys))
    return parent, key
