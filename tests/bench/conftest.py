"""A real ground-truth streaming server (its own process, real sockets) for runner tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.groundtruth import GroundTruth, running_groundtruth


@pytest.fixture
def groundtruth(tmp_path: Path) -> Iterator[GroundTruth]:
    """20 ms TTFT, 5 ms ITL, on a free port (another test run on this host may hold any fixed
    one, and its /health would answer for ours)."""
    with running_groundtruth(tmp_path) as server:
        yield server
