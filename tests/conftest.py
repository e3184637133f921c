from __future__ import annotations

import pytest
from hypothesis import settings

from crossfade.spec import Spec, load_spec
from tests.support.fuzz import PROFILE
from tests.support.paths import EXAMPLES

settings.load_profile(PROFILE)  # `--hypothesis-profile=explore` replaces it (see fuzz.py)


@pytest.fixture(params=EXAMPLES, ids=[p.stem for p in EXAMPLES])
def example_spec(request: pytest.FixtureRequest) -> Spec:
    return load_spec(request.param)
