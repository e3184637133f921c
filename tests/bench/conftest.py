"""A real ground-truth streaming server (its own process, real sockets) for runner tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crossfade.lab.processes import stop
from tests.support.groundtruth import GroundTruth, start_groundtruth
from tests.support.ports import free_port


@pytest.fixture
def groundtruth(tmp_path: Path) -> Iterator[GroundTruth]:
    """20 ms TTFT, 5 ms ITL, on a free port (another test run on this host may hold any fixed
    one, and its /health would answer for ours)."""
    server = start_groundtruth(tmp_path, free_port())
    try:
        yield server
    finally:
        stop(server.process, grace_s=5)
