from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

from crossfade.spec import Spec, load_spec
from tests.support.fuzz import PROFILE

settings.load_profile(PROFILE)  # `--hypothesis-profile=explore` replaces it (see fuzz.py)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


@pytest.fixture(params=EXAMPLES, ids=[p.stem for p in EXAMPLES])
def example_spec(request: pytest.FixtureRequest) -> Spec:
    return load_spec(request.param)
