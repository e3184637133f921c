"""Each backend's health state machine on a fake clock, and how outcomes are classified."""

from __future__ import annotations

import pytest

from crossfade.bench.protocol import ErrorKind
from crossfade.rollout.router.health import (
    BackendHealth,
    HealthPolicy,
    counts_against,
    may_fall_back,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def tracker(
    eject: int = 3, restore: int = 2, interval: float = 2.0
) -> tuple[BackendHealth, FakeClock]:
    clock = FakeClock()
    return BackendHealth(HealthPolicy(interval, eject, restore), clock), clock


def test_consecutive_request_failures_eject_and_a_success_breaks_the_streak() -> None:
    health, _ = tracker(eject=3)
    for failed in (True, True, False, True, True):
        health.request_done(failed)
    assert health.healthy
    assert health.consecutive_failures == 2
    health.request_done(True)
    assert not health.healthy
    assert health.consecutive_failures == 3


def test_good_probes_restore_an_ejected_backend_and_requests_alone_do_not() -> None:
    health, _ = tracker(eject=2, restore=2)
    health.request_done(True)
    health.request_done(True)
    assert not health.healthy
    health.request_done(False)  # panic traffic that happened to work
    assert not health.healthy
    health.probe_done(True)
    assert not health.healthy
    health.probe_done(False)  # the streak of good probes starts over
    health.probe_done(True)
    assert not health.healthy
    health.probe_done(True)
    assert health.healthy
    assert health.consecutive_failures == 0


def test_failed_probes_eject_too() -> None:
    health, _ = tracker(eject=3)
    for _ in range(2):
        health.probe_done(False)
    assert health.healthy
    health.probe_done(False)
    assert not health.healthy


def test_probes_run_every_interval_and_at_once_after_an_ejection() -> None:
    health, clock = tracker(eject=1, interval=2.0)
    assert health.probe_due()  # the first probe goes at once
    health.probe_done(True)
    assert not health.probe_due()
    clock.now += 1.99
    assert not health.probe_due()
    clock.now += 0.01
    assert health.probe_due()
    health.probe_done(True)
    clock.now += 0.5
    health.request_done(True)  # ejected between two probes ...
    assert not health.healthy
    assert health.probe_due()  # ... so the way back starts now


def test_reset_is_healthy_with_clear_streaks() -> None:
    health, _ = tracker(eject=1)
    health.request_done(True)
    health.reset()
    assert health.healthy
    assert health.consecutive_failures == 0


@pytest.mark.parametrize(
    ("kind", "status", "against", "fall_back"),
    [
        (None, 200, False, False),
        (ErrorKind.CONNECT, None, True, True),
        (ErrorKind.HTTP_STATUS, 503, True, True),
        (ErrorKind.HTTP_STATUS, 500, True, True),
        (ErrorKind.HTTP_STATUS, 429, None, True),
        (ErrorKind.HTTP_STATUS, 400, None, False),
        (ErrorKind.HTTP_STATUS, 404, None, False),
        (ErrorKind.STREAM_ERROR, 200, True, True),
        (ErrorKind.TRUNCATED, 200, True, True),
        (ErrorKind.TIMEOUT, None, True, True),
        (ErrorKind.CANCELLED, 200, None, False),
        (ErrorKind.SHORT_OUTPUT, 200, None, False),
    ],
)
def test_outcome_classification(
    kind: ErrorKind | None, status: int | None, against: bool | None, fall_back: bool
) -> None:
    assert counts_against(kind, status) is against
    assert may_fall_back(kind, status) is fall_back


@pytest.mark.parametrize(
    ("status", "error", "backend_fault"),
    [
        # What Triton answered in the lab for a killed stub, a dead engine, an unloaded model:
        (400, "HTTP 400: Stub process 'vllm_model_0_0' is not healthy.", True),
        (400, "HTTP 400: Error generating stream: EngineCore encountered an issue. See", True),
        (404, "HTTP 404: Request for unknown model: 'vllm_model' has no available versions", True),
        # the LLM API model's failure to generate, before its stream began (the lab's emulator)
        (400, "HTTP 400: Error generating request: emulated failure", True),
        # ... and for a request of the client's own making: not the backend's fault.
        (400, "HTTP 400: Unable to parse 'text_input'", False),
        (429, "HTTP 429: Stub process 'x' is not healthy.", None),
    ],
)
def test_a_4xx_that_tells_of_a_dead_triton_model_is_the_backends_failure(
    status: int, error: str, backend_fault: bool | None
) -> None:
    against = counts_against(ErrorKind.HTTP_STATUS, status, error)
    assert against is (True if backend_fault else None)
    assert may_fall_back(ErrorKind.HTTP_STATUS, status, error) is (backend_fault is not False)
