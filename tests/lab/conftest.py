"""One real lab per test session: a real Triton (vLLM model + emulated TensorRT-LLM ensemble)
and a real vLLM OpenAI server, on test ports of 127.0.0.1.

Set CROSSFADE_TEST_LAB_DIR to the folder of a lab that is already up (`crossfade lab up
--dir DIR`) to reuse it across runs while developing; otherwise the session starts its own lab
and stops it at the end.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from crossfade.lab.control import down, status, up
from crossfade.lab.settings import LabSettings
from tests.support.lab import LabEndpoints

TEST_PORTS = {"http_port": 18500, "grpc_port": 18501, "metrics_port": 18502, "vllm_port": 18600}


@pytest.fixture(scope="session")
def lab() -> Iterator[LabEndpoints]:
    reuse = os.environ.get("CROSSFADE_TEST_LAB_DIR")
    if reuse:
        current = status(LabSettings(Path(reuse)))
        if not current.running:
            pytest.fail(f"CROSSFADE_TEST_LAB_DIR={reuse} is not a running lab")
        yield LabEndpoints(current, Path(current.model_dir or ""))
        return
    # A fixed folder, not a fresh temporary one: if an earlier session was killed before its
    # teardown, `up` finds that lab in state.json and stops it instead of colliding with it.
    settings = LabSettings(Path(tempfile.gettempdir()) / "crossfade-test-lab", **TEST_PORTS)
    try:
        started = up(settings, progress=lambda message: print(f"lab: {message}"))
        yield LabEndpoints(started, Path(started.model_dir or ""))
    finally:
        down(settings)
